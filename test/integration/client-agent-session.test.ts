/**
 * The SDK's AgentSession against a real server (protocol/routing.md section 7), both engines: an
 * agent desktop gets offers, accepts and rejects them over the WebSocket, sets its availability and
 * pause over REST with its token; an offer made before it connected is delivered on connection,
 * unless it ended while that read was on its way.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AgentSession, HoldlineClient, HoldlineRequestError, type Offer } from '../../src/client/index.js';
import { engineFactories } from '../helpers/engines.js';
import { call } from '../helpers/server.js';
import { useWsServer } from '../helpers/ws-client.js';

describe.each(engineFactories)('AgentSession ($name)', (factory) => {
  const srv = useWsServer(factory);
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
  });

  /** A longest_idle queue whose one member, Alice, has an agent token. */
  async function desk() {
    const s = srv();
    const { key } = await s.createApp();
    const rest = (method: string, path: string, body?: unknown) => call(s, key, method, path, body);
    const queue = (await rest('POST', '/v1/queues', { name: 'support' })).body.uuid as string;
    const agent = (await rest('POST', '/v1/agents', { name: 'Alice' })).body.uuid as string;
    await rest('POST', `/v1/queues/${queue}/members`, { agent_id: agent, number: '1001' });
    await rest('PUT', `/v1/queues/${queue}/routing`, { strategy: 'longest_idle' });
    const token = (await rest('POST', `/v1/agents/${agent}/tokens`, {})).body.token as string;
    return { s, rest, queue, agent, token };
  }

  it('before the client is connected, availability and pause reject (a promise, like every other failure) and say why', async () => {
    const { s, queue, token } = await desk();
    const client = new HoldlineClient({ urls: `${s.url.replace(/^http/, 'ws')}/v1/ws`, token });
    const session = new AgentSession(client, { httpUrl: s.url, token });
    closers.push(() => client.close());
    const early = session.setAvailable(queue, true);
    await expect(early).rejects.toThrow(/client must be connected/);
    await expect(session.unpause(queue)).rejects.toThrow(/client must be connected/);
    await client.connect();
    expect((await session.setAvailable(queue, true)).status).toBe('available');
    session.close();
  });

  it('receives offers, answers them, sets availability and pause', async () => {
    const { s, rest, queue, agent, token } = await desk();
    // Offered before the desktop connects: delivered when it does (read over REST).
    const first = (await rest('POST', `/v1/queues/${queue}/callers`, { number: '1' })).body.uuid as string;

    const client = new HoldlineClient({ urls: `${s.url.replace(/^http/, 'ws')}/v1/ws`, token });
    const session = new AgentSession(client, { httpUrl: s.url, token });
    closers.push(() => client.close());
    const offers: Offer[] = [];
    session.on('offer', (o) => offers.push(o));
    await client.connect();
    await expect.poll(() => offers.length).toBe(1);
    expect(offers[0]).toMatchObject({ caller_id: first, agents: [agent] });

    await session.reject(offers[0]!);
    // Rejected, the only member is offered the caller again (longest_idle has nobody else).
    await expect.poll(() => offers.length).toBe(2);
    expect(offers[1]!.offer_id).not.toBe(offers[0]!.offer_id);
    const accepted = await session.accept(offers[1]!);
    expect(accepted.offer_id).toBe(offers[1]!.offer_id);
    await expect(session.accept(offers[1]!)).rejects.toBeInstanceOf(HoldlineRequestError);
    expect((await rest('GET', `/v1/queues/${queue}/callers/${first}`)).body).toMatchObject({ status: 'connected', member_uuid: agent });

    // Pause and availability with the agent's own token; paused, it is offered nothing.
    await rest('DELETE', `/v1/queues/${queue}/callers/${first}?reason=answered`);
    expect((await session.pause(queue, 'lunch')).paused).toBe(true);
    await rest('POST', `/v1/queues/${queue}/callers`, { number: '2' });
    expect(await session.currentOffer()).toBeNull();
    expect((await session.setAvailable(queue, false)).status).toBe('logged_out');
    await session.setAvailable(queue, true);
    await session.unpause(queue);
    await expect.poll(() => offers.length).toBe(3);
    // Another agent's membership, or its number: not the token's to change.
    await expect(session.client.answerOffer(queue, 'nope', 'accept')).rejects.toMatchObject({ code: 'offer_not_found' });
    expect((await call(s, { token }, 'PUT', `/v1/queues/${queue}/members/${agent}`, { number: '2' })).status).toBe(403);
    session.close();
  });

  it('does not announce the offer read on connection when its revocation came first', async () => {
    const { s, rest, queue, token } = await desk();
    const caller = (await rest('POST', `/v1/queues/${queue}/callers`, { number: '1' })).body.uuid as string;

    // The session's read of the open offer is answered (the offer is open then) but held back
    // until the offer has been revoked on the WebSocket.
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let answered!: () => void;
    const read = new Promise<void>((resolve) => {
      answered = resolve;
    });
    let consumed!: () => void;
    const used = new Promise<void>((resolve) => {
      consumed = resolve;
    });
    const gatedFetch: typeof fetch = async (url, init) => {
      const res = await fetch(url, init);
      if (!String(url).endsWith('/offer')) return res;
      const body = await res.text();
      expect(JSON.parse(body)).toMatchObject({ caller_id: caller });
      answered();
      await held;
      const out = new Response(body, { status: res.status, headers: res.headers });
      const json = out.json.bind(out);
      out.json = () => json().finally(consumed);
      return out;
    };

    const client = new HoldlineClient({ urls: `${s.url.replace(/^http/, 'ws')}/v1/ws`, token });
    const session = new AgentSession(client, { httpUrl: s.url, token, fetch: gatedFetch });
    closers.push(() => client.close());
    const offers: Offer[] = [];
    const revoked: string[] = [];
    session.on('offer', (o) => offers.push(o));
    session.on('revoked', (f) => revoked.push(f.offer_id));
    await client.connect();
    await read;
    // The caller hangs up: its offer is revoked, and the desk is told so.
    await rest('DELETE', `/v1/queues/${queue}/callers/${caller}?reason=abandoned`);
    await expect.poll(() => revoked.length).toBe(1);
    release();
    await used;
    await new Promise((resolve) => setImmediate(resolve));
    expect(offers).toEqual([]);
    session.close();
  });
});
