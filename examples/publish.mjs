// publish.mjs: post messages to a queue over the WebSocket, print where they were stored.
// Run: HOLDLINE_KEY=<application key> node publish.mjs [app] [queue]
import { HoldlineClient } from 'holdline/client';

const [app = 'demo', queue = 'calls'] = process.argv.slice(2);
const client = new HoldlineClient({
  urls: process.env.HOLDLINE_WS ?? 'ws://127.0.0.1:7700/v1/ws',
  key: process.env.HOLDLINE_KEY,
});

const stored = await client.publish(app, queue, [
  { body: 'caller 1001 is waiting', partition: 1 },
  { body: 'agent 7 ready', partition: 1 },
]);
for (const m of stored) console.log(`stored ${m.message_id} in partition ${m.partition} as #${m.seq}`);
await client.close();
