import { describe, expect, it } from 'vitest';
import { classifyClose } from '../../src/client/close-codes.js';

describe('close codes (protocol/websocket.md section 9)', () => {
  it.each([
    [1000, 'stop', 'normal'],
    [1001, 'retry', undefined],
    [1003, 'stop', 'client_bug'],
    [1006, 'retry', undefined],
    [1007, 'stop', 'client_bug'],
    [1009, 'retry', undefined],
    [1011, 'retry', undefined],
    [1013, 'retry', undefined],
    [4401, 'stop', 'auth'],
    [4408, 'retry', undefined],
    [4429, 'retry', undefined],
  ])('the table: %i → %s', (code, action, why) => {
    const d = classifyClose(code, 'r');
    expect(d.action).toBe(action);
    expect(d.code).toBe(code);
    expect(d.reason).toBe('r');
    if (d.action === 'stop') expect(d.why).toBe(why);
  });

  it('unknown 4000–4499 are final, unknown 4500–4999 retry', () => {
    for (const code of [4000, 4001, 4100, 4400, 4402, 4499]) {
      expect(classifyClose(code)).toMatchObject({ action: 'stop', why: 'final' });
    }
    for (const code of [4500, 4501, 4700, 4999]) expect(classifyClose(code).action).toBe('retry');
  });

  it('any other unknown code retries', () => {
    for (const code of [1002, 1004, 1005, 1008, 1010, 1012, 1014, 1015, 2000, 3000, 3999, 5000]) {
      expect(classifyClose(code).action).toBe('retry');
    }
  });
});
