/**
 * The console (/console, SPEC.md 3.6) in a real headless Chromium against a real Holdline on the
 * memory engine: sign in, live call queues (estimated waits, an offer accepted by an agent's SDK),
 * supervisor actions, the message tail, the operator's
 * view, a wrong key, accessibility (axe-core) and the page's own security headers. Screenshots go
 * to test/artifacts/console/ (gitignored).
 */
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import axe from 'axe-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentSession, HoldlineClient, type Offer } from '../../src/client/index.js';
import { MemoryCallStore } from '../../src/engine/memory/calls.js';
import { MemoryEngine } from '../../src/engine/memory/index.js';
import type { Engine } from '../../src/engine/types.js';
import { CONSOLE_CSP } from '../../src/server/console.js';
import { createWebSocketEndpoint } from '../../src/server/ws/index.js';
import { ARTIFACTS, buildConsole, launchChromium } from '../helpers/browser.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

let engine: Engine;
let callStore: MemoryCallStore;
let server: TestServer;
let consoleDir: string;
let sizes: Record<string, number>;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let app: { name: string; key: string };
/** Errors the page logged (CSP violations included) or threw. */
const pageErrors: string[] = [];

const J = { 'content-type': 'application/json' };

async function rest<T = any>(method: string, url: string, body?: unknown, expected?: number): Promise<T> {
  const res = await server.request(url, { method, key: app.key, headers: J, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  if (expected !== undefined) expect(res.status, `${method} ${url}`).toBe(expected);
  const text = await res.text();
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

async function shot(name: string, target: Page = page): Promise<void> {
  await target.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

function watchErrors(p: Page): void {
  p.on('console', (m) => {
    if (process.env.CONSOLE_DEBUG) console.log('PAGE', m.type(), m.text());
    if (m.type() === 'error') pageErrors.push(m.text());
  });
  p.on('pageerror', (err) => pageErrors.push(err.message));
}

async function signIn(p: Page, key: string, kind: 'application' | 'admin' = 'application'): Promise<void> {
  await p.goto(`${server.url}/console`);
  if (kind === 'admin') await p.getByLabel('the operator key').check();
  await p.getByLabel('Key', { exact: true }).fill(key);
  await p.getByRole('button', { name: 'Sign in' }).click();
}

/** axe-core in the page (run through the DevTools protocol, which the page's CSP does not govern). */
async function seriousViolations(p: Page): Promise<string[]> {
  await p.evaluate(axe.source);
  const result = (await p.evaluate(() => (window as any).axe.run(document, { resultTypes: ['violations'] }))) as axe.AxeResults;
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}

const nav = (name: string) => page.getByRole('navigation').getByRole('link', { name });
const row = (attr: string, id: string) => page.locator(`tr[data-${attr}="${id}"]`);

beforeAll(async () => {
  ({ dir: consoleDir, sizes } = await buildConsole());
  const memory = new MemoryEngine();
  engine = memory;
  await engine.start();
  // Call-queue changes recorded in the engine's event log, as `holdline serve` wires them.
  callStore = new MemoryCallStore({ events: memory.events });
  server = await startTestServer(engine, {}, { consoleDir, callStore, mounts: [createWebSocketEndpoint().mount] });
  app = await server.createApp();
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(10_000);
  page = await context.newPage();
  watchErrors(page);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await callStore?.close();
  await engine?.close();
  if (consoleDir !== undefined) rmSync(consoleDir, { recursive: true, force: true });
});

describe('the console in Chromium', () => {
  let queue: string;
  let agent: string;
  const callers: Record<string, string> = {};

  it('says clearly that a wrong key was not accepted', async () => {
    await signIn(page, 'not-a-key');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/key was not accepted/);
    await shot('wrong-key');
    expect(await seriousViolations(page)).toEqual([]);
    // Still on the sign-in form, nothing kept.
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
  });

  it('signs in with an application key and shows every call queue live', async () => {
    queue = (await rest('POST', '/v1/queues', { name: 'support', description: 'Technical support' }, 201)).uuid;
    agent = (await rest('POST', '/v1/agents', { name: 'Alice' }, 201)).uuid;
    await rest('POST', `/v1/queues/${queue}/members`, { agent_id: agent, number: '1001@example.org' }, 201);
    const started = Date.now();
    await signIn(page, app.key);
    await page.getByText('Live', { exact: true }).waitFor();
    await row('queue', queue).locator('[data-field="waiting"]').filter({ hasText: '0' }).waitFor();
    const liveMs = Date.now() - started;
    const timing = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      return { domContentLoaded: Math.round(nav.domContentLoadedEventEnd), load: Math.round(nav.loadEventEnd) };
    });
    console.info(`console: page loaded in ${timing.load} ms (DOMContentLoaded ${timing.domContentLoaded} ms); from opening the page to live data, sign-in included, ${liveMs} ms; bundle ${JSON.stringify(sizes)}`);
    expect(await page.locator('header .who').textContent()).toBe(app.name);
    // The key is kept for this tab (sessionStorage), nowhere else.
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    expect(await page.evaluate(() => sessionStorage.getItem('holdline.console.credentials'))).toContain(app.key);
    // A caller joining shows on the overview too.
    callers.first = (await rest('POST', `/v1/queues/${queue}/callers`, { name: 'Ann', number: '6135550001' }, 201)).uuid;
    await row('queue', queue).locator('[data-field="waiting"]').filter({ hasText: '1' }).waitFor();
    await shot('queues');
    expect(await seriousViolations(page)).toEqual([]);
  });

  it('shows a caller joined through REST with its position within a second, and moves the others up on a leave', async () => {
    await page.getByRole('link', { name: 'support' }).click();
    await row('caller', callers.first!).waitFor();
    for (const [name, number] of [
      ['Bob', '6135550002'],
      ['Cid', '6135550003'],
    ] as const) {
      const joined = await rest('POST', `/v1/queues/${queue}/callers`, { name, number }, 201);
      callers[name] = joined.uuid;
      // SPEC/issue 17: the caller appears with its position within a second.
      await row('caller', joined.uuid).locator('[data-field="position"]').filter({ hasText: String(joined.position + 1) }).waitFor({ timeout: 1000 });
    }
    await shot('queue-three-callers');
    await rest('DELETE', `/v1/queues/${queue}/callers/${callers.first}?reason=answered`, undefined, 204);
    await row('caller', callers.first!).waitFor({ state: 'detached' });
    await row('caller', callers.Bob!).locator('[data-field="position"]').filter({ hasText: /^1$/ }).waitFor();
    await row('caller', callers.Cid!).locator('[data-field="position"]').filter({ hasText: /^2$/ }).waitFor();
    const listed = await rest<Array<{ uuid: string; position: number }>>('GET', `/v1/queues/${queue}/callers`);
    expect(listed.map((c) => [c.uuid, c.position])).toEqual([
      [callers.Bob, 0],
      [callers.Cid, 1],
    ]);
  });

  it('pauses and unpauses a member from the page (with the keyboard), and REST shows it', async () => {
    const member = row('member', agent);
    await member.getByLabel('Pause reason for Alice').fill('lunch');
    await member.getByLabel('Pause reason for Alice').press('Enter');
    await until(async () => (await rest('GET', `/v1/queues/${queue}/members/${agent}`)).paused === true, { what: 'member paused over REST' });
    expect((await rest('GET', `/v1/queues/${queue}/members/${agent}`)).pause_reason).toBe('lunch');
    await member.locator('[data-field="state"]').filter({ hasText: 'Paused' }).waitFor();
    await shot('queue-member-paused');
    await member.getByRole('button', { name: 'Unpause Alice' }).focus();
    await page.keyboard.press('Enter');
    await until(async () => (await rest('GET', `/v1/queues/${queue}/members/${agent}`)).paused === false, { what: 'member unpaused over REST' });
    await member.locator('[data-field="state"]').filter({ hasText: 'Available' }).waitFor();
  });

  it("changes a caller's priority from the page: REST shows it and the line reorders", async () => {
    const cid = row('caller', callers.Cid!);
    await cid.getByLabel('Priority of Cid').fill('5');
    await cid.getByRole('button', { name: 'Set' }).click();
    await until(async () => (await rest('GET', `/v1/queues/${queue}/callers/${callers.Cid}`)).priority === 5, { what: 'priority over REST' });
    await cid.locator('[data-field="position"]').filter({ hasText: /^1$/ }).waitFor();
    await row('caller', callers.Bob!).locator('[data-field="position"]').filter({ hasText: /^2$/ }).waitFor();
    // A refused change (out of range) says why and changes nothing.
    await cid.getByLabel('Priority of Cid').fill('1000000000000');
    await cid.getByRole('button', { name: 'Set' }).click();
    await page.getByRole('alert').filter({ hasText: /failed/ }).waitFor();
    expect((await rest('GET', `/v1/queues/${queue}/callers/${callers.Cid}`)).priority).toBe(5);
  });

  it("shows each waiting caller's estimated wait, as REST estimates it", async () => {
    await page.getByRole('columnheader', { name: 'Estimated wait' }).waitFor();
    const listed = await rest<Array<{ uuid: string; estimated_wait: number | null }>>('GET', `/v1/queues/${queue}/callers`, undefined, 200);
    // Cid heads the line and Alice is available: offered at once, so 0 on both sides.
    expect(listed.find((c) => c.uuid === callers.Cid)?.estimated_wait).toBe(0);
    await row('caller', callers.Cid!).locator('[data-field="estimate"]').filter({ hasText: /^0:00$/ }).waitFor();
    // Bob, second, waits for Alice's call (an average handle time) and counts down from there.
    const bob = listed.find((c) => c.uuid === callers.Bob)?.estimated_wait;
    expect(bob).toBeGreaterThan(0);
    await row('caller', callers.Bob!).locator('[data-field="estimate"]').filter({ hasText: /^\d+:\d\d$/ }).waitFor();
    const shown = (await row('caller', callers.Bob!).locator('[data-field="estimate"]').textContent())!;
    const [m, sec] = shown.split(':').map(Number);
    expect(m! * 60 + sec!).toBeLessThanOrEqual(Math.ceil(bob!));
    expect(await seriousViolations(page)).toEqual([]);
  });

  it('shows an offer in flight, then the caller connected and the offer gone when the agent accepts it through the SDK', async () => {
    const sales = (await rest('POST', '/v1/queues', { name: 'sales' }, 201)).uuid as string;
    const dana = (await rest('POST', '/v1/agents', { name: 'Dana' }, 201)).uuid as string;
    await rest('POST', `/v1/queues/${sales}/members`, { agent_id: dana, number: '1002@example.org' }, 201);
    // Long enough that the offer cannot time out while the page is looked at.
    await rest('PUT', `/v1/queues/${sales}/routing`, { strategy: 'longest_idle', offer_timeout_seconds: 600 }, 200);
    const token = (await rest('POST', `/v1/agents/${dana}/tokens`, {}, 201)).token as string;
    const client = new HoldlineClient({ urls: `${server.url.replace(/^http/, 'ws')}/v1/ws`, token });
    const session = new AgentSession(client, { httpUrl: server.url, token });
    const offers: Offer[] = [];
    session.on('offer', (o) => offers.push(o));
    try {
      await client.connect();
      await nav('Call queues').click();
      await page.getByRole('link', { name: 'sales' }).click();
      await page.getByRole('heading', { name: 'Offers in flight' }).waitFor();
      await page.locator('[data-empty="offers"]').waitFor();

      const eve = (await rest('POST', `/v1/queues/${sales}/callers`, { name: 'Eve', number: '6135550005' }, 201)).uuid as string;
      const offer = page.locator(`tr[data-caller-id="${eve}"]`);
      await offer.waitFor();
      expect(await offer.getByRole('rowheader').textContent()).toBe('Eve');
      await offer.locator('[data-field="agents"]').filter({ hasText: /^Dana$/ }).waitFor();
      expect(await offer.locator('[data-field="deadline"]').textContent()).toMatch(/^\d+:\d\d$/);
      await row('caller', eve).locator('[data-field="status"]').filter({ hasText: 'ringing' }).waitFor();
      await shot('queue-offer');
      expect(await seriousViolations(page)).toEqual([]);

      // The agent's desktop got the same offer; it accepts it over its WebSocket.
      await until(() => offers.length === 1, { what: 'the offer at the agent' });
      expect(await offer.getAttribute('data-offer')).toBe(offers[0]!.offer_id);
      await session.accept(offers[0]!);
      await row('caller', eve).locator('[data-field="status"]').filter({ hasText: 'connected' }).waitFor();
      await page.locator('[data-empty="offers"]').waitFor();
      expect(await page.locator('tr[data-offer]').count()).toBe(0);
      await row('member', dana).locator('[data-field="state"]').filter({ hasText: 'Busy' }).waitFor();
      expect(await rest('GET', `/v1/queues/${sales}/offers`, undefined, 200)).toEqual([]);
      await shot('queue-offer-accepted');
    } finally {
      session.close();
      await client.close();
    }
    // Back to the queue the next tests read.
    await nav('Call queues').click();
    await page.getByRole('link', { name: 'support' }).click();
    await row('caller', callers.Cid!).waitFor();
  });

  it('has no serious accessibility violations (axe-core) and a large-type wallboard mode', async () => {
    expect(await seriousViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Wallboard' }).click();
    await page.locator('html.wallboard').waitFor({ state: 'attached' });
    expect(await page.getByRole('button', { name: 'Wallboard' }).getAttribute('aria-pressed')).toBe('true');
    await shot('queue-wallboard');
    expect(await seriousViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Wallboard' }).click();
    await page.locator('html:not(.wallboard)').waitFor({ state: 'attached' });
    // A reload keeps the tab signed in (sessionStorage). Keyboard: the skip button comes first, and
    // moves the focus to the content.
    await page.reload();
    await row('caller', callers.Cid!).waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
  });

  it('shows agents with their tags and their live state per queue', async () => {
    const tag = await rest('POST', '/v1/tags', { tag: 'french' }, 201);
    await rest('POST', `/v1/tags/${tag.id}/agents`, { agent_id: agent }, 201);
    await nav('Agents and tags').click();
    const alice = row('agent', agent);
    await alice.getByText('french').waitFor();
    await alice.getByText('Available').waitFor();
    await rest('PUT', `/v1/queues/${queue}/members/${agent}`, { paused: true, pause_reason: 'training' }, 200);
    await alice.getByText('Paused').waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await shot('agents');
  });

  it('filters the event log: the stored matching events (GET /v1/events), then live ones, and only those', async () => {
    await nav('Events').click();
    await page.locator('[data-events-status]').filter({ hasText: /^Live/ }).waitFor();
    await page.getByLabel('Event type').fill('queue.member.pause');
    await page.getByLabel('Trait').fill('queue_id');
    await page.getByLabel('equals').fill(queue);
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.locator('[data-events-status]').filter({ hasText: /^Live/ }).waitFor();
    const member = `/v1/queues/${queue}/members/${agent}`;
    await rest('PUT', member, { paused: false }, 200);
    await rest('POST', `/v1/queues/${queue}/callers`, { name: 'Dee', number: '6135550004' }, 201);
    await rest('PUT', member, { paused: true, pause_reason: 'coffee' }, 200);
    await rest('PUT', member, { paused: false }, 200);
    await rest('PUT', member, { paused: true, pause_reason: 'meeting' }, 200);
    // Stored: the pauses of the earlier tests (lunch, training); live: coffee and meeting.
    await until(async () => (await page.locator('tr[data-event]').count()) === 4, { what: 'four pause events' });
    expect(await page.locator('tr[data-event]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-type')))).toEqual(Array(4).fill('queue.member.pause'));
    const reasons = await page.locator('tr[data-event]').evaluateAll((rows) => rows.map((r) => /pause_reason=(\w+)/.exec(r.textContent ?? '')?.[1]));
    // Newest first.
    expect(reasons).toEqual(['meeting', 'coffee', 'training', 'lunch']);
    // The same rows as the REST query with the same filter.
    const stored = await rest<Array<{ message_id: string }>>('GET', `/v1/events?q.field=event_type&q.value=queue.member.pause&q.field=queue_id&q.value=${queue}&sort=generated:desc`, undefined, 200);
    expect(await page.locator('tr[data-event]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-event')))).toEqual(stored.map((e) => e.message_id));
    expect(await seriousViolations(page)).toEqual([]);
    await shot('events');
    await rest('PUT', member, { paused: false }, 200);
  });

  it('tails a message queue live: a message posted over REST shows, and the tail resumes after leaving', async () => {
    await rest('POST', `/${app.name}`, { queue_name: 'calls', partitions: 2 }, 201);
    await rest('POST', `/${app.name}/calls`, { messages: [{ body: 'before the page', partition: 1 }] }, 201);
    await nav('Message queues').click();
    await page.getByRole('link', { name: 'calls' }).click();
    await page.locator('[data-tail-status]').filter({ hasText: /^Live/ }).waitFor();
    await page.getByRole('cell', { name: 'before the page' }).waitFor();
    await rest('POST', `/${app.name}/calls`, { messages: [{ body: 'caller 1001 is waiting', partition: 2 }] }, 201);
    await page.getByRole('cell', { name: 'caller 1001 is waiting' }).waitFor();
    // Away, a message arrives; back, the tail delivers it (resumed), once.
    await nav('Message queues').click();
    await page.getByRole('link', { name: 'calls' }).waitFor();
    await rest('POST', `/${app.name}/calls`, { messages: [{ body: 'while away', partition: 1 }] }, 201);
    await page.getByRole('link', { name: 'calls' }).click();
    await page.locator('[data-tail-status]').filter({ hasText: 'resumed' }).waitFor();
    await page.getByRole('cell', { name: 'while away' }).waitFor();
    expect(await page.locator('tr[data-message]').count()).toBe(3);
    // Posting from the page: REST reads it.
    await page.getByLabel('Body').fill('posted from the console');
    await page.getByLabel('Partition').selectOption('2');
    await page.getByRole('button', { name: 'Post' }).click();
    await page.getByRole('cell', { name: 'posted from the console' }).waitFor();
    const read = await rest('GET', `/${app.name}/calls?partitions=2&limit=10`);
    expect(read.messages.map((m: { body: string }) => m.body)).toContain('posted from the console');
    expect(await seriousViolations(page)).toEqual([]);
    await shot('message-tail');
  });

  it('signs in with the operator key and lists applications', async () => {
    const p = await context.newPage();
    watchErrors(p);
    await signIn(p, server.adminKey, 'admin');
    await p.locator(`tr[data-app="${app.name}"]`).waitFor();
    await p.getByRole('button', { name: `Show keys of ${app.name}` }).click();
    await p.locator(`tr[data-app="${app.name}"] li`).first().waitFor();
    expect(await seriousViolations(p)).toEqual([]);
    await shot('operator', p);
    await p.close();
    // A wrong operator key is refused with a message.
    const q = await context.newPage();
    await signIn(q, 'wrong', 'admin');
    expect(await q.getByRole('alert').textContent()).toMatch(/operator key was not accepted/);
    expect(await seriousViolations(q)).toEqual([]);
    await q.close();
  });

  it('goes back to sign-in, saying why, when the server ends the session (its key revoked)', async () => {
    const admin = { authorization: `Admin ${server.adminKey}` };
    const added = (await (await server.request(`/v1/apps/${app.name}/keys`, { method: 'POST', headers: admin })).json()) as { key: string; key_id: string };
    const p = await context.newPage();
    watchErrors(p);
    await signIn(p, added.key);
    await p.getByText('Live', { exact: true }).waitFor();
    expect((await server.request(`/v1/apps/${app.name}/keys/${added.key_id}`, { method: 'DELETE', headers: admin })).status).toBe(204);
    const alert = p.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/^Signed out: the server ended the session/);
    expect(await p.evaluate(() => sessionStorage.getItem('holdline.console.credentials'))).toBeNull();
    await shot('signed-out', p);
    await p.close();
  });

  it('logged no error and no Content-Security-Policy violation', () => {
    // Expected lines: the wrong keys' refusals (the WebSocket's, 401/403) and the refused priority (400).
    expect(pageErrors.filter((e) => !/WebSocket|status of (400|401|403)/.test(e))).toEqual([]);
  });
});

describe('/console over HTTP', () => {
  it('serves the page with a CSP and no-cache, the hashed files for a year, and 404 for anything else', async () => {
    const res = await fetch(`${server.url}/console`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    // protocol/rest.md states the policy word for word.
    expect(readFileSync(path.join(import.meta.dirname, '../../protocol/rest.md'), 'utf8')).toContain(`Content-Security-Policy: ${CONSOLE_CSP}\``);
    const html = await res.text();
    const script = /src="\/console\/(main-[A-Z0-9]+\.js)"/.exec(html)![1]!;
    const asset = await fetch(`${server.url}/console/${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(asset.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect((await asset.arrayBuffer()).byteLength).toBe(sizes[script]);
    for (const bad of ['/console/main.js', '/console/..%2Fpackage.json', '/console/x/y', '/console/main-AAAAAAAA.js']) {
      const r = await fetch(`${server.url}${bad}`);
      expect(r.status, bad).toBe(404);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('not_found');
    }
    const post = await fetch(`${server.url}/console`, { method: 'POST' });
    expect(post.status).toBe(405);
  });
});
