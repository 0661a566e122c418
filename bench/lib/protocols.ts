/**
 * Each system's own client protocol, spoken over the harness's raw WebSocket client (wsclient.ts)
 * so that every system is measured with the same, cheap receive path: only the handshake,
 * subscribe and publish frames differ. Deliveries are counted by the stamp in the body
 * (payload.ts), whatever envelope the system puts around it.
 */
import { createHmac } from 'node:crypto';
import { holdlineProtocol } from '../holdline/protocol.js';
import { NotAvailableError } from './not-available.js';
import { nextMessage, OP_BINARY, RawWs } from './wsclient.js';

/** How to reach one running server; plain data so it can cross to generator processes over IPC. */
export interface Endpoint {
  protocol: ProtocolName;
  port: number;
  /** Protocol-specific settings: Pusher app key and secret, Holdline application key, … */
  params: Record<string, string>;
}

export type Publish = (body: string) => boolean;

export interface WireProtocol {
  readonly name: string;
  /** WebSocket handshake plus the protocol's own opening exchange (what an idle client holds). */
  open(ep: Endpoint, localAddress?: string): Promise<RawWs>;
  /** Subscribes an opened connection to `topic`; resolves once the server confirmed it. */
  subscribe(ws: RawWs, topic: string, ep: Endpoint): Promise<void>;
  /** Makes an opened connection a publisher on `topic`. */
  publisher(ws: RawWs, topic: string, ep: Endpoint): Promise<Publish>;
  /** Answers protocol-level keep-alives found in frames received after the subscription. */
  keepAlive?(ws: RawWs, data: Buffer): void;
}

export type ProtocolName = 'raw' | 'pusher' | 'socketio' | 'nats' | 'holdline';

const startsWith = (data: Buffer, s: string): boolean => data.length >= s.length && data.toString('latin1', 0, s.length) === s;
const contains = (data: Buffer, s: string): boolean => data.indexOf(s) !== -1;

/** The raw uWS ceiling server (bench/servers/raw-uws.ts): `S:<topic>` → `OK`, `P:<topic>:<body>`. */
const raw: WireProtocol = {
  name: 'raw',
  open: (ep, localAddress) => RawWs.connect({ port: ep.port, path: '/ws', ...(localAddress ? { localAddress } : {}) }),
  async subscribe(ws, topic) {
    const ok = nextMessage(ws, (d) => startsWith(d, 'OK'), 'subscription OK');
    ws.send(`S:${topic}`);
    await ok;
  },
  async publisher(ws, topic) {
    const prefix = `P:${topic}:`;
    return (body) => ws.send(prefix + body);
  },
};

/** Pusher protocol 7 (Soketi): private channel, signed subscription, client events to publish. */
const pusher: WireProtocol = {
  name: 'pusher',
  async open(ep, localAddress) {
    const ws = await RawWs.connect({
      port: ep.port,
      path: `/app/${ep.params.key}?protocol=7&client=holdline-bench&version=1.0&flash=false`,
      ...(localAddress ? { localAddress } : {}),
    });
    const established = await nextMessage(ws, (d) => contains(d, 'pusher:connection_established'), 'pusher:connection_established');
    const outer = JSON.parse(established.toString()) as { data: string };
    socketIds.set(ws, (JSON.parse(outer.data) as { socket_id: string }).socket_id);
    return ws;
  },
  async subscribe(ws, topic, ep) {
    const channel = `private-${topic}`;
    const socketId = socketIds.get(ws);
    if (!socketId) throw new Error('pusher: subscribe before connection_established');
    const auth = `${ep.params.key}:${createHmac('sha256', ep.params.secret ?? '').update(`${socketId}:${channel}`).digest('hex')}`;
    const ok = nextMessage(ws, (d) => contains(d, 'subscription_succeeded') || contains(d, 'pusher:error'), 'pusher subscription');
    ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel, auth } }));
    const reply = await ok;
    if (contains(reply, 'pusher:error')) throw new Error(`pusher subscribe refused: ${reply.toString()}`);
  },
  async publisher(ws, topic, ep) {
    // Soketi relays a client event only from a socket that is itself in the channel.
    await pusher.subscribe(ws, topic, ep);
    const head = `{"event":"client-m","channel":"private-${topic}","data":"`;
    return (body) => ws.send(head + body + '"}');
  },
  keepAlive(ws, data) {
    if (contains(data, '"pusher:ping"')) ws.send('{"event":"pusher:pong","data":{}}');
  },
};
const socketIds = new WeakMap<RawWs, string>();

/** Engine.IO 4 / Socket.IO 5 packets over a WebSocket-only transport (bench/servers/socketio.ts). */
const socketio: WireProtocol = {
  name: 'socketio',
  async open(ep, localAddress) {
    const ws = await RawWs.connect({ port: ep.port, path: '/socket.io/?EIO=4&transport=websocket', ...(localAddress ? { localAddress } : {}) });
    await nextMessage(ws, (d) => startsWith(d, '0{'), 'engine.io open packet');
    const connected = nextMessage(ws, (d) => startsWith(d, '40'), 'socket.io namespace connect');
    ws.send('40');
    await connected;
    return ws;
  },
  async subscribe(ws, topic) {
    const ok = nextMessage(ws, (d) => startsWith(d, '42["ok"'), 'socket.io join ok');
    ws.send(`42["sub",${JSON.stringify(topic)}]`);
    await ok;
  },
  async publisher(ws, topic) {
    const head = `42["pub",${JSON.stringify(topic)},"`;
    return (body) => ws.send(head + body + '"]');
  },
  keepAlive(ws, data) {
    if (data.length === 1 && data[0] === 0x32 /* '2' ping */) ws.send('3');
  },
};

/** NATS client protocol over its WebSocket listener (binary frames, possibly batched). */
const nats: WireProtocol = {
  name: 'nats',
  async open(ep, localAddress) {
    const ws = await RawWs.connect({ port: ep.port, path: '/', ...(localAddress ? { localAddress } : {}) });
    await nextMessage(ws, (d) => startsWith(d, 'INFO'), 'NATS INFO');
    const pong = nextMessage(ws, (d) => contains(d, 'PONG'), 'NATS PONG');
    ws.send('CONNECT {"verbose":false,"pedantic":false,"protocol":1,"headers":false,"no_responders":false}\r\nPING\r\n', OP_BINARY);
    await pong;
    return ws;
  },
  async subscribe(ws, topic) {
    const pong = nextMessage(ws, (d) => contains(d, 'PONG'), 'NATS PONG after SUB');
    ws.send(`SUB ${topic} 1\r\nPING\r\n`, OP_BINARY);
    await pong;
  },
  async publisher(ws, topic) {
    return (body) => ws.send(`PUB ${topic} ${Buffer.byteLength(body)}\r\n${body}\r\n`, OP_BINARY);
  },
  keepAlive(ws, data) {
    if (startsWith(data, 'PING\r\n') || contains(data, '\r\nPING\r\n')) ws.send('PONG\r\n', OP_BINARY);
  },
};

export const protocols: Record<Exclude<ProtocolName, 'holdline'>, WireProtocol> = { raw, pusher, socketio, nats };

export function protocolFor(name: ProtocolName): WireProtocol {
  if (name === 'holdline') {
    if (!holdlineProtocol) throw new NotAvailableError('Holdline WebSocket protocol adapter not filled in yet (bench/holdline/protocol.ts)');
    return holdlineProtocol;
  }
  return protocols[name];
}
