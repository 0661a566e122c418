/**
 * Real HTTP receivers on loopback for the webhook tests (protocol/webhooks.md): each records every
 * request it got (headers, raw body, whether its signature verifies) and answers by its behaviour:
 *
 *   - `ok`: 204 at once;
 *   - `failing(n)`: 500 the first n times, then 204;
 *   - `silent`: never answers (the request stays open until the client gives up);
 *   - `slow`: answers only when the test calls release() (so "slow" is an order, not a duration);
 *   - `down`: 500 until the test calls release(), then 204.
 */
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifySignature } from '../../src/domain/webhooks/signature.js';

export interface ReceivedHook {
  eventId: string;
  eventType: string;
  webhookId: string;
  timestamp: string;
  signature: string;
  body: string;
  /** The signature verified with the receiver's secret (set by the test). */
  verified: boolean;
  /** Answered with a 2xx (false: failed, still open, or dropped). */
  accepted: boolean;
}

export type Behaviour = { kind: 'ok' } | { kind: 'failing'; times: number } | { kind: 'silent' } | { kind: 'slow' } | { kind: 'down' };

export interface Receiver {
  url: string;
  received: ReceivedHook[];
  /** Event ids answered 2xx, in order (duplicates included). */
  accepted(): string[];
  /** The secret signatures are checked with. */
  secret: string;
  /** Slow receivers: answers every request held so far with 204. Down ones: 204 from now on. */
  release(): void;
  /** Requests being held (slow and silent). */
  held(): number;
  close(): Promise<void>;
}

export async function startReceiver(behaviour: Behaviour, secret = ''): Promise<Receiver> {
  const received: ReceivedHook[] = [];
  const holding: Array<{ res: ServerResponse; hook: ReceivedHook }> = [];
  let failuresLeft = behaviour.kind === 'failing' ? behaviour.times : 0;
  let down = behaviour.kind === 'down';
  const receiver: Receiver = {
    url: '',
    received,
    secret,
    accepted: () => received.filter((r) => r.accepted).map((r) => r.eventId),
    release: () => {
      down = false;
      for (const { res, hook } of holding.splice(0)) {
        if (res.destroyed) continue;
        hook.accepted = true;
        res.writeHead(204).end();
      }
    },
    held: () => holding.filter((h) => !h.res.destroyed).length,
    close: async () => {
      for (const { res } of holding.splice(0)) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const header = (req: IncomingMessage, name: string): string => String(req.headers[name] ?? '');
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const hook: ReceivedHook = {
        eventId: header(req, 'holdline-event-id'),
        eventType: header(req, 'holdline-event-type'),
        webhookId: header(req, 'holdline-webhook-id'),
        timestamp: header(req, 'holdline-timestamp'),
        signature: header(req, 'holdline-signature'),
        body,
        verified: verifySignature(receiver.secret, { signature: req.headers['holdline-signature'] as string | undefined, timestamp: req.headers['holdline-timestamp'] as string | undefined }, body),
        accepted: false,
      };
      received.push(hook);
      if (behaviour.kind === 'silent' || behaviour.kind === 'slow') {
        holding.push({ res, hook });
        return;
      }
      if (down || failuresLeft > 0) {
        if (!down) failuresLeft--;
        res.writeHead(500).end('not yet');
        return;
      }
      hook.accepted = true;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return receiver;
}
