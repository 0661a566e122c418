/**
 * The application's event log: the newest stored events that match the filter (`GET /v1/events`,
 * equality on `event_type` and on one trait, Panko's `q`), then, live, the matching events as they
 * are recorded (websocket.md 12, the SDK's EventTail), resumed after the newest event of the log
 * read before the query, so none falls between the two. The last event shown and the filter are
 * kept for the tab: coming back resumes after it.
 */
import type { EventCondition, HoldlineClient, HoldlineEvent } from 'holdline/client';
import { useEffect, useState } from 'preact/hooks';
import { api, type Credentials } from '../api.js';
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

const STORED = 100;

/** `GET /v1/events` with these conditions, newest first. */
function query(credentials: Credentials, q: EventCondition[], limit: number): Promise<HoldlineEvent[]> {
  const params = new URLSearchParams();
  for (const c of q) {
    params.append('q.field', c.field);
    params.append('q.value', c.value);
  }
  params.set('limit', String(limit));
  params.set('sort', 'generated:desc');
  return api<HoldlineEvent[]>(credentials, 'GET', `/v1/events?${params}`);
}

export function EventsView({ client, credentials }: { client: HoldlineClient; credentials: Credentials }) {
  const [applied, setApplied] = useState<Saved>(saved);
  const [form, setForm] = useState<Filter>(applied.filter);
  /** seq null: read from the stored log, not from the tail. */
  const [events, setEvents] = useState<Array<{ seq: number | null; event: HoldlineEvent }>>([]);
  const [status, setStatus] = useState('Connecting…');
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let stopped = false;
    let tail: ReturnType<HoldlineClient['events']> | null = null;
    const seen = new Set<string>();
    setEvents([]);
    setError(null);
    const start = async (): Promise<void> => {
      const q = conditions(applied.filter);
      let since = applied.since;
      if (since === null) {
        // The newest event of the whole log first: the tail resumes after it, so an event recorded
        // while the stored ones are read is delivered live (once: ids already shown are skipped).
        const [newest] = await query(credentials, [], 1);
        const stored = await query(credentials, q, STORED);
        if (stopped) return;
        for (const e of stored) seen.add(e.message_id);
        setEvents(stored.map((event) => ({ seq: null, event })));
        since = newest?.message_id ?? null;
      }
      tail = client.events(since === null ? { q } : { q, since });
      listen(tail);
    };
    const listen = (t: NonNullable<typeof tail>): void => {
      t.on('event', (e) => {
        if (stopped || seen.has(e.event.message_id)) return;
        seen.add(e.event.message_id);
        setEvents((old) => [e, ...old].slice(0, SHOWN));
      sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ filter: applied.filter, since: e.event.message_id } satisfies Saved));
    });
      t.on('subscribed', ({ recovered }) => {
        if (stopped) return;
        setStatus(recovered ? (applied.since === null ? 'Live' : 'Live (resumed where this tab left off)') : 'Live: some events after the resume point were no longer held');
      });
      t.on('ended', (end) => {
        if (stopped) return;
        if (end.reason === 'error') setError(`The event tail stopped: ${errorText(end.error)}`);
        setStatus('Stopped');
      });
    };
    start().catch((err: unknown) => !stopped && setError(errorText(err)));
    return () => {
      stopped = true;
      void tail?.close();
    };
  }, [client, credentials, applied]);

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
      <p class="hint">The newest {STORED} stored events that match every condition, then new ones as they are recorded; newest first.</p>
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
            {events.map(({ event }) => (
              <tr key={event.message_id} data-event={event.message_id} data-type={event.event_type}>
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
