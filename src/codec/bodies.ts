/**
 * Where a frame carries message bodies (websocket.md 3.3): the only places a MessagePack `bin` is
 * allowed and where JSON's `body_encoding: "base64"` applies. Defensive about shape, because the
 * decoder asks before the schema has checked the frame.
 */
import type { Path } from './values.js';

export interface BodyHolder {
  holder: Record<string, unknown>;
  path: Path;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function each(list: unknown, key: string): BodyHolder[] {
  if (!Array.isArray(list)) return [];
  const out: BodyHolder[] = [];
  list.forEach((m: unknown, i) => {
    if (isObject(m)) out.push({ holder: m, path: [key, i] });
  });
  return out;
}

export function bodyHolders(frame: Record<string, unknown>): BodyHolder[] {
  switch (frame.type) {
    case 'publish':
    case 'history.result':
    case 'messages':
      return each(frame.messages, 'messages');
    case 'message':
      return [{ holder: frame, path: [] }];
    case 'state.updated':
      return isObject(frame.message) ? [{ holder: frame.message, path: ['message'] }] : [];
    default:
      return [];
  }
}
