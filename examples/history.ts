// history.ts: read a queue's stored messages, typed. Run with tsx, or compile with tsc.
// Run: HOLDLINE_KEY=<application key> npx tsx history.ts [app] [queue]
import { HoldlineClient, type Message } from 'holdline/client';

const [app = 'demo', queue = 'calls'] = process.argv.slice(2);
const client = new HoldlineClient({
  urls: process.env.HOLDLINE_WS ?? 'ws://127.0.0.1:7700/v1/ws',
  key: process.env.HOLDLINE_KEY,
});

const { messages, truncated }: { messages: Message[]; truncated: boolean } = await client.history(app, queue, {
  partitions: [1],
  limit: 100,
});
for (const m of messages) {
  const body: string = typeof m.body === 'string' ? m.body : `<${m.body.byteLength} bytes>`;
  console.log(`${new Date(m.timestamp * 1000).toISOString()} #${m.seq} ${body}`);
}
if (truncated) console.log('(more messages follow)');
await client.close();
