/**
 * The schemas in protocol/schemas/ws/ are the ones the codec compiles, they fail loudly when
 * broken, and the prose of protocol/websocket.md agrees with the code on frame types and close codes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS } from '../../src/errors.js';
import type { ErrorCode } from '../../src/errors.js';
import {
  CLIENT_FRAME_TYPES,
  REPLY_TYPE,
  SERVER_FRAME_TYPES,
  chooseSubprotocol,
  compileFrameValidators,
  isRetryableClose,
} from '../../src/codec/index.js';
import { SCHEMA_FILES } from '../../src/codec/schema-files.js';

const dir = new URL('../../protocol/schemas/ws/', import.meta.url);
const websocketMd = readFileSync(new URL('../../protocol/websocket.md', import.meta.url), 'utf8');

function filesOnDisk(): string[] {
  const top = readdirSync(dir).filter((f) => f.endsWith('.json'));
  const nested = ['client', 'server'].flatMap((d) => readdirSync(new URL(`${d}/`, dir)).map((f) => `${d}/${f}`));
  return [...top, ...nested].sort();
}

/** A copy of the real files with one replaced (or removed, with `null`). */
function withFile(file: string, schema: object | null): Array<readonly [string, object]> {
  const out = SCHEMA_FILES.filter(([f]) => f !== file).map(([f, s]) => [f, structuredClone(s)] as const);
  return schema === null ? out : [...out, [file, schema] as const];
}

const ping = (): Record<string, unknown> => structuredClone(SCHEMA_FILES.find(([f]) => f === 'client/ping.json')![1]) as Record<string, unknown>;

describe('protocol schemas', () => {
  it('the codec compiles exactly the files in protocol/schemas/ws/', () => {
    expect(SCHEMA_FILES.map(([f]) => f).sort()).toEqual(filesOnDisk());
    for (const [file, schema] of SCHEMA_FILES) {
      expect(schema).toEqual(JSON.parse(readFileSync(new URL(file, dir), 'utf8')));
    }
  });

  it('compiles the real files', () => {
    const v = compileFrameValidators(SCHEMA_FILES);
    expect([...v.client.keys()].sort()).toEqual([...CLIENT_FRAME_TYPES].sort());
    expect([...v.server.keys()].sort()).toEqual([...SERVER_FRAME_TYPES].sort());
  });

  it('client frames refuse unknown fields; server frames allow them (protocol/README.md)', () => {
    for (const [file, schema] of SCHEMA_FILES) {
      const extra = (schema as { additionalProperties?: unknown }).additionalProperties;
      if (file.startsWith('client/')) expect(extra, file).toBe(false);
      if (file.startsWith('server/')) expect(extra, file).toBeUndefined();
    }
  });

  const broken: Array<[string, string, object | null, RegExp]> = [
    ['an invalid keyword value', 'client/ping.json', { ...ping(), type: 'objekt' }, /client\/ping\.json/],
    ['an unknown keyword', 'client/ping.json', { ...ping(), requird: ['type'] }, /client\/ping\.json/],
    ['an unresolvable $ref', 'client/ping.json', { ...ping(), properties: { type: { const: 'ping' }, id: { $ref: '../common.json#/$defs/nope' } } }, /client\/ping\.json/],
    ['a wrong $id', 'client/ping.json', { ...ping(), $id: 'https://holdline.dev/schemas/ws/client/pong.json' }, /client\/ping\.json: \$id/],
    ['a type const that is not the file name', 'client/ping.json', { ...ping(), properties: { type: { const: 'pong' } } }, /client\/ping\.json: properties\.type\.const/],
    ['a missing frame schema', 'client/ping.json', null, /client\/ping\.json: missing/],
    ['a schema for a frame the code does not know', 'server/presence.json', { $id: 'https://holdline.dev/schemas/ws/server/presence.json', properties: { type: { const: 'presence' } } }, /server\/presence\.json: no frame type/],
  ];
  for (const [what, file, schema, message] of broken) {
    it(`fails loudly, naming the file, on ${what}`, () => {
      expect(() => compileFrameValidators(withFile(file, schema))).toThrow(message);
    });
  }
});

describe('protocol/websocket.md agrees with the code', () => {
  it('names every frame type and every reply', () => {
    for (const t of [...CLIENT_FRAME_TYPES, ...SERVER_FRAME_TYPES]) expect(websocketMd, t).toContain(`\`${t}\``);
    for (const [req, reply] of Object.entries(REPLY_TYPE)) {
      expect(websocketMd).toMatch(new RegExp(`\\| \`${req.replace('.', '\\.')}\` \\| \`${reply.replace('.', '\\.')}\` \\|`));
    }
  });

  const closeRows = websocketMd
    .split('\n')
    .map((l) => /^\| (\d{4}) \| (.*?) \| (.*?) \| (.*?) \|$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ code: Number(m[1]), errors: [...m[2]!.matchAll(/`([a-z_]+)`/g)].map((x) => x[1]!), client: m[4]! }));

  it('has the close code table', () => {
    expect(closeRows.map((r) => r.code)).toEqual([1000, 1001, 1003, 1006, 1007, 1009, 1011, 1013, 4401, 4408, 4429]);
  });

  it('lists each error code under the close code the catalogue gives it', () => {
    for (const row of closeRows) {
      for (const code of row.errors) expect(ERRORS[code as ErrorCode]?.close, code).toBe(row.code);
    }
    const documented = new Set(closeRows.map((r) => r.code));
    for (const [code, spec] of Object.entries(ERRORS)) if (spec.close !== null) expect(documented.has(spec.close), code).toBe(true);
  });

  it('says retry exactly where isRetryableClose does', () => {
    for (const row of closeRows) expect(isRetryableClose(row.code), String(row.code)).toBe(row.client.startsWith('retry'));
    expect(isRetryableClose(4100)).toBe(false); // unknown 4000-4499: final
    expect(isRetryableClose(4600)).toBe(true); // unknown 4500-4999: retry
  });
});

describe('subprotocol choice (websocket.md section 1)', () => {
  it.each([
    [undefined, { format: 'json', echo: null }],
    ['', { format: 'json', echo: null }],
    ['holdline.v1.msgpack', { format: 'msgpack', echo: 'holdline.v1.msgpack' }],
    ['holdline.v1.json, holdline.v1.msgpack', { format: 'json', echo: 'holdline.v1.json' }],
    ['chat, holdline.v1.msgpack,holdline.v1.json', { format: 'msgpack', echo: 'holdline.v1.msgpack' }],
    ['chat, holdline.v2.json', null],
  ])('%j → %j', (header, expected) => {
    expect(chooseSubprotocol(header)).toEqual(expected);
  });
});
