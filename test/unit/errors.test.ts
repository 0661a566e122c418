/**
 * The catalogue (src/errors.ts) and its documentation (protocol/errors.md) agree both ways
 * (STYLE.md example 3): every code documented with the same HTTP status, close code and message,
 * and every documented row backed by a code.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS, HoldlineError } from '../../src/errors.js';
import type { ErrorCode } from '../../src/errors.js';

interface Row {
  code: string;
  status: number;
  close: number | null;
  meaning: string;
}

function documentedRows(): Row[] {
  const md = readFileSync(new URL('../../protocol/errors.md', import.meta.url), 'utf8');
  const rows: Row[] = [];
  for (const line of md.split('\n')) {
    const m = /^\|\s*`([^`]+)`\s*\|\s*(\d{3})\s*\|\s*(\d{4}|—)\s*\|\s*(.*?)\s*\|\s*$/.exec(line);
    if (m === null) continue;
    rows.push({ code: m[1]!, status: Number(m[2]), close: m[3] === '—' ? null : Number(m[3]), meaning: m[4]! });
  }
  return rows;
}

const rows = documentedRows();
const codes = Object.keys(ERRORS) as ErrorCode[];

describe('error catalogue', () => {
  it('parses the documented table', () => {
    const tableLines = readFileSync(new URL('../../protocol/errors.md', import.meta.url), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('| `'));
    // A row the pattern cannot read would silently escape every check below.
    expect(rows.length).toBe(tableLines.length);
    expect(rows.length).toBeGreaterThan(30);
  });

  it('documents each code once', () => {
    const seen = rows.map((r) => r.code);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it.each(codes)('documents %s with its status, close code and message', (code) => {
    const row = rows.find((r) => r.code === code);
    expect(row, `${code} is missing from protocol/errors.md`).toBeDefined();
    expect(row!.status).toBe(ERRORS[code].status);
    expect(row!.close).toBe(ERRORS[code].close);
    expect(row!.meaning).toBe(ERRORS[code].message);
  });

  it('has a code in src/errors.ts for every documented row', () => {
    const missing = rows.map((r) => r.code).filter((c) => !(c in ERRORS));
    expect(missing).toEqual([]);
  });

  it.each(codes)('%s is well-formed', (code) => {
    const spec = ERRORS[code];
    expect(code).toMatch(/^[a-z][a-z0-9_]*$/);
    expect(spec.status >= 400 && spec.status <= 599).toBe(true);
    // Close codes a server may send: the IANA registered ones below 1016 but not the reserved 1004-1006
    // and 1015, or the application range.
    if (spec.close !== null) {
      const registered = spec.close >= 1000 && spec.close <= 1014 && ![1004, 1005, 1006].includes(spec.close);
      expect(registered || (spec.close >= 4000 && spec.close <= 4999)).toBe(true);
    }
  });

  it('builds the wire error shape from a code', () => {
    const e = new HoldlineError('invalid_limit', { field: 'limit', max: 1000 });
    expect(e.status).toBe(400);
    expect(e.toBody()).toEqual({
      status: 'error',
      error: { code: 'invalid_limit', message: 'limit must be an integer from 1 to 1000', field: 'limit' },
    });
  });
});
