/**
 * The transport ceiling: uWebSockets.js topics with nothing else, on the same native build Holdline
 * uses. `S:<topic>` subscribes (answered `OK`), `P:<topic>:<body>` publishes <body> to every
 * subscriber. Whatever Holdline adds (auth, JSON envelopes, ids, storage) can only cost from here.
 *
 * Usage: node raw-uws.js <port> [deferred|inline|batch]   (binds 127.0.0.1 only)
 *
 *   deferred (default, the ceiling): one frame per message, published from a setImmediate, as
 *     Holdline's hub does. Published inside the message handler, uWS has the publisher's socket
 *     corked and writes every subscriber's frame with its own syscall; from outside a handler it
 *     queues them and writes each subscriber's pending frames together (measured here: about 4×
 *     the deliveries per second). A ceiling below what Holdline does on the same uWS would be none.
 *   inline: app.publish() inside the handler (what naive uWS code does), shown for comparison.
 *   batch: a prototype of per-subscriber batching (not a peer, not Holdline's protocol): bodies
 *     published during one event-loop turn are joined (newline-separated) into ONE frame per
 *     topic, as a server coalescing what is pending for each subscriber would send them while its
 *     subscribers keep up. It measures what the per-frame cost is worth (issue 5: NATS packs many
 *     messages per frame; uWS topics send one frame per message).
 */
import { requireNativeUws } from '../../src/server/uws.js';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: raw-uws <port>');
  process.exit(2);
}

const { uws } = requireNativeUws(false);
const COLON = 0x3a;
const mode = process.argv[3] ?? 'deferred';
if (!['deferred', 'inline', 'batch'].includes(mode)) {
  console.error(`raw-uws: unknown mode ${mode}`);
  process.exit(2);
}
/** At most this many bytes per batched frame (the generator reassembles nothing beyond a frame). */
const MAX_BATCH_BYTES = 64 * 1024;
const pending = new Map<string, Buffer[]>();
let flushScheduled = false;

function flush(): void {
  flushScheduled = false;
  for (const [topic, parts] of pending) {
    let i = 0;
    while (i < parts.length) {
      let size = 0;
      let j = i;
      if (mode !== 'batch') {
        app.publish(topic, parts[i++]!, false);
        continue;
      }
      while (j < parts.length && (j === i || size + parts[j]!.length + 1 <= MAX_BATCH_BYTES)) size += parts[j++]!.length + 1;
      app.publish(topic, Buffer.concat(parts.slice(i, j).flatMap((b) => [b, NEWLINE])), false);
      i = j;
    }
  }
  pending.clear();
}
const NEWLINE = Buffer.from('\n');

const app = uws.App();
app.ws('/*', {
  compression: uws.DISABLED,
  maxPayloadLength: 1 << 20,
  // Generous, so the ceiling is never lowered by drops; the generator's window bounds it anyway.
  maxBackpressure: 64 << 20,
  idleTimeout: 0,
  message: (ws, message) => {
    const buf = Buffer.from(message);
    if (buf[1] !== COLON) return;
    if (buf[0] === 0x53 /* S */) {
      ws.subscribe(buf.toString('latin1', 2));
      ws.send('OK');
    } else if (buf[0] === 0x50 /* P */) {
      const sep = buf.indexOf(COLON, 2);
      if (sep === -1) return;
      const topic = buf.toString('latin1', 2, sep);
      if (mode === 'inline') {
        app.publish(topic, buf.subarray(sep + 1), false);
        return;
      }
      let parts = pending.get(topic);
      if (!parts) {
        parts = [];
        pending.set(topic, parts);
      }
      // A copy: uWS frees the message's memory when this handler returns.
      parts.push(Buffer.from(buf.subarray(sep + 1)));
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    }
  },
});
app.listen('127.0.0.1', port, (token) => {
  if (!token) {
    console.error(`raw-uws: could not listen on 127.0.0.1:${port}`);
    process.exit(1);
  }
  console.log(`raw-uws (${mode}) listening on 127.0.0.1:${port}`);
});
