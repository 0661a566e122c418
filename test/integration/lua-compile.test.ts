/**
 * Every Lua script compiles on a real redis-server in every recording mode it can be loaded in
 * (scripts.ts RecordingMode): `outbox` (a cluster's call store, message and application scripts),
 * `off` (HOLDLINE_EVENTS=off) and `direct` (the call store on one Redis). A mode a deployment uses
 * but the tests of its behaviour do not run (the call scripts' `outbox` variant runs only on a
 * cluster) cannot carry a syntax error unseen.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadLua, recordsEvents, type RecordingMode } from '../../src/engine/redis/scripts.js';

const dir = fileURLToPath(new URL('../../src/engine/redis/lua/', import.meta.url));
const scripts = readdirSync(dir)
  .filter((f) => f.endsWith('.lua'))
  .map((f) => f.slice(0, -4));

describe('Lua scripts compile in every recording mode', () => {
  let client: Redis;
  beforeAll(() => {
    client = new Redis(inject('redisUrl'));
  });
  afterAll(() => client.disconnect());

  const cases: [string, RecordingMode][] = [];
  for (const file of scripts) {
    cases.push([file, 'outbox'], [file, 'off']);
    // A script that records nothing is the same in every mode; one that counts ARGV cannot be direct (scripts.ts).
    if (recordsEvents(file) && !/#ARGV/.test(loadLua(file, 'outbox'))) cases.push([file, 'direct']);
  }

  it('covers the call store scripts that record directly', () => {
    expect(cases.filter(([, mode]) => mode === 'direct').map(([file]) => file)).toEqual(
      expect.arrayContaining(['call-caller-join-12', 'call-caller-leave-12', 'call-queue-create-9', 'route-commit-12']),
    );
  });

  it.each(cases)('%s (%s)', async (file, mode) => {
    const sha = await client.script('LOAD', loadLua(file, mode));
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
  });
});
