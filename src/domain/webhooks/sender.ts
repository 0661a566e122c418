/**
 * One webhook POST (protocol/webhooks.md "Requests"): the event as the JSON body, signed, with a
 * timeout; redirects are not followed (a 3xx is a failure, so a URL cannot be bounced to a host the
 * allow-list refuses). 2xx is success; anything else, or no answer in time, is a failure to retry.
 * Node's fetch (undici) keeps connections to a receiver alive between deliveries.
 */
import { EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, WEBHOOK_ID_HEADER, sign } from './signature.js';

export const USER_AGENT = 'holdline-webhooks/0.1.0';

export interface PostRequest {
  url: string;
  webhookId: string;
  secret: string;
  eventId: string;
  eventType: string;
  body: string;
  timeoutMs: number;
  /** Aborted when the delivering node stops or loses the endpoint's lease. */
  signal: AbortSignal;
}

export type PostResult = { ok: true; status: number } | { ok: false; status: number | null; error: string };

export async function postEvent(req: PostRequest): Promise<PostResult> {
  const timestamp = Math.floor(Date.now() / 1000);
  const timeout = AbortSignal.timeout(req.timeoutMs);
  try {
    const res = await fetch(req.url, {
      method: 'POST',
      body: req.body,
      redirect: 'manual',
      signal: AbortSignal.any([timeout, req.signal]),
      headers: {
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
        [EVENT_ID_HEADER]: req.eventId,
        [EVENT_TYPE_HEADER]: req.eventType,
        [WEBHOOK_ID_HEADER]: req.webhookId,
        [TIMESTAMP_HEADER]: String(timestamp),
        [SIGNATURE_HEADER]: sign(req.secret, timestamp, req.body),
      },
    });
    // The answer's body is not used; reading it lets the connection be reused.
    await res.arrayBuffer().catch(() => undefined);
    if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
    return { ok: false, status: res.status, error: `HTTP ${res.status}` };
  } catch (err) {
    if (timeout.aborted) return { ok: false, status: null, error: `no answer within ${req.timeoutMs} ms` };
    if (req.signal.aborted) return { ok: false, status: null, error: 'delivery stopped on this node' };
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { ok: false, status: null, error: cause?.code ?? cause?.message ?? (err as Error).message };
  }
}
