/**
 * Headless Chromium for the console's browser tests: Debian's `chromium` package (.ci/run installs
 * it), driven by playwright-core, which never downloads a browser. HOLDLINE_CHROMIUM names another
 * binary. Plus the console bundle, built for the test into a temp dir.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const CHROMIUM = process.env.HOLDLINE_CHROMIUM ?? '/usr/bin/chromium';

/** Screenshots and other artefacts of browser tests (gitignored). */
export const ARTIFACTS = path.join(ROOT, 'test', 'artifacts', 'console');

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (or set HOLDLINE_CHROMIUM)`);
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: ['--disable-gpu', '--disable-dev-shm-usage'] });
}

/**
 * The console built as `npm run build:console` builds it (same entry, format, target, minified,
 * hashed names), into a fresh temp dir, with the SDK from its source: `npm test` may rebuild dist/
 * meanwhile (the package test packs the tarball), and the test must not read a half-written file.
 * Returns the dir and the size of each file.
 */
export async function buildConsole(): Promise<{ dir: string; sizes: Record<string, number> }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'holdline-console-'));
  await build({
    entryPoints: [path.join(ROOT, 'src/console/main.tsx')],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    entryNames: '[name]-[hash]',
    outdir: dir,
    logLevel: 'warning',
    alias: { 'holdline/client': path.join(ROOT, 'src/client/index.ts') },
  });
  const sizes = Object.fromEntries(readdirSync(dir).map((f) => [f, statSync(path.join(dir, f)).size]));
  return { dir, sizes };
}
