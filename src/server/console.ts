/**
 * The console page `GET /console` (SPEC.md 3.6): a web page for supervisors and operators, built
 * from src/console/ by esbuild at build time into dist/console/ (`npm run build:console`) and served
 * by this server from there (no CDN). The bundle's file names carry a content hash, so they are
 * cached for a year; the page itself is revalidated on every load (`no-cache`), so a new build is
 * picked up at once. Everything runs under a Content-Security-Policy that allows this origin's
 * scripts, styles and connections only (the page's live data comes over this server's WebSocket),
 * no inline script or style attribute, no framing. Public, like /docs: the page holds no data; it
 * asks for a key and sends it with each request.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HoldlineError } from '../errors.js';
import type { ServerContext } from './context.js';
import type { Reply } from './http.js';

// No 'unsafe-eval': the SDK's browser build carries its frame validators as code generated at build
// time (src/build-frame-validators.ts), not compiled by ajv at run time.
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
  "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

/** A bundle file: `main-<hash>.js` or `main-<hash>.css` (esbuild's `--entry-names=[name]-[hash]`). */
const ASSET = /^[a-z]+-[A-Z0-9]{8}\.(js|css)$/;

/** dist/console of the package this file belongs to (src/server or dist/src/server). */
export function consoleDir(): string | null {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    if (!existsSync(join(dir, 'package.json'))) continue;
    const built = join(dir, 'dist', 'console');
    return existsSync(built) ? built : null;
  }
  return null;
}

function page(script: string, style: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>Holdline console</title>
<link rel="stylesheet" href="/console/${style}">
</head>
<body>
<div id="app"><noscript>The Holdline console needs JavaScript.</noscript></div>
<script type="module" src="/console/${script}"></script>
</body>
</html>
`;
}

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Holdline console</title></head>
<body><p>The console is not built: run <code>npm run build</code>.</p></body></html>
`;

/**
 * Reads the bundle once, at start: the page and its files are served from memory, so a build
 * running meanwhile (which replaces dist/console) never shows half-written files.
 */
export function consoleRoutes(ctx: ServerContext, dir: string | null): void {
  const files = new Map<string, Buffer>();
  for (const file of dir === null || !existsSync(dir) ? [] : readdirSync(dir)) {
    if (ASSET.test(file)) files.set(file, readFileSync(join(dir!, file)));
  }
  const names = [...files.keys()];
  const script = names.find((f) => f.startsWith('main-') && f.endsWith('.js'));
  const style = names.find((f) => f.startsWith('main-') && f.endsWith('.css'));
  const security = { 'Content-Security-Policy': CONSOLE_CSP, 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' };
  const html = script !== undefined && style !== undefined ? page(script, style) : null;

  ctx.router.add('GET', '/console', (): Reply => {
    if (html === null) {
      return { status: 503, body: NOT_BUILT, contentType: 'text/html; charset=utf-8', headers: { ...security, 'Cache-Control': 'no-store' } };
    }
    return { status: 200, body: html, contentType: 'text/html; charset=utf-8', headers: { ...security, 'Cache-Control': 'no-cache' } };
  });
  ctx.router.add('GET', '/console/:file', (req): Reply => {
    const file = req.params.file!;
    const body = files.get(file);
    if (body === undefined) throw new HoldlineError('not_found');
    const type = TYPES[file.slice(file.lastIndexOf('.') + 1)]!;
    return { status: 200, body, contentType: type, headers: { ...security, 'Cache-Control': 'public, max-age=31536000, immutable' } };
  });
}
