/**
 * The transport seam: the SDK talks to any WebSocket with the browser's API. In a browser (and in
 * Node 22+) that is `globalThis.WebSocket`; in Node 20 it is the `ws` package, loaded only when
 * needed so that browser bundles never pull it in. Tests and unusual runtimes pass their own.
 */

/** Handlers are declared as methods so both the DOM's and `ws`'s event types are accepted. */
interface Handler<E> {
  bivarianceHack(event: E): void;
}

export interface MessageEventLike {
  data: unknown;
}

export interface CloseEventLike {
  code: number;
  reason: string;
}

/** What the SDK uses of a WebSocket: the browser API, which `ws` also implements. */
export interface WebSocketLike {
  readonly readyState: number;
  readonly protocol: string;
  binaryType: string;
  onopen: Handler<unknown>['bivarianceHack'] | null;
  onmessage: Handler<MessageEventLike>['bivarianceHack'] | null;
  onclose: Handler<CloseEventLike>['bivarianceHack'] | null;
  onerror: Handler<unknown>['bivarianceHack'] | null;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  /** `ws` only: drop the TCP connection without a closing handshake. */
  terminate?(): void;
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

export const WS_OPEN = 1;

/** The variable hides the module name from bundlers: browsers never reach this import. */
const NODE_WS_MODULE = 'ws';

export async function resolveWebSocket(explicit: WebSocketConstructor | undefined): Promise<WebSocketConstructor> {
  if (explicit !== undefined) return explicit;
  const native = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (native !== undefined) return native;
  const mod = (await import(/* @vite-ignore */ /* webpackIgnore: true */ NODE_WS_MODULE)) as {
    WebSocket?: WebSocketConstructor;
    default?: WebSocketConstructor;
  };
  const ctor = mod.WebSocket ?? mod.default;
  if (ctor === undefined) throw new Error('no WebSocket: pass options.WebSocket, or install the "ws" package');
  return ctor;
}
