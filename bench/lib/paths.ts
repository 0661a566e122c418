/**
 * Where the harness lives, whether it runs from TypeScript source (vitest, tsx) or from dist/, and how
 * it reaches the peers installed in bench/peers (kept out of Holdline's own dependency tree, so they are
 * loaded at run time through a require rooted there, never imported statically).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const libDir = path.dirname(fileURLToPath(import.meta.url));

function findRepoRoot(from: string): string {
  let dir = from;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'holdline') return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no holdline package.json above ${from}`);
    dir = up;
  }
}

export const repoRoot = findRepoRoot(libDir);
export const benchSrcDir = path.join(repoRoot, 'bench');
export const peersDir = path.join(benchSrcDir, 'peers');
export const resultsDir = path.join(benchSrcDir, 'results');
/** bench/ when running from source, dist/bench/ when built: sibling folders of lib/ either way. */
export const benchRunDir = path.dirname(libDir);
export const fromSource = import.meta.url.endsWith('.ts');

export function peersInstalled(): boolean {
  return existsSync(path.join(peersDir, 'node_modules', '.package-lock.json'));
}

/** A require() that resolves packages from bench/peers/node_modules. */
export function peerRequire(): NodeJS.Require {
  return createRequire(path.join(peersDir, 'package.json'));
}

export class PeersMissingError extends Error {
  constructor(what: string) {
    super(`${what} is not installed: run \`npm run bench:setup\` first`);
    this.name = 'PeersMissingError';
  }
}

/** Loads a peer package, or throws PeersMissingError with the setup command to run. */
export function loadPeer<T>(name: string): T {
  try {
    return peerRequire()(name) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') throw new PeersMissingError(name);
    throw e;
  }
}

/**
 * Node arguments that run one of the harness's own scripts (e.g. 'servers/raw-uws') in a child
 * process: the built .js, or the .ts source through tsx when the harness itself runs from source.
 */
export function nodeArgsFor(script: string): string[] {
  if (!fromSource) return [path.join(benchRunDir, `${script}.js`)];
  const tsx = createRequire(path.join(repoRoot, 'package.json')).resolve('tsx');
  return ['--import', pathToFileURL(tsx).href, path.join(benchRunDir, `${script}.ts`)];
}
