/**
 * Which protocol schemas the build has already compiled, so the start-up need not compile them again.
 *
 * Compiling the JSON Schemas (ajv) was half of the start-up's CPU (issue 11: `npm start` must serve in
 * under 2 s). Each schema table (WebSocket frames, REST message queues, call queues) is therefore
 * compiled eagerly only when nobody has proven it compiles: `npm run build` imports the built modules,
 * which compile every schema at load (a broken one fails the build, naming its file and route), and
 * then stamps each table's fingerprint into dist/src/schemas-checked.js (scripts/check-schemas.mjs).
 * A module whose schemas match the stamp compiles each one at its first use instead; a module whose
 * schemas differ from it (an edited dist/, the sources under tsx or vitest, the browser bundle) compiles
 * them all when it loads, as before, so a broken schema still stops the boot. Validation is the same
 * either way: the same ajv options and schemas, only the moment of compiling differs.
 *
 * No Node built-ins: the codec (and so the browser SDK) imports this.
 */

/** Table → fingerprint of the schemas the build compiled. Empty in the sources; the build writes it in dist/. */
export const CHECKED_AT_BUILD: Readonly<Record<string, string>> = {};

/** FNV-1a (32 bits) of the JSON text, with its length: cheap, and any edit of a schema changes it. */
export function fingerprint(value: unknown): string {
  const text = JSON.stringify(value);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return `${text.length.toString(16)}-${h.toString(16).padStart(8, '0')}`;
}

/** Whether the build compiled exactly these schemas of `table` (then they may be compiled at first use). */
export function checkedAtBuild(table: string, print: string, checked: Readonly<Record<string, string>> = CHECKED_AT_BUILD): boolean {
  return Object.hasOwn(checked, table) && checked[table] === print;
}

/**
 * A map of validators compiled at first use (`get`); `has` and `size` answer without compiling,
 * iterating compiles them all. A compile error surfaces where `compile` throws it.
 */
export class CompiledOnUse<K, V> extends Map<K, V> {
  private readonly pending: Map<K, () => V>;

  constructor(compilers: Iterable<readonly [K, () => V]>) {
    super();
    this.pending = new Map(compilers);
  }

  override get(key: K): V | undefined {
    const done = super.get(key);
    if (done !== undefined) return done;
    const compile = this.pending.get(key);
    if (compile === undefined) return undefined;
    const v = compile();
    super.set(key, v);
    this.pending.delete(key);
    return v;
  }

  override has(key: K): boolean {
    return super.has(key) || this.pending.has(key);
  }

  override get size(): number {
    return super.size + this.pending.size;
  }

  /** Compiles what is left, in the order given. */
  compileAll(): this {
    for (const key of [...this.pending.keys()]) this.get(key);
    return this;
  }

  override keys(): MapIterator<K> {
    return this.compileAll() && super.keys();
  }

  override values(): MapIterator<V> {
    return this.compileAll() && super.values();
  }

  override entries(): MapIterator<[K, V]> {
    return this.compileAll() && super.entries();
  }

  override [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  override forEach(fn: (value: V, key: K, map: Map<K, V>) => void, thisArg?: unknown): void {
    this.compileAll();
    super.forEach(fn, thisArg);
  }
}
