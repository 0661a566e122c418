/**
 * The Holdline console (SPEC.md 3.6), served at /console: sign in, then call queues, agents and
 * tags, message queues; the operator key shows applications. Live data comes from the SDK's
 * browser build (`holdline/client` resolves to dist/browser/client.js under esbuild's browser
 * condition); lists and supervisor actions from REST. Routes are the hash (`#/queues/<id>`).
 */
import type { ClientState, HoldlineClient } from 'holdline/client';
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import './console.css';
import type { Credentials } from './api.js';
import { forgetCredentials, savedCredentials, signIn, type Session } from './session.js';
import { Announcer, ErrorNote, errorText, href, useRoute } from './ui.js';
import { AgentsView } from './views/agents.js';
import { AppsView } from './views/apps.js';
import { EventsView } from './views/events.js';
import { MessageQueuesView, MessageTailView } from './views/messages.js';
import { QueueView } from './views/queue.js';
import { QueuesView } from './views/queues.js';

const WALLBOARD_KEY = 'holdline.console.wallboard';

function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [restoring, setRestoring] = useState(() => savedCredentials() !== null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const saved = savedCredentials();
    if (saved === null) return;
    signIn(saved)
      .then(setSession, (err: unknown) => {
        forgetCredentials();
        setError(errorText(err));
      })
      .finally(() => setRestoring(false));
  }, []);

  const signOut = (why: string | null = null): void => {
    forgetCredentials();
    if (session?.kind === 'application') void session.client.close();
    setSession(null);
    setError(why);
    location.hash = '';
  };

  // The server ended the connection for good (key revoked or expired, application deleted): back
  // to the sign-in form, saying why, rather than a page that silently stopped being live.
  useEffect(() => {
    if (session?.kind !== 'application') return;
    return session.client.on('closed', (reason) => {
      if (reason.by === 'client') return;
      const why = reason.by === 'auth' ? `${reason.code}: ${reason.message}` : `${reason.code} ${reason.reason}`;
      signOut(`Signed out: the server ended the session (${why}). Sign in again with a valid key.`);
    });
  });

  if (session === null) {
    if (restoring) return <p class="center">Signing in…</p>;
    return (
      <SignIn
        error={error}
        onSignIn={async (credentials) => {
          try {
            setSession(await signIn(credentials));
            setError(null);
          } catch (err) {
            setError(errorText(err));
          }
        }}
      />
    );
  }
  return <Shell session={session} onSignOut={signOut} />;
}

function SignIn({ error, onSignIn }: { error: string | null; onSignIn: (c: Credentials) => Promise<void> }) {
  const [kind, setKind] = useState<Credentials['kind']>('application');
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  return (
    <main class="signin" id="main">
      <h1>Holdline console</h1>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          await onSignIn({ kind, key: key.trim() });
          setBusy(false);
        }}
      >
        <fieldset>
          <legend>Sign in with</legend>
          <label>
            <input type="radio" name="kind" value="application" checked={kind === 'application'} onChange={() => setKind('application')} /> an
            application key
          </label>
          <label>
            <input type="radio" name="kind" value="admin" checked={kind === 'admin'} onChange={() => setKind('admin')} /> the operator key
          </label>
        </fieldset>
        <label for="key">Key</label>
        <input id="key" ref={input} type="password" autocomplete="off" spellcheck={false} value={key} onInput={(e) => setKey(e.currentTarget.value)} />
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <ErrorNote error={error} />
        <p class="hint">The key is kept for this tab only, and forgotten when it closes.</p>
      </form>
    </main>
  );
}

function useWallboard(): [boolean, (on: boolean) => void] {
  const [on, setOn] = useState(() => sessionStorage.getItem(WALLBOARD_KEY) === '1');
  useEffect(() => {
    document.documentElement.classList.toggle('wallboard', on);
    sessionStorage.setItem(WALLBOARD_KEY, on ? '1' : '0');
  }, [on]);
  return [on, setOn];
}

function connectionText(state: ClientState): string {
  switch (state.status) {
    case 'connected':
      return 'Live';
    case 'connecting':
    case 'idle':
      return 'Connecting…';
    case 'waiting':
      return `Reconnecting in ${Math.ceil(state.delayMs / 1000)} s…`;
    case 'closed':
      return 'Disconnected';
  }
}

function Connection({ client }: { client: HoldlineClient }) {
  const [state, setState] = useState(client.state);
  useEffect(() => client.on('state', setState), [client]);
  return (
    <span class={`connection ${state.status}`} role="status">
      {connectionText(state)}
    </span>
  );
}

const SECTIONS = [
  { route: 'queues', label: 'Call queues' },
  { route: 'agents', label: 'Agents and tags' },
  { route: 'messages', label: 'Message queues' },
  { route: 'events', label: 'Events' },
];

function Shell({ session, onSignOut }: { session: Session; onSignOut: (why?: string | null) => void }) {
  const route = useRoute();
  const [wallboard, setWallboard] = useWallboard();
  const main = useRef<HTMLElement>(null);
  const sections = session.kind === 'admin' ? [{ route: 'apps', label: 'Applications' }] : SECTIONS;
  const section = sections.some((s) => s.route === route[0]) ? route[0]! : sections[0]!.route;
  return (
    <>
      <button type="button" class="skip" onClick={() => main.current?.focus()}>
        Skip to content
      </button>
      <header>
        <h1>Holdline console</h1>
        <span class="who">{session.kind === 'admin' ? 'Operator' : session.application}</span>
        {session.kind === 'application' ? <Connection client={session.client} /> : null}
        <nav aria-label="Sections">
          <ul>
            {sections.map((s) => (
              <li key={s.route}>
                <a href={href(s.route)} aria-current={s.route === section ? 'page' : undefined}>
                  {s.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <button type="button" aria-pressed={wallboard} onClick={() => setWallboard(!wallboard)}>
          Wallboard
        </button>
        <button type="button" onClick={() => onSignOut()}>
          Sign out
        </button>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        <Page session={session} section={section} rest={route.slice(1)} wallboard={wallboard} />
      </main>
      <Announcer />
    </>
  );
}

function Page({ session, section, rest, wallboard }: { session: Session; section: string; rest: string[]; wallboard: boolean }) {
  if (session.kind === 'admin') return <AppsView credentials={session.credentials} />;
  const { credentials, client, application } = session;
  switch (section) {
    case 'agents':
      return <AgentsView credentials={credentials} client={client} />;
    case 'events':
      return <EventsView client={client} credentials={credentials} />;
    case 'messages':
      return rest[0] === undefined ? (
        <MessageQueuesView credentials={credentials} application={application} />
      ) : (
        <MessageTailView key={rest[0]} credentials={credentials} client={client} application={application} queue={rest[0]} />
      );
    default:
      return rest[0] === undefined ? (
        <QueuesView credentials={credentials} client={client} />
      ) : (
        <QueueView key={rest[0]} credentials={credentials} client={client} queueId={rest[0]} wallboard={wallboard} />
      );
  }
}

render(<App />, document.getElementById('app')!);
