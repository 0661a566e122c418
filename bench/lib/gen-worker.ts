/**
 * A load-generator process: opens many client connections to one server, subscribes them, and
 * counts stamped deliveries (and their latency when asked). The parent (gen.ts) drives it over
 * IPC. Several run side by side so the generator can use every core the server leaves free.
 */
import { Histogram } from './histogram.js';
import { nowMicros, scanStamps } from './payload.js';
import { protocolFor, type Endpoint } from './protocols.js';
import type { RawWs } from './wsclient.js';
import type { ToWorker, FromWorker } from './gen.js';

const conns: RawWs[] = [];
const hist = new Histogram();
let received = 0;
let closedUnexpectedly = 0;
let recordLatency = false;
let ticker: NodeJS.Timeout | undefined;
let closing = false;

function send(msg: FromWorker): void {
  process.send?.(msg);
}

// One clock read per frame, shared by every stamp the frame carries.
let frameNow = 0;
const recordStamp = (stamp: number): void => hist.record(frameNow - stamp);

async function open(ep: Endpoint, count: number, topic: string | null, localAddresses: string[], concurrency: number): Promise<void> {
  const proto = protocolFor(ep.protocol);
  const started = Date.now();
  let next = 0;
  let ok = 0;
  let failed = 0;
  let firstError: string | undefined;
  const one = async (i: number): Promise<void> => {
    const local = localAddresses.length ? localAddresses[i % localAddresses.length] : undefined;
    try {
      const ws = await proto.open(ep, local);
      if (topic !== null) await proto.subscribe(ws, topic, ep);
      const keepAlive = proto.keepAlive;
      ws.onMessage = (data) => {
        if (recordLatency) {
          frameNow = nowMicros();
          received += scanStamps(data, recordStamp);
        } else {
          received += scanStamps(data);
        }
        if (keepAlive) keepAlive(ws, data);
      };
      ws.onClose = () => {
        if (!closing) closedUnexpectedly++;
      };
      conns.push(ws);
      ok++;
    } catch (e) {
      failed++;
      firstError ??= (e as Error).message;
    }
  };
  const lanes = Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (next < count) await one(next++);
  });
  await Promise.all(lanes);
  send({ t: 'opened', ok, failed, ms: Date.now() - started, ...(firstError ? { firstError } : {}) });
}

process.on('message', (msg: ToWorker) => {
  switch (msg.t) {
    case 'open':
      void open(msg.ep, msg.count, msg.topic, msg.localAddresses, msg.concurrency);
      break;
    case 'measure':
      received = 0;
      hist.reset();
      recordLatency = msg.latency;
      if (ticker) clearInterval(ticker);
      ticker = setInterval(() => send({ t: 'tick', received }), msg.tickMs);
      break;
    case 'report':
      send({ t: 'report', received, hist: hist.toData(), open: conns.length - closedUnexpectedly, closedUnexpectedly });
      break;
    case 'close':
      closing = true;
      if (ticker) clearInterval(ticker);
      for (const ws of conns) ws.destroy();
      send({ t: 'closed' });
      setImmediate(() => process.exit(0));
      break;
  }
});
process.on('disconnect', () => process.exit(0));
send({ t: 'ready' });
