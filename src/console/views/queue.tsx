/**
 * One call queue, live: its figures, callers in position order with their estimated wait, the
 * offers in flight, members with their states, the chart; supervisor actions (pause/unpause a member, change a caller's priority) go over REST and
 * come back through the live view like any other change.
 */
import type { Caller, CallQueueView, HoldlineClient, Member, Offer } from 'holdline/client';
import { useEffect, useState } from 'preact/hooks';
import { api, path, type Credentials } from '../api.js';
import { duration, estimateText, percent, since, until } from '../format.js';
import { abandonRate, countStates, estimatedWait, liveQueue, memberState, STATE_LABEL, stateSince, useNow, useViews } from '../live.js';
import { announce, ErrorNote, errorText, href, Stat, useLoad } from '../ui.js';
import { QueueChart } from './chart.js';

interface Agent {
  uuid: string;
  name: string;
}

export function QueueView(props: { credentials: Credentials; client: HoldlineClient; queueId: string; wallboard: boolean }) {
  const { credentials, client, queueId, wallboard } = props;
  const view = liveQueue(client, queueId);
  useViews([view]);
  const now = useNow();
  const [actionError, setActionError] = useState<string | null>(null);
  const offers = useOffers(credentials, view);
  const unknownAgents = view.members.filter((m) => !names.has(m.uuid)).length;
  const agents = useLoad(async () => {
    const list = await api<Agent[]>(credentials, 'GET', '/v1/agents');
    for (const a of list) names.set(a.uuid, a.name);
    return list.length;
  }, [unknownAgents > 0]);
  const agentName = (uuid: string): string => names.get(uuid) || uuid.slice(0, 8);

  const act = async (what: string, call: () => Promise<unknown>): Promise<void> => {
    try {
      await call();
      setActionError(null);
      announce(what);
    } catch (err) {
      setActionError(`${what} failed: ${errorText(err)}`);
    }
  };
  const setPaused = (member: Member, paused: boolean, reason: string): Promise<void> =>
    act(`${paused ? 'Paused' : 'Unpaused'} ${agentName(member.uuid)}`, () =>
      api(credentials, 'PUT', path('v1', 'queues', queueId, 'members', member.uuid), paused ? { paused, pause_reason: reason === '' ? null : reason } : { paused }),
    );
  const setPriority = (caller: Caller, priority: number): Promise<void> =>
    act(`Priority of ${caller.name || caller.number} set to ${priority}`, () =>
      api(credentials, 'PUT', path('v1', 'queues', queueId, 'callers', caller.uuid), { priority }),
    );

  const state = view.state;
  if (state.status === 'ended') {
    const end = state.end;
    return (
      <section>
        <h2>Call queue</h2>
        <p class="error" role="alert">
          {'reason' in end ? `This queue is no longer followed (${end.reason}).` : 'This queue is no longer followed.'}
        </p>
        <a href={href('queues')}>All call queues</a>
      </section>
    );
  }
  const stats = view.stats;
  const queue = view.queue;
  const counts = countStates(view.members);
  return (
    <section aria-labelledby="queue-title">
      <p class="crumbs">
        <a href={href('queues')}>Call queues</a> ›
      </p>
      <h2 id="queue-title">{queue?.name ?? 'Call queue'}</h2>
      {queue?.description ? <p class="hint">{queue.description}</p> : null}
      {queue?.disabled ? <p class="warn">Disabled: new callers are refused.</p> : null}
      <ErrorNote error={agents.error} />
      {stats === null ? (
        <p>Connecting…</p>
      ) : (
        <dl class="stats">
          <Stat label="Waiting" value={stats.callers_waiting} />
          <Stat label="Longest wait" value={duration(since(stats.oldest_wait_since, now))} />
          <Stat label="Service level" value={percent(stats.service_level)} hint={`within ${stats.service_level_seconds} s`} />
          <Stat label="Abandon rate" value={percent(abandonRate(stats))} />
          <Stat label="Average wait" value={stats.average_wait === null ? '–' : duration(stats.average_wait)} />
          <Stat label="Ringing / connected" value={`${stats.callers_ringing} / ${stats.callers_connected}`} />
          <Stat label="Answered / abandoned" value={`${stats.completed} / ${stats.abandoned}`} />
          <Stat label="Members available" value={`${counts.available} of ${view.members.length}`} hint={`${counts.paused} paused`} />
        </dl>
      )}
      <QueueChart queueId={queueId} wallboard={wallboard} />
      <ErrorNote error={actionError} />
      <h3 id="callers-title">Callers</h3>
      <CallerTable callers={view.callers} now={now} estimate={(c) => estimatedWait(view, c.uuid, now)} agentName={agentName} onPriority={setPriority} />
      <h3 id="offers-title">Offers in flight</h3>
      <ErrorNote error={offers.error} />
      <OfferTable offers={offers.list} now={now} caller={(id) => view.caller(id)} agentName={agentName} />
      <h3 id="members-title">Members</h3>
      <MemberTable members={view.members} now={now} agentName={agentName} onPause={setPaused} />
    </section>
  );
}

/** Agent names by uuid, shared by every view (agents rarely change names). */
const names = new Map<string, string>();

/**
 * The queue's open offers (GET /v1/queues/{id}/offers, protocol/routing.md section 4), read again on
 * every change of the queue: an offer is made, answered, timed out or revoked with a change of its
 * caller (ringing, connected, back to waiting, gone), so the list follows the live feed without
 * polling. One read at a time; changes during a read give one more read after it.
 */
function useOffers(credentials: Credentials, view: CallQueueView): { list: readonly Offer[]; error: string | null } {
  const [list, setList] = useState<readonly Offer[]>([]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let current = true;
    let reading = false;
    let again = false;
    const read = async (): Promise<void> => {
      if (reading) {
        again = true;
        return;
      }
      reading = true;
      try {
        do {
          again = false;
          const offers = await api<Offer[]>(credentials, 'GET', path('v1', 'queues', view.queueId, 'offers'));
          if (!current) return;
          setList(offers);
          setError(null);
        } while (again);
      } catch (err) {
        if (current) setError(`Offers in flight could not be read: ${errorText(err)}`);
      } finally {
        reading = false;
      }
    };
    void read();
    const off = view.on('change', () => void read());
    return () => {
      current = false;
      off();
    };
  }, [credentials, view]);
  return { list, error };
}

function OfferTable(props: {
  offers: readonly Offer[];
  now: number;
  caller: (uuid: string) => Caller | undefined;
  agentName: (uuid: string) => string;
}) {
  if (props.offers.length === 0) return <p data-empty="offers">No offers in flight.</p>;
  return (
    <table class="offers" aria-labelledby="offers-title">
      <thead>
        <tr>
          <th scope="col">Caller</th>
          <th scope="col">Offered to</th>
          <th scope="col">Strategy</th>
          <th scope="col" class="num">Answer within</th>
        </tr>
      </thead>
      <tbody>
        {props.offers.map((o) => {
          const caller = props.caller(o.caller_id);
          const left = until(o.expires_at, props.now);
          return (
            <tr key={o.offer_id} data-offer={o.offer_id} data-caller-id={o.caller_id}>
              <th scope="row">{caller === undefined ? o.caller_id.slice(0, 8) : caller.name || caller.number}</th>
              <td data-field="agents">{o.agents.map(props.agentName).join(', ')}</td>
              <td>{o.strategy.replace('_', ' ')}</td>
              <td class="num" data-field="deadline">
                <time dateTime={o.expires_at} title={`expires ${o.expires_at}`}>
                  {left > 0 ? duration(left) : 'expired'}
                </time>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function CallerTable(props: {
  callers: readonly Caller[];
  now: number;
  estimate: (caller: Caller) => number | null | undefined;
  agentName: (uuid: string) => string;
  onPriority: (caller: Caller, priority: number) => Promise<void>;
}) {
  if (props.callers.length === 0) return <p data-empty="callers">No callers.</p>;
  return (
    <table class="callers" aria-labelledby="callers-title">
      <thead>
        <tr>
          <th scope="col" class="num">Position</th>
          <th scope="col">Caller</th>
          <th scope="col">Number</th>
          <th scope="col">Status</th>
          <th scope="col" class="num">Waiting for</th>
          <th scope="col" class="num">Estimated wait</th>
          <th scope="col">Agent</th>
          <th scope="col">Priority</th>
        </tr>
      </thead>
      <tbody>
        {props.callers.map((c) => (
          <tr key={c.uuid} data-caller={c.uuid}>
            <td class="num" data-field="position">
              {c.position === null ? '–' : c.position + 1}
            </td>
            <th scope="row">{c.name || '(no name)'}</th>
            <td>{c.number}</td>
            <td data-field="status">
              <span class={`badge ${c.status}`}>{c.status}</span>
            </td>
            <td class="num">{duration(since(c.created_at, props.now))}</td>
            <td class="num" data-field="estimate">
              {c.status === 'waiting' ? estimateText(props.estimate(c)) : '–'}
            </td>
            <td>{c.member_uuid === null ? '–' : props.agentName(c.member_uuid)}</td>
            <td>
              <PriorityForm caller={c} onPriority={props.onPriority} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function PriorityForm({ caller, onPriority }: { caller: Caller; onPriority: (caller: Caller, priority: number) => Promise<void> }) {
  const [value, setValue] = useState(String(caller.priority));
  const id = `priority-${caller.uuid}`;
  return (
    <form
      class="inline"
      onSubmit={(e) => {
        e.preventDefault();
        const n = Number(value);
        if (Number.isInteger(n)) void onPriority(caller, n);
      }}
    >
      <label for={id} class="sr-only">
        Priority of {caller.name || caller.number}
      </label>
      <input id={id} type="number" step={1} value={value} onInput={(e) => setValue(e.currentTarget.value)} class="narrow" />
      <button type="submit" disabled={value === String(caller.priority)}>
        Set
      </button>
    </form>
  );
}

function MemberTable(props: {
  members: readonly Member[];
  now: number;
  agentName: (uuid: string) => string;
  onPause: (member: Member, paused: boolean, reason: string) => Promise<void>;
}) {
  if (props.members.length === 0) return <p>No members.</p>;
  return (
    <table class="members" aria-labelledby="members-title">
      <thead>
        <tr>
          <th scope="col">Agent</th>
          <th scope="col">Number</th>
          <th scope="col">State</th>
          <th scope="col">Pause reason</th>
          <th scope="col" class="num">Time in state</th>
          <th scope="col">Action</th>
        </tr>
      </thead>
      <tbody>
        {props.members.map((m) => (
          <MemberRow key={m.uuid} member={m} {...props} />
        ))}
      </tbody>
    </table>
  );
}

function MemberRow(props: { member: Member; now: number; agentName: (uuid: string) => string; onPause: (member: Member, paused: boolean, reason: string) => Promise<void> }) {
  const { member: m } = props;
  const [reason, setReason] = useState('');
  const state = memberState(m);
  const name = props.agentName(m.uuid);
  const id = `reason-${m.uuid}`;
  return (
    <tr data-member={m.uuid}>
      <th scope="row">{name}</th>
      <td>{m.number}</td>
      <td data-field="state">
        <span class={`badge ${state}`}>{STATE_LABEL[state]}</span>
      </td>
      <td>{m.pause_reason ?? '–'}</td>
      <td class="num">{duration(since(stateSince(m), props.now))}</td>
      <td>
        {m.paused ? (
          <button type="button" onClick={() => void props.onPause(m, false, '')}>
            Unpause<span class="sr-only"> {name}</span>
          </button>
        ) : (
          <form
            class="inline"
            onSubmit={(e) => {
              e.preventDefault();
              void props.onPause(m, true, reason.trim());
            }}
          >
            <label for={id} class="sr-only">
              Pause reason for {name}
            </label>
            <input id={id} placeholder="reason" value={reason} onInput={(e) => setReason(e.currentTarget.value)} maxLength={200} />
            <button type="submit">
              Pause<span class="sr-only"> {name}</span>
            </button>
          </form>
        )}
      </td>
    </tr>
  );
}
