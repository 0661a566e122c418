/** Every call queue at a glance, live: waiting callers, longest wait, service level, abandon rate, members by state. */
import type { CallQueue, HoldlineClient } from 'holdline/client';
import { useEffect } from 'preact/hooks';
import { api, type Credentials } from '../api.js';
import { duration, percent, since } from '../format.js';
import { abandonRate, countStates, liveQueue, useNow, useViews } from '../live.js';
import { ErrorNote, href, useLoad } from '../ui.js';

const LIST_RELOAD_MS = 30_000;

export function QueuesView({ credentials, client }: { credentials: Credentials; client: HoldlineClient }) {
  const { data: queues, error, reload } = useLoad(() => api<CallQueue[]>(credentials, 'GET', '/v1/queues'), []);
  // Queues made or deleted elsewhere: no feed announces them, so a wallboard left open reloads the list.
  useEffect(() => {
    const timer = setInterval(reload, LIST_RELOAD_MS);
    return () => clearInterval(timer);
  }, [reload]);
  const views = (queues ?? []).map((q) => liveQueue(client, q.uuid));
  useViews(views);
  const now = useNow();
  return (
    <section aria-labelledby="queues-title">
      <div class="title-row">
        <h2 id="queues-title">Call queues</h2>
        <button type="button" onClick={reload}>
          Reload list
        </button>
      </div>
      <ErrorNote error={error} />
      {queues === null ? (
        <p>Loading…</p>
      ) : queues.length === 0 ? (
        <p>No call queues yet (POST /v1/queues makes one).</p>
      ) : (
        <table class="queues">
          <caption class="sr-only">Call queues, live</caption>
          <thead>
            <tr>
              <th scope="col">Queue</th>
              <th scope="col" class="num">Waiting</th>
              <th scope="col" class="num">Longest wait</th>
              <th scope="col" class="num">Service level</th>
              <th scope="col" class="num">Abandon rate</th>
              <th scope="col" class="num">Available</th>
              <th scope="col" class="num">Busy</th>
              <th scope="col" class="num">Wrap-up</th>
              <th scope="col" class="num">Paused</th>
              <th scope="col" class="num">Logged out</th>
            </tr>
          </thead>
          <tbody>
            {queues.map((q, i) => {
              const view = views[i]!;
              const stats = view.stats;
              const counts = countStates(view.members);
              const name = view.queue?.name ?? q.name;
              const ended = view.state.status === 'ended';
              return (
                <tr key={q.uuid} data-queue={q.uuid}>
                  <th scope="row">
                    <a href={href('queues', q.uuid)}>{name}</a>
                    {ended ? <span class="hint"> (deleted)</span> : null}
                  </th>
                  <td class="num" data-field="waiting">
                    {stats?.callers_waiting ?? '…'}
                  </td>
                  <td class="num">{stats === null ? '…' : duration(since(stats.oldest_wait_since, now))}</td>
                  <td class="num">{stats === null ? '…' : percent(stats.service_level)}</td>
                  <td class="num">{stats === null ? '…' : percent(abandonRate(stats))}</td>
                  <td class="num">{counts.available}</td>
                  <td class="num">{counts.busy}</td>
                  <td class="num">{counts.wrapup}</td>
                  <td class="num">{counts.paused}</td>
                  <td class="num">{counts.logged_out}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
