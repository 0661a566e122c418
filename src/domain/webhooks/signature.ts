/**
 * The signature of a webhook POST (protocol/webhooks.md "Signature"): the receiver recomputes
 * HMAC-SHA256(secret, `${timestamp}.${body}`) over the raw body and compares it in constant time
 * with the `v1=` value of Holdline-Signature; it rejects a Holdline-Timestamp further than its
 * tolerance from its own clock (a replayed request carries an old timestamp, and the timestamp
 * cannot be changed without the secret), and de-duplicates by Holdline-Event-Id (delivery is at
 * least once).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'holdline-signature';
export const TIMESTAMP_HEADER = 'holdline-timestamp';
export const EVENT_ID_HEADER = 'holdline-event-id';
export const EVENT_TYPE_HEADER = 'holdline-event-type';
export const WEBHOOK_ID_HEADER = 'holdline-webhook-id';

/** How far from now a receiver should accept a timestamp (the default of verifySignature), seconds. */
export const DEFAULT_TOLERANCE_S = 300;

/** The Holdline-Signature value of `body` sent at `timestamp` (epoch seconds). */
export function sign(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * What a receiver checks (used by the tests as a receiver would): a `v1=` signature of this body
 * at this timestamp, and a timestamp within `toleranceS` of `nowS`.
 */
export function verifySignature(
  secret: string,
  headers: { signature: string | undefined; timestamp: string | undefined },
  body: string,
  nowS: number = Date.now() / 1000,
  toleranceS: number = DEFAULT_TOLERANCE_S,
): boolean {
  const ts = Number(headers.timestamp);
  if (headers.signature === undefined || !Number.isInteger(ts) || Math.abs(nowS - ts) > toleranceS) return false;
  const expected = Buffer.from(sign(secret, ts, body));
  // Several signatures may be listed (comma-separated) while a secret is being replaced.
  return headers.signature.split(',').some((s) => {
    const got = Buffer.from(s.trim());
    return got.length === expected.length && timingSafeEqual(got, expected);
  });
}
