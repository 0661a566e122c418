/**
 * The SDK's EventTail without a network (a recording host answers by hand): where it resumes after
 * a lost connection when it has had no event yet (websocket.md 12.1 `last_event_id`), and that it
 * says `recovered: false` when it had no position and events were recorded meanwhile.
 */
import { describe, expect, it } from 'vitest';
import type { ServerFrame } from '../../src/codec/frames.js';
import { EventTail } from '../../src/client/event-tail.js';
import { RecordingHost } from '../helpers/client-host.js';

function subscribed(seq: number, lastEventId?: string | null): ServerFrame {
  return { type: 'events.subscribed', seq, recovered: true, ...(lastEventId === undefined ? {} : { last_event_id: lastEventId }) };
}

/** A tail subscribed once with `first`, then disconnected and activated on a new connection. */
async function reconnected(first: ServerFrame): Promise<{ host: RecordingHost; tail: EventTail; recovered: boolean[] }> {
  const host = new RecordingHost();
  const tail = new EventTail(host);
  const recovered: boolean[] = [];
  tail.on('subscribed', (s) => recovered.push(s.recovered));
  void tail.activate(1);
  host.reply(0, first);
  await tail.ready;
  host.connected = false;
  tail.onDisconnect();
  host.generation = 2;
  host.connected = true;
  void tail.activate(2);
  return { host, tail, recovered };
}

describe('EventTail resume point', () => {
  it('resumes a tail from now at the event its first reply named, before any event arrived', async () => {
    const { host, tail } = await reconnected(subscribed(41, 'e41'));
    expect(tail.lastEventId).toBe('e41');
    expect(host.sent[1]!.frame).toEqual({ type: 'events.subscribe', since: 'e41' });
  });

  it('without a position (an empty log), says recovered: false when the next reply shows events were recorded meanwhile', async () => {
    const { host, tail, recovered } = await reconnected(subscribed(0, null));
    expect(host.sent[1]!.frame).toEqual({ type: 'events.subscribe' });
    host.reply(1, subscribed(3, 'e3'));
    expect(recovered).toEqual([true, false]);
    expect(tail.lastEventId).toBe('e3');
  });

  it('without a position and with nothing recorded meanwhile, recovered stays true (a server without last_event_id too)', async () => {
    const { host, recovered } = await reconnected(subscribed(7));
    host.reply(1, subscribed(7));
    expect(recovered).toEqual([true, true]);
  });
});
