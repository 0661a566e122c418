/** The operator's view (admin key): applications and their keys (ids only: keys are never shown again). */
import { useState } from 'preact/hooks';
import { api, path, type Credentials } from '../api.js';
import { ErrorNote, useLoad } from '../ui.js';

interface AppList {
  applications: Array<{ application_name: string; created: number }>;
}

interface KeyList {
  keys: Array<{ key_id: string; created: number; expires: number | null }>;
}

const date = (epoch: number): string => new Date(epoch * 1000).toISOString().replace('T', ' ').slice(0, 19);

export function AppsView({ credentials }: { credentials: Credentials }) {
  const { data, error, reload } = useLoad(() => api<AppList>(credentials, 'GET', '/v1/apps'), []);
  const [open, setOpen] = useState<string | null>(null);
  return (
    <section aria-labelledby="apps-title">
      <div class="title-row">
        <h2 id="apps-title">Applications</h2>
        <button type="button" onClick={reload}>
          Reload
        </button>
      </div>
      <p class="hint">Signed in with the operator key: sign in with an application key to see its queues.</p>
      <ErrorNote error={error} />
      {data === null ? (
        <p>Loading…</p>
      ) : (
        <table>
          <caption class="sr-only">Applications</caption>
          <thead>
            <tr>
              <th scope="col">Application</th>
              <th scope="col">Created (UTC)</th>
              <th scope="col">Keys</th>
            </tr>
          </thead>
          <tbody>
            {data.applications.map((a) => (
              <tr key={a.application_name} data-app={a.application_name}>
                <th scope="row">{a.application_name}</th>
                <td>{date(a.created)}</td>
                <td>
                  {open === a.application_name ? (
                    <Keys credentials={credentials} app={a.application_name} />
                  ) : (
                    <button type="button" onClick={() => setOpen(a.application_name)}>
                      Show keys<span class="sr-only"> of {a.application_name}</span>
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Keys({ credentials, app }: { credentials: Credentials; app: string }) {
  const { data, error } = useLoad(() => api<KeyList>(credentials, 'GET', path('v1', 'apps', app, 'keys')), [app]);
  if (error !== null) return <ErrorNote error={error} />;
  if (data === null) return <span>Loading…</span>;
  return (
    <ul class="plain">
      {data.keys.map((k) => (
        <li key={k.key_id}>
          <span class="mono">{k.key_id}</span> since {date(k.created)}
          {k.expires === null ? '' : `, expires ${date(k.expires)}`}
        </li>
      ))}
    </ul>
  );
}
