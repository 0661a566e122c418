/**
 * Holdline's WebSocket protocol as the load generator speaks it (protocol/websocket.md):
 *   - open: ws://127.0.0.1:<port>/v1/ws?key=<application key> with subprotocol holdline.v1.json
 *     (or holdline.v1.msgpack when ep.params.format is 'msgpack'); resolves on `welcome`;
 *   - subscribe: `subscribe` to partition 1 of queue `topic` of application ep.params.app, "only
 *     new", resolves on `subscribed`; with ep.params.batch = 'true' it asks for `batch: true`
 *     (websocket.md 4.2: `messages` frames, several messages per frame);
 *   - publisher: one `publish` frame per body, partition 1, no id (the `published` replies are
 *     read and dropped: nothing may pile up unread in the client);
 *   - keep-alive: the server's WebSocket-level pings are answered by the raw client itself;
 *     `heartbeat` frames need no answer (websocket.md 6).
 * Deliveries are counted from the stamp in each `message` frame's body, or in each body of a
 * `messages` frame: a JSON string or a msgpack str carries the body's bytes unchanged (the stamp
 * alphabet needs no escaping).
 */
import type { Endpoint, WireProtocol } from '../lib/protocols.js';
import { nextMessage, OP_BINARY, type RawWs } from '../lib/wsclient.js';
import { connect, decode, encode, frameType, type Format } from './wire.js';

const formatOf = (ep: Endpoint): Format => (ep.params.format === 'msgpack' ? 'msgpack' : 'json');
const batchOf = (ep: Endpoint): boolean => ep.params.batch === 'true';

export const holdlineProtocol: WireProtocol = {
  name: 'holdline',
  open: (ep, localAddress) =>
    connect({ port: ep.port, format: formatOf(ep), key: ep.params.key!, ...(localAddress ? { localAddress } : {}) }),

  async subscribe(ws: RawWs, topic: string, ep: Endpoint) {
    const format = formatOf(ep);
    const reply = nextMessage(ws, (d) => {
      const t = frameType(d, format);
      return t === 'subscribed' || t === 'error';
    }, 'Holdline subscribed');
    const frame = encode(
      { type: 'subscribe', id: 1, application: ep.params.app!, queue: topic, partitions: [1], ...(batchOf(ep) ? { batch: true } : {}) },
      format,
    );
    if (typeof frame === 'string') ws.send(frame);
    else ws.send(frame, OP_BINARY);
    const r = await reply;
    if (frameType(r, format) === 'error') throw new Error(`Holdline subscribe refused: ${JSON.stringify(decode(r, format).error)}`);
  },

  async publisher(ws: RawWs, topic: string, ep: Endpoint) {
    const format = formatOf(ep);
    const app = ep.params.app!;
    let refused: string | null = null;
    ws.onMessage = (d) => {
      // A refused publish is a harness or server fault, never load: keep the first for the error.
      if (refused === null && frameType(d, format) === 'error') refused = d.toString('utf8', 0, 300);
    };
    if (format === 'json') {
      const head = `{"type":"publish","application":${JSON.stringify(app)},"queue":${JSON.stringify(topic)},"messages":[{"partition":1,"body":"`;
      return (body) => {
        if (refused !== null) throw new Error(`Holdline refused a publish: ${refused}`);
        return ws.send(head + body + '"}]}');
      };
    }
    return (body) => {
      if (refused !== null) throw new Error(`Holdline refused a publish: ${refused}`);
      return ws.send(encode({ type: 'publish', application: app, queue: topic, messages: [{ partition: 1, body }] }, 'msgpack') as Buffer, OP_BINARY);
    };
  },
};
