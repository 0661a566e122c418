/**
 * Protocol constants and the defaults of protocol/websocket.md section 10. The server's configuration
 * may change the defaults; the values a client needs travel in the `welcome` frame.
 */

export const WS_PATH = '/v1/ws';
export const PROTOCOL_VERSION = 1;
export const SUBPROTOCOL_JSON = 'holdline.v1.json';
export const SUBPROTOCOL_MSGPACK = 'holdline.v1.msgpack';

export type WireFormat = 'json' | 'msgpack';

export const SUBPROTOCOLS: Readonly<Record<WireFormat, string>> = {
  json: SUBPROTOCOL_JSON,
  msgpack: SUBPROTOCOL_MSGPACK,
};

/**
 * websocket.md section 1: the first offered subprotocol this server speaks, in the client's order;
 * nothing offered → JSON; only unknown ones → null (refuse the upgrade: unsupported_subprotocol).
 */
export function chooseSubprotocol(header: string | undefined): { format: WireFormat; echo: string | null } | null {
  const offered = (header ?? '').split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (offered.length === 0) return { format: 'json', echo: null };
  for (const p of offered) {
    if (p === SUBPROTOCOL_JSON) return { format: 'json', echo: p };
    if (p === SUBPROTOCOL_MSGPACK) return { format: 'msgpack', echo: p };
  }
  return null;
}

export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;
/** Frames above max_frame_bytes * this are dropped by the transport without a close frame. */
export const HARD_FRAME_FACTOR = 2;
export const MAX_PUBLISH_MESSAGES = 1000;
export const DEFAULT_MAX_SUBSCRIPTIONS = 1000;
export const DEFAULT_MAX_REPLY_BYTES = 4 * 1024 * 1024;
export const DEFAULT_AUTH_TIMEOUT_MS = 10_000;
export const DEFAULT_HEARTBEAT_MS = 25_000;
/** A client declares the link dead after heartbeat_ms + this without any frame. */
export const DEAD_LINK_GRACE_MS = 10_000;
export const DEFAULT_IDLE_TIMEOUT_S = 120;
export const DEFAULT_BUFFER_LIMIT_BYTES = 1024 * 1024;
/** Delivery resumes when the buffer drains below buffer_limit_bytes / this. */
export const BUFFER_RESUME_DIVISOR = 4;
export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_BUFFER_BYTES = 16 * 1024 * 1024;

export const MAX_REQUEST_ID_LENGTH = 64;
export const MAX_CLIENT_STATE_LENGTH = 64;
/** Decoded values nested deeper than this are refused (invalid_field): keeps every later walk bounded. */
export const MAX_NESTING_DEPTH = 64;
export const MAX_TTL_SECONDS = 2 ** 25;
export const MAX_HISTORY_LIMIT = 1000;

/** websocket.md section 9: retry after this close code, or stop. */
export function isRetryableClose(code: number): boolean {
  switch (code) {
    case 1000: // normal: the side that closed meant it
    case 1003:
    case 1007:
    case 4401:
      return false;
    default:
      if (code >= 4000 && code <= 4499) return code === 4408 || code === 4429;
      return true;
  }
}
