// subscribe.mjs: follow a queue live and print each message; stops after COUNT messages (or Ctrl-C).
// Run: HOLDLINE_KEY=<application key> COUNT=2 node subscribe.mjs [app] [queue]
import { HoldlineClient } from 'holdline/client';

const [app = 'demo', queue = 'calls'] = process.argv.slice(2);
const count = Number(process.env.COUNT ?? Infinity);
const client = new HoldlineClient({
  urls: process.env.HOLDLINE_WS ?? 'ws://127.0.0.1:7700/v1/ws',
  key: process.env.HOLDLINE_KEY,
});

let seen = 0;
const sub = client.subscribe(app, queue, { partitions: [1] }, (m) => {
  console.log(`partition ${m.partition} #${m.seq}: ${m.body}`);
  if (++seen >= count) void client.close();
});
// Printed once the subscription is live: a producer may start now.
sub.on('recovery', (r) => r.cause === 'subscribe' && console.log(`following ${app}/${queue} partition ${r.partition}`));
process.once('SIGINT', () => void client.close());
