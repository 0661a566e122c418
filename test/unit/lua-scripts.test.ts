/**
 * A Lua script's key count is declared once, by its file name (`read-3.lua`), and the engine
 * registers it from there (scripts.ts). This checks that the name agrees with what the script
 * reads and with its header, so the two cannot drift apart.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { keyCountOf, loadLua } from '../../src/engine/redis/scripts.js';

const dir = fileURLToPath(new URL('../../src/engine/redis/lua/', import.meta.url));
const scripts = readdirSync(dir)
  .filter((f) => f.endsWith('.lua'))
  .map((f) => f.slice(0, -4));

/** The highest n in KEYS[n] of the script's code (its header comment removed). */
function highestKeyUsed(source: string): number {
  const code = source.replace(/--\[\[[\s\S]*?\]\]/g, '').replace(/--[^\n]*/g, '');
  let max = 0;
  for (const m of code.matchAll(/KEYS\[(\d+)\]/g)) max = Math.max(max, Number(m[1]));
  return max;
}

/** The script's code without its comments. */
function code(source: string): string {
  return source.replace(/--\[\[[\s\S]*?\]\]/g, '').replace(/--[^\n]*/g, '');
}

/** The highest n the header documents, as `KEYS[n]` lines or a `KEYS[1..n]` range. */
function highestKeyDocumented(source: string): number {
  const header = /^--\[\[([\s\S]*?)\]\]/.exec(source)?.[1] ?? '';
  let max = 0;
  for (const m of header.matchAll(/KEYS\[(?:1\.\.)?(\d+)\]/g)) max = Math.max(max, Number(m[1]));
  return max;
}

describe('Lua scripts: key counts declared by file name', () => {
  const named = scripts.filter((s) => keyCountOf(s) !== undefined);

  it('every script declares its key count in its name', () => {
    expect(named.length).toBeGreaterThanOrEqual(32);
    expect(named).toEqual(scripts);
  });

  it.each(named)('%s reads no key beyond its count, and its header documents exactly that many', (file) => {
    const count = keyCountOf(file)!;
    const source = loadLua(file);
    expect(highestKeyUsed(source)).toBeLessThanOrEqual(count);
    expect(highestKeyDocumented(source)).toBe(count);
  });

  // keys.ts: every key a script touches comes in KEYS, built by the one key builder. A key spelled
  // from an ARGV prefix would escape that builder (and, in a cluster, the script's declared slot).
  it.each(scripts)('%s builds no key from ARGV', (file) => {
    const body = code(loadLua(file));
    // No key name spelled from an ARGV prefix, nor a command's key (or channel) taken from ARGV.
    expect(body).not.toMatch(/ARGV\[\d+\]\s*\.\.\s*'[A-Za-z]/);
    expect(body).not.toMatch(/rcall\('[A-Z]+',\s*ARGV\[/);
  });
});
