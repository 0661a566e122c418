import { afterEach, describe, expect, it } from 'vitest';
import WS from 'ws';
import { resolveWebSocket, type WebSocketConstructor } from '../../src/client/transport.js';

// Compile-time: both real implementations fit the seam without casts (tsc checks this file).
export const fromWs: WebSocketConstructor = WS;
export function fromDom(): WebSocketConstructor {
  return WebSocket;
}

const g = globalThis as { WebSocket?: unknown };
const original = g.WebSocket;

afterEach(() => {
  if (original === undefined) delete g.WebSocket;
  else g.WebSocket = original;
});

describe('transport seam', () => {
  it('an explicit implementation wins', async () => {
    g.WebSocket = class Native {};
    expect(await resolveWebSocket(WS)).toBe(WS);
  });

  it('a global WebSocket (browsers, Node 22+) comes next', async () => {
    class Native {}
    g.WebSocket = Native;
    expect(await resolveWebSocket(undefined)).toBe(Native);
  });

  it('without one, the ws package is imported', async () => {
    delete g.WebSocket;
    expect(await resolveWebSocket(undefined)).toBe(WS);
  });
});
