/**
 * HOLDLINE_EVENTS=off (config `events`, protocol/events.md "Recording off"): the node's changes are
 * made and answered as usual, record no event, and capabilities say `events: false`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type EventNode, startEventNode } from '../helpers/event-nodes.js';

let nodes: EventNode[] = [];
afterEach(async () => {
  for (const n of nodes) await n.close();
  nodes = [];
});

describe.each(['memory', 'redis'] as const)('recording off on %s', (kind) => {
  it('makes the changes, records no event, and says events: false', async () => {
    const n = await startEventNode(kind, { events: 'off' });
    nodes.push(n);
    const { name, key } = await n.createApp();
    const tag = await n.tag(key, 'french');
    expect(tag).toBeGreaterThan(0);
    const tags = await n.request('/v1/tags', { key });
    expect(tags.status).toBe(200);
    expect(JSON.stringify(await tags.json())).toContain('french');
    expect(await n.events(name)).toEqual([]);
    const res = await n.request('/v1/events', { key });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([]);
    const caps = (await (await n.request('/v1/capabilities')).json()) as { api: Record<string, boolean> };
    expect(caps.api.events).toBe(false);
    expect(caps.api['events:query:simple']).toBe(true);
  });
});
