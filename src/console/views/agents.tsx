/** Agents with their tags (skills) and, live, their state in every queue they serve. */
import type { CallQueue, HoldlineClient } from 'holdline/client';
import { api, type Credentials } from '../api.js';
import { liveQueue, memberState, STATE_LABEL, useViews } from '../live.js';
import { ErrorNote, href, useLoad } from '../ui.js';

interface Agent {
  uuid: string;
  name: string;
  user_id: string | null;
  created_at: string;
}

interface Tag {
  id: number;
  tag: string;
  agents: string[];
}

export function AgentsView({ credentials, client }: { credentials: Credentials; client: HoldlineClient }) {
  const { data, error, reload } = useLoad(
    () =>
      Promise.all([
        api<Agent[]>(credentials, 'GET', '/v1/agents'),
        api<Tag[]>(credentials, 'GET', '/v1/tags'),
        api<CallQueue[]>(credentials, 'GET', '/v1/queues'),
      ]),
    [],
  );
  const [agents, tags, queues] = data ?? [[], [], []];
  const views = queues.map((q) => liveQueue(client, q.uuid));
  useViews(views);
  return (
    <section aria-labelledby="agents-title">
      <div class="title-row">
        <h2 id="agents-title">Agents and tags</h2>
        <button type="button" onClick={reload}>
          Reload
        </button>
      </div>
      <ErrorNote error={error} />
      {data === null ? (
        <p>Loading…</p>
      ) : agents.length === 0 ? (
        <p>No agents yet.</p>
      ) : (
        <table class="agents">
          <caption class="sr-only">Agents, their tags and their state in each queue</caption>
          <thead>
            <tr>
              <th scope="col">Agent</th>
              <th scope="col">Tags</th>
              <th scope="col">Queues (state)</th>
            </tr>
          </thead>
          <tbody>
            {agents.map((a) => {
              const own = tags.filter((t) => t.agents.includes(a.uuid)).map((t) => t.tag);
              const memberships = views.flatMap((v, i) => {
                const m = v.members.find((x) => x.uuid === a.uuid);
                return m === undefined ? [] : [{ queue: queues[i]!, state: memberState(m) }];
              });
              return (
                <tr key={a.uuid} data-agent={a.uuid}>
                  <th scope="row">
                    {a.name || '(no name)'} <span class="hint mono">{a.uuid.slice(0, 8)}</span>
                  </th>
                  <td>{own.length === 0 ? '–' : own.map((t) => <span class="tag" key={t}>{t}</span>)}</td>
                  <td>
                    {memberships.length === 0
                      ? '–'
                      : memberships.map(({ queue, state }) => (
                          <span class="membership" key={queue.uuid}>
                            <a href={href('queues', queue.uuid)}>{queue.name}</a> <span class={`badge ${state}`}>{STATE_LABEL[state]}</span>
                          </span>
                        ))}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <h3>Tags</h3>
      {tags.length === 0 ? (
        <p>No tags.</p>
      ) : (
        <ul class="tags">
          {tags.map((t) => (
            <li key={t.id}>
              <span class="tag">{t.tag}</span> {t.agents.length} agent{t.agents.length === 1 ? '' : 's'}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
