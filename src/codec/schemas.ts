/**
 * Compiles the frame schemas once, at module load (STYLE.md example 9): a schema mistake throws
 * here, naming the file, and so stops the server (or the SDK) before it handles a single frame.
 * When the build already compiled these very schemas (src/schemas-checked.ts), each frame type's
 * validator is compiled at its first use instead, which keeps ajv out of the start-up.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { AnySchemaObject, ValidateFunction } from 'ajv/dist/2020.js';
import { CompiledOnUse, checkedAtBuild, fingerprint } from '../schemas-checked.js';
import { CLIENT_FRAME_TYPES, SERVER_FRAME_TYPES } from './frames.js';
import { SCHEMA_FILES } from './schema-files.js';

export const SCHEMA_BASE = 'https://holdline.dev/schemas/ws/';

/** How the frame schemas are compiled: here, and ahead of time for the browser build (src/build-frame-validators.ts). */
export const FRAME_AJV_OPTIONS = { strict: true, strictRequired: false, discriminator: true, allErrors: false } as const;

export interface FrameValidators {
  client: ReadonlyMap<string, ValidateFunction>;
  server: ReadonlyMap<string, ValidateFunction>;
}

function fail(file: string, err: unknown): never {
  const why = err instanceof Error ? err.message : String(err);
  throw new Error(`protocol/schemas/ws/${file}: ${why}`);
}

/**
 * One validator per frame type, from `client/<type>.json` and `server/<type>.json`. Every schema
 * must carry the `$id` its path implies and a `type` const equal to its file name; the unions
 * (client-frame.json, server-frame.json) are compiled too, so they cannot rot unnoticed.
 */
export function compileFrameValidators(files: ReadonlyArray<readonly [string, object]>, opts: { lazy?: boolean } = {}): FrameValidators {
  const lazy = opts.lazy === true;
  // Lazily: the build checked these schemas against the meta-schema (and compiled them), so adding
  // them skips that check, and each validator is compiled with the same options at its first use.
  const ajv = new Ajv2020({ ...FRAME_AJV_OPTIONS, validateSchema: !lazy });
  for (const [file, schema] of files) {
    const id = (schema as AnySchemaObject).$id;
    if (id !== SCHEMA_BASE + file) fail(file, `$id must be ${SCHEMA_BASE + file}, found ${String(id)}`);
    try {
      ajv.addSchema(schema as AnySchemaObject);
    } catch (err) {
      fail(file, err);
    }
  }
  const compile = (file: string): ValidateFunction => {
    try {
      const v = ajv.getSchema(SCHEMA_BASE + file);
      if (v === undefined) throw new Error('schema not found');
      return v;
    } catch (err) {
      return fail(file, err);
    }
  };

  const byType = (dir: 'client' | 'server', types: readonly string[]): Map<string, ValidateFunction> => {
    const compilers: Array<readonly [string, () => ValidateFunction]> = [];
    for (const type of types) {
      const file = `${dir}/${type}.json`;
      if (!files.some(([f]) => f === file)) fail(file, `missing: frame type "${type}" has no schema`);
      const schema = files.find(([f]) => f === file)?.[1] as AnySchemaObject;
      if (schema.properties?.type?.const !== type) fail(file, `properties.type.const must be "${type}"`);
      compilers.push([type, () => compile(file)]);
    }
    const out = lazy ? new CompiledOnUse(compilers) : new Map(compilers.map(([type, c]) => [type, c()] as const));
    for (const [file] of files) {
      const m = new RegExp(`^${dir}/(.+)\\.json$`).exec(file);
      if (m && !types.includes(m[1] ?? '')) fail(file, `no frame type "${m[1]}" in src/codec/frames.ts`);
    }
    return out;
  };

  const validators = {
    client: byType('client', CLIENT_FRAME_TYPES),
    server: byType('server', SERVER_FRAME_TYPES),
  };
  if (!lazy) for (const [file] of files) if (!file.includes('/')) compile(file);
  return validators;
}

/** What scripts/check-schemas.mjs stamps once the build has compiled these schemas. */
export const FRAME_SCHEMAS_FINGERPRINT = fingerprint(SCHEMA_FILES);

export const VALIDATORS: FrameValidators = compileFrameValidators(SCHEMA_FILES, { lazy: checkedAtBuild('ws', FRAME_SCHEMAS_FINGERPRINT) });
