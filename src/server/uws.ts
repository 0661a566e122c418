/**
 * Loads uWebSockets.js and refuses its silent pure-JS fallback.
 *
 * The package SPEC.md names (@trufflesuite/uws-js-unofficial, installed under the alias
 * "uWebSockets.js") prints a warning and falls back to a slow Node implementation when its native
 * binary does not load for this platform/ABI, or when UWS_USE_FALLBACK is set. Holdline's
 * performance rests on the native server, so at start-up we load the binary ourselves, compare it
 * with what the package exported, and refuse to start unless the operator allowed the fallback.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as UwsModule from 'uWebSockets.js';

export type Uws = typeof UwsModule;

const require = createRequire(import.meta.url);

export interface UwsLoad {
  uws: Uws;
  native: boolean;
  /** Why the native binary did not load, when it did not. */
  reason?: string;
}

export function loadUws(): UwsLoad {
  const uws = require('uWebSockets.js') as Uws;
  const pkgDir = path.dirname(require.resolve('uWebSockets.js/package.json'));
  const binary = path.join(
    pkgDir,
    'binaries',
    `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`,
  );
  try {
    const native = require(binary) as Uws;
    if (native.App === uws.App) return { uws, native: true };
    return { uws, native: false, reason: 'the package exported its JS fallback (UWS_USE_FALLBACK set?)' };
  } catch (e) {
    return { uws, native: false, reason: `native binary ${path.basename(binary)} did not load: ${(e as Error).message}` };
  }
}

export class UwsFallbackError extends Error {
  constructor(reason: string) {
    super(
      `uWebSockets.js native binary is not in use (${reason}). Holdline refuses to run on the slow ` +
        `pure-JS fallback. Use Node.js 20 on linux/darwin/win32 x64 or arm64, or set ` +
        `HOLDLINE_ALLOW_UWS_FALLBACK=1 (flag --allow-uws-fallback) to run anyway.`,
    );
    this.name = 'UwsFallbackError';
  }
}

/** The uWS module, native, or throws UwsFallbackError unless `allowFallback`. */
export function requireNativeUws(allowFallback: boolean): UwsLoad {
  const load = loadUws();
  if (!load.native && !allowFallback) throw new UwsFallbackError(load.reason ?? 'unknown');
  return load;
}

/** The listen socket could not be opened: the port is taken, or the address is not this host's. */
export class ListenError extends Error {
  override name = 'ListenError';
}

/** uWS's ListenOptions.LIBUS_LISTEN_EXCLUSIVE_PORT: bind without SO_REUSEPORT. */
const LIBUS_LISTEN_EXCLUSIVE_PORT = 1;

/**
 * `app.listen(host, port, LIBUS_LISTEN_EXCLUSIVE_PORT, cb)`: the native binary takes the options
 * between port and callback after a host too, though the typings only declare that form without one.
 */
export function listenExclusive(
  app: UwsModule.TemplatedApp,
  host: string,
  port: number,
  cb: (socket: UwsModule.us_listen_socket | false) => void,
  shared = false,
): void {
  type ListenWithOptions = (h: string, p: number, options: number, cb: (socket: UwsModule.us_listen_socket | false) => void) => unknown;
  // Shared (serve --workers): uWS's default, SO_REUSEPORT, so the workers' sockets share the port
  // (the kernel spreads connections over them); the parent checked the port was free first.
  (app.listen as unknown as ListenWithOptions).call(app, host, port, shared ? 0 : LIBUS_LISTEN_EXCLUSIVE_PORT, cb);
}
