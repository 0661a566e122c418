// Run by `npm run build` after tsc, as dist/src/check-schemas.js (see src/schemas-checked.ts): loads the built modules, which compile
// every protocol schema as they load (the stamp is still empty), so a broken schema fails the build
// naming its file and route; then stamps the fingerprints of the schemas just compiled into
// dist/src/schemas-checked.js, so that the server compiles each one at its first use instead of at
// start-up. A schema changed after this (in dist/) no longer matches and is compiled at start-up again.
import { readFileSync, writeFileSync } from 'node:fs';

const dist = new URL('./', import.meta.url);
const stampFile = new URL('schemas-checked.js', dist);
const source = readFileSync(stampFile, 'utf8');
const empty = 'export const CHECKED_AT_BUILD = {};';
if (!source.includes(empty)) {
  throw new Error(`${stampFile.pathname}: no empty stamp (${empty}); run tsc -p tsconfig.build.json first`);
}

const codec = await import('./codec/schemas.js');
const rest = await import('./server/schemas.js');
new rest.RequestSchemas({ lazy: false });
const calls = await import('./domain/calls/validate.js');

const stamp: Record<string, unknown> = { ws: codec.FRAME_SCHEMAS_FINGERPRINT, rest: rest.REST_SCHEMAS_FINGERPRINT, calls: calls.CALL_SCHEMAS_FINGERPRINT };
for (const [table, print] of Object.entries(stamp)) {
  if (typeof print !== 'string') throw new Error(`no fingerprint for the ${table} schemas`);
}
writeFileSync(stampFile, source.replace(empty, `export const CHECKED_AT_BUILD = ${JSON.stringify(stamp)};`));
