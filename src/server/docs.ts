/**
 * `GET /openapi.json` and the API reference page `GET /docs` (SPEC.md 3.6): Swagger UI from the
 * swagger-ui-dist package, served by this server from node_modules (no CDN), reading /openapi.json.
 * The page runs under a Content-Security-Policy that allows this origin's scripts and styles only
 * (Swagger UI sets inline style attributes, hence `style-src 'unsafe-inline'`), no inline script
 * (the initializer is /docs/init.js), no framing. Public, like /v1/schemas: no key is needed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HoldlineError } from '../errors.js';
import type { ServerContext } from './context.js';
import type { Reply } from './http.js';
import { openApiDocument } from './openapi.js';

export const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; " +
  "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Holdline REST API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

// validatorUrl null: no badge fetched from swagger.io (the CSP would refuse it anyway).
const INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true, validatorUrl: null });\n`;

/** Files of swagger-ui-dist served under /docs/, with their media types. */
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

/** Holdline's version, from the package.json above this file (src/server or dist/src/server). */
function packageVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'holdline' && pkg.version !== undefined) return pkg.version;
  }
  return '0.0.0';
}

function assetDir(): string {
  return dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
}

export function docsRoutes(ctx: ServerContext): void {
  const openapi = JSON.stringify(openApiDocument(packageVersion()));
  const headers = { 'Content-Security-Policy': DOCS_CSP, 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-cache' };
  const cache = new Map<string, Buffer>();
  const dir = assetDir();

  ctx.router.add('GET', '/openapi.json', () => ({ status: 200, body: openapi, contentType: 'application/json' }));
  ctx.router.add('GET', '/docs', () => ({ status: 200, body: PAGE, contentType: 'text/html; charset=utf-8', headers }));
  ctx.router.add('GET', '/docs/:file', (req): Reply => {
    const file = req.params.file!;
    if (file === 'init.js') return { status: 200, body: INIT, contentType: 'text/javascript; charset=utf-8', headers };
    const type = ASSETS[file];
    if (type === undefined) throw new HoldlineError('not_found');
    let body = cache.get(file);
    if (body === undefined) {
      body = readFileSync(join(dir, file));
      cache.set(file, body);
    }
    return { status: 200, body, contentType: type, headers: { ...headers, 'Cache-Control': 'public, max-age=3600' } };
  });
}
