/**
 * The transport ceiling: uWebSockets.js topics with nothing else, on the same native build Holdline
 * uses. `S:<topic>` subscribes (answered `OK`), `P:<topic>:<body>` publishes <body> to every
 * subscriber. Whatever Holdline adds (auth, JSON envelopes, ids, storage) can only cost from here.
 *
 * Usage: node raw-uws.js <port>   (binds 127.0.0.1 only)
 */
import { requireNativeUws } from '../../src/server/uws.js';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: raw-uws <port>');
  process.exit(2);
}

const { uws } = requireNativeUws(false);
const COLON = 0x3a;

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
      app.publish(buf.toString('latin1', 2, sep), buf.subarray(sep + 1), false);
    }
  },
});
app.listen('127.0.0.1', port, (token) => {
  if (!token) {
    console.error(`raw-uws: could not listen on 127.0.0.1:${port}`);
    process.exit(1);
  }
  console.log(`raw-uws listening on 127.0.0.1:${port}`);
});
