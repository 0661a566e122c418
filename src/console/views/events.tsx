/**
 * The application's event log, live (websocket.md 12, through the SDK's EventTail): the events
 * that match the filter (equality on `event_type` and on one trait, as `GET /v1/events`' `q`
 * conditions), in log order, as they are recorded. The last event shown and the filter are kept for
 * the tab, so coming back resumes after it without a gap.
 */
import type { EventCondition, HoldlineClient, HoldlineEvent } from 'holdline/client';
import { useEffect, useState } from 'preact/hooks';
import { ErrorNote, errorText } from '../ui.js';

interface Filter {
  eventType: string;
  trait: string;
  value: string;
}

interface Saved {
  filter: Filter;
  since: string | null;
}

const STORAGE_KEY = 'holdline.console.events';
const SHOWN = 200;
const NO_FILTER: Filter = { eventType: '', trait: '', value: '' };

/** The event types Holdline records (protocol/events.md), offered as suggestions. */
const EVENT_TYPES = [
  'queue.caller.join',
  'queue.caller.leave',
  'queue.caller.status',
  'queue.caller.priority',
  'queue.caller.assign',
  'queue.member.add',
  'queue.member.remove',
  'queue.member.pause',
  'queue.member.unpause',
  'queue.member.status',
  'queue.member.update',
  'queue.create',
  'queue.update',
  'queue.delete',
  'agent.create',
  'agent.update',
  'agent.delete',
  'tag.create',
  'tag.agent.add',
  'tag.agent.remove',
  'message.update',
  'message.delete',
];

function saved(): Saved {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    if (raw !== null) return JSON.parse(raw) as Saved;
  } catch {
    // Not ours: start afresh.
  }
  return { filter: NO_FILTER, since: null };
}

function conditions(f: Filter): EventCondition[] {
  const q: EventCondition[] = [];
  if (f.eventType.trim() !== '') q.push({ field: 'event_type', value: f.eventType.trim() });
  if (f.trait.trim() !== '') q.push({ field: f.trait.trim(), value: f.value });
  return q;
}

export function EventsView({ client }: { client: HoldlineClient }) {
  const [applied, setApplied] = useState<Saved>(saved);
  const [form, setForm] = useState<Filter>(applied.filter);
  const [events, setEvents] = useState<Array<{ seq: number; event: HoldlineEvent }>>([]);
  const [status, setStatus] = useState('Connecting…');
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let stopped = false;
    setEvents([]);
    setError(null);
    let tail: ReturnType<HoldlineClient['events']>;
    try {
      tail = client.events(applied.since === null ? { q: conditions(applied.filter) } : { q: conditions(applied.filter), since: applied.since });
    } catch (err) {
      setError(errorText(err));
      return;
    }
    tail.on('event', (e) => {
      if (stopped) return;
      setEvents((old) => [e, ...old].slice(0, SHOWN));
      sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ filter: applied.filter, since: e.event.message_id } satisfies Saved));
    });
    tail.on('subscribed', ({ recovered }) => {
      if (stopped) return;
      setStatus(recovered ? (applied.since === null ? 'Live' : 'Live (resumed where this tab left off)') : 'Live: some events after the resume point were no longer held');
    });
    tail.on('ended', (end) => {
      if (stopped) return;
      if (end.reason === 'error') setError(`The event tail stopped: ${errorText(end.error)}`);
      setStatus('Stopped');
    });
    return () => {
      stopped = true;
      void tail.close();
    };
  }, [client, applied]);

  const apply = (e: Event): void => {
    e.preventDefault();
    const next = { filter: form, since: null };
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(next));
    setApplied(next);
  };

  return (
    <section aria-labelledby="events-title">
      <h2 id="events-title">Events</h2>
      <form class="filter" onSubmit={apply} aria-label="Event filter">
        <label for="ev-type">Event type</label>
        <input id="ev-type" list="ev-types" value={form.eventType} onInput={(e) => setForm({ ...form, eventType: e.currentTarget.value })} placeholder="any" />
        <datalist id="ev-types">
          {EVENT_TYPES.map((t) => (
            <option key={t} value={t} />
          ))}
        </datalist>
        <label for="ev-trait">Trait</label>
        <input id="ev-trait" value={form.trait} onInput={(e) => setForm({ ...form, trait: e.currentTarget.value })} placeholder="e.g. queue_id" />
        <label for="ev-value">equals</label>
        <input id="ev-value" value={form.value} onInput={(e) => setForm({ ...form, value: e.currentTarget.value })} />
        <button type="submit">Apply</button>
      </form>
      <p class="hint">Events recorded from now on that match every condition, newest first.</p>
      <ErrorNote error={error} />
      <p class="live-status" data-events-status>
        {status}
      </p>
      {events.length === 0 ? (
        <p>No events yet.</p>
      ) : (
        <table class="events">
          <caption class="sr-only">Events, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Time (UTC)</th>
              <th scope="col">Type</th>
              <th scope="col">Traits</th>
            </tr>
          </thead>
          <tbody>
            {events.map(({ seq, event }) => (
              <tr key={seq} data-event={event.message_id} data-type={event.event_type}>
                <td class="mono">{event.generated.replace('T', ' ').slice(0, 23)}</td>
                <td>{event.event_type}</td>
                <td class="traits">
                  {event.traits
                    .filter((t) => t.name !== 'project_id')
                    .map((t) => (
                      <span key={t.name}>
                        {t.name}=<span class="mono">{String(t.value)}</span>{' '}
                      </span>
                    ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
