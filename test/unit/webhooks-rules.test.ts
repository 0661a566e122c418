/**
 * The rules of webhooks and the event tail that need no server: the allow-list, URL checks, the
 * type filter, the signature a receiver verifies, the capped backoff, and the tail's conditions.
 */
import { describe, expect, it } from 'vitest';
import { parseTailFilter } from '../../src/domain/event-tail.js';
import { WebhookDispatcher } from '../../src/domain/webhooks/dispatcher.js';
import { typeMatcher } from '../../src/domain/webhooks/filter.js';
import { checkWebhookUrl, hostAllowed } from '../../src/domain/webhooks/service.js';
import { sign, verifySignature } from '../../src/domain/webhooks/signature.js';
import { MemoryWebhookStore } from '../../src/engine/memory/webhooks.js';
import type { LoggedEvent } from '../../src/engine/events.js';
import type { HoldlineError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';

describe('webhook hosts and URLs', () => {
  it('allows any host without a list; exact names, IP literals and subdomain wildcards with one', () => {
    expect(hostAllowed('10.0.0.1', [])).toBe(true);
    const list = ['crm.example.org', '*.hooks.example.com', '[::1]', '127.0.0.1'];
    expect(hostAllowed('crm.example.org', list)).toBe(true);
    expect(hostAllowed('a.hooks.example.com', list)).toBe(true);
    expect(hostAllowed('a.b.hooks.example.com', list)).toBe(true);
    expect(hostAllowed('hooks.example.com', list)).toBe(false);
    expect(hostAllowed('evilhooks.example.com', list)).toBe(false);
    expect(hostAllowed('[::1]', list)).toBe(true);
    expect(hostAllowed('169.254.169.254', list)).toBe(false);
  });

  it('takes http(s) URLs without credentials or fragments, and checks the host against the list', () => {
    expect(checkWebhookUrl('HTTPS://Hooks.Example.com:8443/x?y=1', [])).toBe('https://hooks.example.com:8443/x?y=1');
    const refused = (url: string, list: string[] = []): string => {
      try {
        checkWebhookUrl(url, list);
        return 'accepted';
      } catch (e) {
        return (e as HoldlineError).code;
      }
    };
    expect(refused('ftp://example.com/')).toBe('invalid_field');
    expect(refused('javascript:alert(1)')).toBe('invalid_field');
    expect(refused('http://user:pw@example.com/')).toBe('invalid_field');
    expect(refused('http://example.com/#frag')).toBe('invalid_field');
    expect(refused('http://[::1]:8080/', ['[::1]'])).toBe('accepted');
    expect(refused('http://localhost/', ['example.com'])).toBe('webhook_host_not_allowed');
  });
});

describe('webhook type filters', () => {
  it('matches exact types, families and everything', () => {
    const m = typeMatcher(['queue.caller.*', 'tag.create']);
    expect(m('queue.caller.leave')).toBe(true);
    expect(m('queue.caller')).toBe(false);
    expect(m('queue.member.add')).toBe(false);
    expect(m('tag.create')).toBe(true);
    expect(m('tag.create.more')).toBe(false);
    expect(typeMatcher(['*'])('anything.at.all')).toBe(true);
  });
});

describe('webhook signatures', () => {
  const body = '{"event_type":"tag.create"}';
  it('verifies its own v1 signature within the tolerance, any of several listed, and nothing altered', () => {
    const ts = 1_800_000_000;
    const sig = sign('s3cret-s3cret-s3cret', ts, body);
    expect(sig).toMatch(/^v1=[0-9a-f]{64}$/);
    const h = { signature: sig, timestamp: String(ts) };
    expect(verifySignature('s3cret-s3cret-s3cret', h, body, ts + 299)).toBe(true);
    expect(verifySignature('s3cret-s3cret-s3cret', { ...h, signature: `v1=${'0'.repeat(64)}, ${sig}` }, body, ts)).toBe(true);
    expect(verifySignature('s3cret-s3cret-s3cret', h, body, ts + 301)).toBe(false);
    expect(verifySignature('s3cret-s3cret-s3cret', h, `${body} `, ts)).toBe(false);
    expect(verifySignature('s3cret-s3cret-s3cret', { ...h, timestamp: String(ts + 1) }, body, ts)).toBe(false);
    expect(verifySignature('another-secret-here', h, body, ts)).toBe(false);
    expect(verifySignature('s3cret-s3cret-s3cret', { signature: undefined, timestamp: String(ts) }, body, ts)).toBe(false);
  });
});

describe('webhook backoff', () => {
  it('doubles from the base, capped, drawn in the upper half', () => {
    const d = new WebhookDispatcher({
      store: new MemoryWebhookStore(),
      log: { readAfter: async () => ({ events: [], oldest: 1 }), head: async () => 0, watch: async () => async () => {} },
      logger: createLogger('silent'),
      timeoutMs: 1000,
      retryBaseMs: 100,
      retryMaxMs: 1000,
      maxInFlight: 1,
      leaseMs: 1000,
      allowedHosts: [],
    });
    for (const [attempts, ceiling] of [[1, 100], [2, 200], [3, 400], [4, 800], [5, 1000], [40, 1000]] as const) {
      for (let i = 0; i < 20; i++) {
        const ms = d.backoff(attempts);
        expect(ms).toBeGreaterThanOrEqual(ceiling / 2);
        expect(ms).toBeLessThanOrEqual(ceiling);
      }
    }
  });
});

describe('event tail conditions (the same parser and matcher as GET /v1/events)', () => {
  const logged = (traits: Array<{ name: string; type: 'integer' | 'float' | 'string' | 'datetime'; value: string | number }>): LoggedEvent => ({
    seq: 1,
    generatedUs: 1_796_600_000_000_000,
    event: { message_id: '019af0c2-5d1e-7a3b-8c4d-0e1f2a3b4c5d', event_type: 'queue.caller.leave', generated: '2026-12-06T23:41:02.123456Z', traits, raw: {} },
  });
  const e = logged([
    { name: 'project_id', type: 'string', value: 'demo' },
    { name: 'reason', type: 'string', value: 'abandoned' },
    { name: 'wait', type: 'float', value: 12.5 },
    { name: 'position', type: 'integer', value: 2 },
  ]);

  it('matches event_type, and traits by name, type and op (string when no type is given)', () => {
    expect(parseTailFilter([]).matches(e)).toBe(true);
    expect(parseTailFilter([{ field: 'event_type', value: 'queue.caller.leave' }]).matches(e)).toBe(true);
    expect(parseTailFilter([{ field: 'event_type', value: 'queue.caller.join' }]).matches(e)).toBe(false);
    expect(parseTailFilter([{ field: 'reason', value: 'abandoned' }]).matches(e)).toBe(true);
    expect(parseTailFilter([{ field: 'wait', type: 'float', op: 'gt', value: '10' }]).matches(e)).toBe(true);
    expect(parseTailFilter([{ field: 'wait', type: 'float', op: 'lt', value: '10' }]).matches(e)).toBe(false);
    // No type: a string condition, which an integer trait does not meet (Panko's rule).
    expect(parseTailFilter([{ field: 'position', value: '2' }]).matches(e)).toBe(false);
    expect(parseTailFilter([{ field: 'position', type: 'integer', value: '+2' }]).matches(e)).toBe(true);
    expect(parseTailFilter([{ field: 'missing', value: 'x' }]).matches(e)).toBe(false);
  });

  it('keys equal filters alike whatever the order, and refuses what the tail does not offer', () => {
    const a = parseTailFilter([{ field: 'event_type', value: 'x' }, { field: 'wait', type: 'float', value: '1' }]);
    const b = parseTailFilter([{ field: 'wait', type: 'float', value: '1.0' }, { field: 'event_type', op: 'eq', value: 'x' }]);
    expect(a.key).toBe(b.key);
    const code = (f: () => unknown): string => {
      try {
        f();
        return 'accepted';
      } catch (err) {
        return (err as HoldlineError).code;
      }
    };
    expect(code(() => parseTailFilter([{ field: 'end_timestamp', value: '2026-01-01' }]))).toBe('invalid_query');
    expect(code(() => parseTailFilter([{ field: 'event_type', op: 'gt', value: 'a' }]))).toBe('invalid_query');
    expect(code(() => parseTailFilter([{ field: 'wait', type: 'float', value: 'fast' }]))).toBe('invalid_query');
  });
});
