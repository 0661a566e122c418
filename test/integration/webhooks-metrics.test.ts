/**
 * Webhook delivery in `GET /metrics` (README "Operating Holdline"): scraped from a real server after
 * real deliveries to loopback receivers, read with a Prometheus text-format parser. The registry is
 * the process's, so counters are compared before and after.
 */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import type { PromFamily } from 'parse-prometheus-text-format';
import { afterEach, describe, expect, it } from 'vitest';
import { type EventNode, startEventNode } from '../helpers/event-nodes.js';
import { until } from '../helpers/wait.js';
import { type Receiver, startReceiver } from '../helpers/webhook-receiver.js';

const SECRET = 'a-long-shared-secret-1234';
const FAST = { webhookRetryBaseMs: 20, webhookRetryMaxMs: 100, webhookTimeoutMs: 60_000, webhookLeaseMs: 3000 };

let nodes: EventNode[] = [];
let receivers: Receiver[] = [];
afterEach(async () => {
  for (const r of receivers) await r.close();
  for (const n of nodes) await n.close();
  nodes = [];
  receivers = [];
});

async function scrape(n: EventNode): Promise<(name: string, labels?: Record<string, string>) => number> {
  const res = await fetch(`${n.url}/metrics`);
  expect(res.status).toBe(200);
  const families: PromFamily[] = parsePrometheusTextFormat(await res.text());
  return (name, labels = {}) => {
    const f = families.find((x) => x.name === name);
    if (f === undefined) throw new Error(`no metric ${name}`);
    const sample = f.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
    return Number(sample?.value ?? sample?.count ?? 0);
  };
}

describe.each(['memory', 'redis'] as const)('webhook metrics on %s', (kind) => {
  it('counts deliveries, failed attempts and POSTs, and shows the endpoints and their backlog', async () => {
    const n = await startEventNode(kind, FAST);
    nodes.push(n);
    const { key } = await n.createApp();
    const flaky = await startReceiver({ kind: 'failing', times: 2 }, SECRET);
    const silent = await startReceiver({ kind: 'silent' }, SECRET);
    receivers.push(flaky, silent);
    const earlier = await scrape(n);
    for (const r of [flaky, silent]) {
      const res = await n.request('/v1/webhooks', { method: 'POST', key, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: r.url, secret: SECRET }) });
      expect(res.status).toBe(201);
    }
    for (let i = 0; i < 3; i++) await n.tag(key, `t${i}`);
    await until(() => flaky.accepted().length === 3, { what: 'the flaky receiver has every event' });
    // The silent receiver holds the first event's POST open: its endpoint is 3 events behind.
    await until(() => silent.held() === 1, { what: 'the silent receiver holds a POST' });
    // The flaky endpoint's cursor moves once its third 204 is read back.
    let later = await scrape(n);
    await until(
      async () => {
        later = await scrape(n);
        return later('holdline_webhook_backlog_max_events') === 3 && later('holdline_webhook_backlog_events') === 3;
      },
      { what: 'the flaky endpoint caught up' },
    );
    expect(later('holdline_webhook_deliveries_total') - earlier('holdline_webhook_deliveries_total')).toBe(3);
    expect(later('holdline_webhook_failed_attempts_total', { reason: 'status' }) - earlier('holdline_webhook_failed_attempts_total', { reason: 'status' })).toBe(2);
    // Five answered POSTs (2 failed, 3 delivered); the silent one is still in flight.
    expect(later('holdline_webhook_post_duration_seconds') - earlier('holdline_webhook_post_duration_seconds')).toBe(5);
    expect(later('holdline_webhook_endpoints_delivering')).toBe(2);
    expect(later('holdline_webhook_backlog_events')).toBe(3);
    expect(later('holdline_webhook_backlog_max_events')).toBe(3);
  });
});
