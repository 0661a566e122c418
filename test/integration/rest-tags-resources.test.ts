/**
 * SPEC.md 3.3 tags over real HTTP on both engines (PyFarm seed, protocol/calls.md section 6):
 * idempotent create, by name or id, PUT rename / replace agents / create, tag and untag agents,
 * agents by tag, deletion with its relations.
 */
import { describe, expect, it } from 'vitest';
import { engineFactories } from '../helpers/engines.js';
import { call, useServer, type TestServer } from '../helpers/server.js';

async function setup(s: TestServer) {
  const { key } = await s.createApp();
  const agent = async (name: string) => (await call(s, key, 'POST', '/v1/agents', { name })).body.uuid as string;
  return { key, a: await agent('Alice'), b: await agent('Bob') };
}

describe.each(engineFactories)('REST tags ($name)', (factory) => {
  const srv = useServer(factory);

  it('creating a tag is idempotent: 201 the first time, 200 with the same tag after', async () => {
    const s = srv();
    const { key } = await setup(s);
    const first = await call(s, key, 'POST', '/v1/tags', { tag: 'interesting' });
    expect(first).toEqual({ status: 201, body: { id: 1, tag: 'interesting' } });
    expect(await call(s, key, 'POST', '/v1/tags', { tag: 'interesting' })).toEqual({ status: 200, body: { id: 1, tag: 'interesting' } });
    expect(await call(s, key, 'POST', '/v1/tags', { tag: 'boring' })).toEqual({ status: 201, body: { id: 2, tag: 'boring' } });
    expect((await call(s, key, 'GET', '/v1/tags')).body).toEqual([
      { id: 1, tag: 'interesting', agents: [] },
      { id: 2, tag: 'boring', agents: [] },
    ]);
    for (const ref of ['interesting', '1']) {
      expect(await call(s, key, 'GET', `/v1/tags/${ref}`)).toEqual({ status: 200, body: { id: 1, tag: 'interesting', agents: [] } });
    }
  });

  it('tags and untags agents: 201 then 200; agents by tag; the agent lists its tags', async () => {
    const s = srv();
    const { key, a, b } = await setup(s);
    await call(s, key, 'POST', '/v1/tags', { tag: 'french' });
    const tagged = await call(s, key, 'POST', '/v1/tags/french/agents', { agent_id: a });
    expect(tagged).toEqual({ status: 201, body: { uuid: a, href: `/v1/agents/${a}` } });
    expect((await call(s, key, 'POST', '/v1/tags/french/agents', { agent_id: a })).status).toBe(200);
    expect((await call(s, key, 'POST', '/v1/tags/1/agents', { agent_id: b.toUpperCase() })).status).toBe(201);

    const byTag = await call(s, key, 'GET', '/v1/tags/french/agents');
    expect(byTag.status).toBe(200);
    expect(byTag.body.map((x: { name: string }) => x.name)).toEqual(['Alice', 'Bob']);
    expect(byTag.body[0]).toMatchObject({ uuid: a, tags: ['french'] });
    expect((await call(s, key, 'GET', '/v1/tags/french')).body.agents).toEqual([a, b].sort());
    expect((await call(s, key, 'GET', `/v1/agents/${a}`)).body.tags).toEqual(['french']);

    expect((await call(s, key, 'DELETE', `/v1/tags/french/agents/${a}`)).status).toBe(204);
    expect((await call(s, key, 'DELETE', `/v1/tags/french/agents/${a}`)).status).toBe(204);
    expect((await call(s, key, 'GET', '/v1/tags/french/agents')).body.map((x: { uuid: string }) => x.uuid)).toEqual([b]);
    expect((await call(s, key, 'GET', `/v1/agents/${a}`)).body.tags).toEqual([]);
  });

  it('PUT renames, replaces the agents, or creates under a new name', async () => {
    const s = srv();
    const { key, a, b } = await setup(s);
    await call(s, key, 'POST', '/v1/tags', { tag: 'french' });
    await call(s, key, 'POST', '/v1/tags/french/agents', { agent_id: a });

    const renamed = await call(s, key, 'PUT', '/v1/tags/french', { tag: 'francais' });
    expect(renamed).toEqual({ status: 200, body: { id: 1, tag: 'francais', agents: [a] } });
    expect((await call(s, key, 'GET', '/v1/tags/french')).status).toBe(404);
    expect((await call(s, key, 'GET', `/v1/agents/${a}`)).body.tags).toEqual(['francais']);

    const replaced = await call(s, key, 'PUT', '/v1/tags/1', { agents: [b] });
    expect(replaced).toEqual({ status: 200, body: { id: 1, tag: 'francais', agents: [b] } });

    const created = await call(s, key, 'PUT', '/v1/tags/spanish', { agents: [a, b] });
    expect(created).toEqual({ status: 201, body: { id: 2, tag: 'spanish', agents: [a, b].sort() } });
    const createdRenamed = await call(s, key, 'PUT', '/v1/tags/german', { tag: 'deutsch' });
    expect(createdRenamed).toEqual({ status: 201, body: { id: 3, tag: 'deutsch', agents: [] } });
    // An empty body on an existing tag changes nothing.
    expect(await call(s, key, 'PUT', '/v1/tags/spanish')).toEqual({ status: 200, body: created.body });
  });

  it('deleting a tag removes its relations; deleting it again, or one that never was, is not an error', async () => {
    const s = srv();
    const { key, a } = await setup(s);
    await call(s, key, 'POST', '/v1/tags', { tag: 'french' });
    await call(s, key, 'POST', '/v1/tags/french/agents', { agent_id: a });
    expect(await call(s, key, 'DELETE', '/v1/tags/french')).toEqual({ status: 204, body: null });
    expect(await call(s, key, 'DELETE', '/v1/tags/french')).toEqual({ status: 204, body: null });
    expect(await call(s, key, 'DELETE', '/v1/tags/77')).toEqual({ status: 204, body: null });
    expect((await call(s, key, 'GET', `/v1/agents/${a}`)).body.tags).toEqual([]);
    expect((await call(s, key, 'GET', '/v1/tags/french/agents')).body.error.code).toBe('tag_not_found');
    // The same name again is a new tag: new id, no agents.
    expect(await call(s, key, 'POST', '/v1/tags', { tag: 'french' })).toEqual({ status: 201, body: { id: 2, tag: 'french' } });
    expect((await call(s, key, 'GET', '/v1/tags/french')).body.agents).toEqual([]);
  });

  it('deleting an agent removes its tag relations', async () => {
    const s = srv();
    const { key, a, b } = await setup(s);
    await call(s, key, 'PUT', '/v1/tags/french', { agents: [a, b] });
    await call(s, key, 'DELETE', `/v1/agents/${a}`);
    expect((await call(s, key, 'GET', '/v1/tags/french')).body.agents).toEqual([b]);
    expect((await call(s, key, 'GET', '/v1/tags/french/agents')).body.map((x: { uuid: string }) => x.uuid)).toEqual([b]);
  });

  it('unknown tag or agent → 404', async () => {
    const s = srv();
    const { key, a } = await setup(s);
    await call(s, key, 'POST', '/v1/tags', { tag: 'french' });
    const ghost = '00000000-0000-4000-8000-000000000000';
    const cases: Array<[string, string, unknown, string]> = [
      ['GET', '/v1/tags/spanish', undefined, 'tag_not_found'],
      ['GET', '/v1/tags/2', undefined, 'tag_not_found'],
      ['GET', '/v1/tags/spanish/agents', undefined, 'tag_not_found'],
      ['POST', '/v1/tags/spanish/agents', { agent_id: a }, 'tag_not_found'],
      ['POST', '/v1/tags/french/agents', { agent_id: ghost }, 'agent_not_found'],
      ['DELETE', `/v1/tags/spanish/agents/${a}`, undefined, 'tag_not_found'],
      ['DELETE', `/v1/tags/french/agents/${ghost}`, undefined, 'agent_not_found'],
      ['DELETE', '/v1/tags/french/agents/nope', undefined, 'agent_not_found'],
      ['PUT', '/v1/tags/9', { tag: 'x' }, 'tag_not_found'],
      ['PUT', '/v1/tags/french', { agents: [ghost] }, 'agent_not_found'],
    ];
    for (const [method, path, body, code] of cases) {
      const res = await call(s, key, method, path, body);
      expect([method, path, res.status, res.body.error.code]).toEqual([method, path, 404, code]);
    }
    expect((await call(s, key, 'GET', '/v1/tags')).body).toEqual([{ id: 1, tag: 'french', agents: [] }]);
  });
});
