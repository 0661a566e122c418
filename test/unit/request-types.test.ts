/**
 * src/types/requests.ts is generated from protocol/schemas/rest (scripts/request-types.ts): the
 * validators return these types, so a schema and the code's type of its body cannot drift apart.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OUT, requestTypes } from '../../scripts/request-types.js';

describe('request types generated from the request schemas', () => {
  it('the committed file is what the generator writes from the schemas now (run `npm run gen:types`)', async () => {
    expect(readFileSync(OUT, 'utf8')).toBe(await requestTypes());
  });

  it('every request schema has its type in RequestBodies', async () => {
    const text = await requestTypes();
    for (const name of ['message', 'message-batch', 'queue-create', 'member-create', 'caller-leave', 'tag-put']) {
      expect(text).toMatch(new RegExp(`'${name}': [A-Za-z]+Request;`));
    }
  });
});
