/**
 * Message queues: the list (REST), and one queue's live tail through the SDK with resume: the
 * last message id per partition is kept for the tab (sessionStorage), so coming back to the queue,
 * or reloading the page, delivers what was posted meanwhile, then live ones, without gap or
 * duplicate (websocket.md 4.2). Posting goes through the SDK too.
 */
import type { HoldlineClient, Message, Subscription } from 'holdline/client';
import { useEffect, useState } from 'preact/hooks';
import { api, path, type Credentials } from '../api.js';
import { clock } from '../format.js';
import { announce, ErrorNote, errorText, href, useLoad } from '../ui.js';

interface QueueDetails {
  queue_name: string;
  partitions: number;
  type: string;
  created: number;
  count?: number;
}

const SHOWN = 200;

export function MessageQueuesView({ credentials, application }: { credentials: Credentials; application: string }) {
  const { data, error, reload } = useLoad(
    () => api<{ queues: QueueDetails[] }>(credentials, 'GET', `${path(application)}?include_count=true&limit=1000`),
    [application],
  );
  return (
    <section aria-labelledby="mq-title">
      <div class="title-row">
        <h2 id="mq-title">Message queues</h2>
        <button type="button" onClick={reload}>
          Reload
        </button>
      </div>
      <ErrorNote error={error} />
      {data === null ? (
        <p>Loading…</p>
      ) : data.queues.length === 0 ? (
        <p>No message queues yet.</p>
      ) : (
        <table>
          <caption class="sr-only">Message queues of {application}</caption>
          <thead>
            <tr>
              <th scope="col">Queue</th>
              <th scope="col" class="num">Partitions</th>
              <th scope="col">Type</th>
              <th scope="col" class="num">Messages</th>
            </tr>
          </thead>
          <tbody>
            {data.queues.map((q) => (
              <tr key={q.queue_name}>
                <th scope="row">
                  <a href={href('messages', q.queue_name)}>{q.queue_name}</a>
                </th>
                <td class="num">{q.partitions}</td>
                <td>{q.type}</td>
                <td class="num">{q.count ?? '–'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

const resumeKey = (application: string, queue: string): string => `holdline.console.tail.${application}/${queue}`;

function savedResume(application: string, queue: string): Record<string, string> | null {
  try {
    const raw = sessionStorage.getItem(resumeKey(application, queue));
    return raw === null ? null : (JSON.parse(raw) as Record<string, string>);
  } catch {
    return null;
  }
}

const bodyText = (m: Message): string => (typeof m.body === 'string' ? m.body : `(${m.body.byteLength} bytes)`);

export function MessageTailView(props: { credentials: Credentials; client: HoldlineClient; application: string; queue: string }) {
  const { credentials, client, application, queue } = props;
  const info = useLoad(() => api<QueueDetails>(credentials, 'GET', `${path(application, queue)}/info`), [application, queue]);
  const [messages, setMessages] = useState<Message[]>([]);
  const [status, setStatus] = useState('Connecting…');
  const [warnings, setWarnings] = useState<string[]>([]);
  const [error, setError] = useState<string | null>(null);
  const partitions = info.data?.partitions ?? null;

  useEffect(() => {
    if (partitions === null) return;
    let sub: Subscription | null = null;
    let stopped = false;
    const seen = new Set<string>();
    const add = (list: Message[]): void => {
      const fresh = list.filter((m) => !seen.has(m.message_id));
      for (const m of fresh) seen.add(m.message_id);
      if (fresh.length === 0) return;
      setMessages((old) => [...fresh.reverse(), ...old].slice(0, SHOWN));
    };
    const all = Array.from({ length: partitions }, (_, i) => i + 1);
    (async () => {
      // The newest messages for context, then everything after the saved resume point (or after
      // the oldest message shown) and live ones; ids already shown are skipped.
      const recent = await client.history(application, queue, { partitions: all, limit: 50, order: 'descending' });
      if (stopped) return;
      add([...recent.messages].reverse());
      const resume = savedResume(application, queue);
      const oldest = recent.messages.reduce((min, m) => Math.min(min, m.timestamp), Number.POSITIVE_INFINITY);
      const from = resume !== null ? { after: resume } : { since: Number.isFinite(oldest) ? oldest : 0 };
      sub = client.subscribe(application, queue, { partitions: all, ...from }, (m) => {
        add([m]);
        sessionStorage.setItem(resumeKey(application, queue), JSON.stringify(sub?.lastMessageIds() ?? {}));
      });
      sub.on('recovery', (r) => {
        if (!r.recovered) setWarnings((w) => [...w, `Partition ${r.partition}: messages may be missing (the resume point expired).`]);
      });
      sub.on('ended', (end) => !stopped && setStatus(`Tail ended: ${'reason' in end ? end.reason : 'error'}`));
      await sub.ready;
      if (!stopped) setStatus(resume !== null ? 'Live (resumed where this tab left off)' : 'Live');
    })().catch((err: unknown) => !stopped && setError(errorText(err)));
    return () => {
      stopped = true;
      void sub?.unsubscribe();
    };
  }, [client, application, queue, partitions]);

  return (
    <section aria-labelledby="tail-title">
      <p class="crumbs">
        <a href={href('messages')}>Message queues</a> ›
      </p>
      <h2 id="tail-title">{queue}</h2>
      <ErrorNote error={info.error ?? error} />
      <p class="live-status" data-tail-status>
        {status}
      </p>
      {warnings.map((w) => (
        <p class="warn" key={w}>
          {w}
        </p>
      ))}
      {partitions === null ? null : <PostForm client={client} application={application} queue={queue} partitions={partitions} />}
      <h3 id="tail-list-title">Newest first</h3>
      {messages.length === 0 ? (
        <p>No messages yet.</p>
      ) : (
        <table class="tail" aria-labelledby="tail-list-title">
          <thead>
            <tr>
              <th scope="col">Time (UTC)</th>
              <th scope="col" class="num">Partition</th>
              <th scope="col" class="num">Seq</th>
              <th scope="col">Body</th>
            </tr>
          </thead>
          <tbody>
            {messages.map((m) => (
              <tr key={m.message_id} data-message={m.message_id}>
                <td class="mono">{clock(m.timestamp)}</td>
                <td class="num">{m.partition}</td>
                <td class="num">{m.seq}</td>
                <td class="body">{bodyText(m)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function PostForm(props: { client: HoldlineClient; application: string; queue: string; partitions: number }) {
  const [body, setBody] = useState('');
  const [partition, setPartition] = useState(1);
  const [ttl, setTtl] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    try {
      const message = ttl === '' ? { body, partition } : { body, partition, ttl: Number(ttl) };
      const [posted] = await props.client.publish(props.application, props.queue, message);
      setBody('');
      setError(null);
      announce(`Posted to partition ${posted?.partition} as #${posted?.seq}`);
    } catch (err) {
      setError(`Posting failed: ${errorText(err)}`);
    }
  };
  return (
    <form class="post" onSubmit={(e) => void submit(e)}>
      <h3>Post a message</h3>
      <label for="post-body">Body</label>
      <textarea id="post-body" rows={3} value={body} onInput={(e) => setBody(e.currentTarget.value)} required />
      <div class="row">
        <label for="post-partition">Partition</label>
        <select id="post-partition" value={partition} onChange={(e) => setPartition(Number(e.currentTarget.value))}>
          {Array.from({ length: props.partitions }, (_, i) => (
            <option key={i + 1} value={i + 1}>
              {i + 1}
            </option>
          ))}
        </select>
        <label for="post-ttl">TTL (seconds, optional)</label>
        <input id="post-ttl" type="number" min={1} value={ttl} onInput={(e) => setTtl(e.currentTarget.value)} class="narrow" />
        <button type="submit">Post</button>
      </div>
      <ErrorNote error={error} />
    </form>
  );
}
