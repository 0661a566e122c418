/**
 * The `holdline` command as a child process (src/ transpiled once for the run, test/helpers/cli.ts):
 * serve, graceful SIGTERM, refusal of uWS's JS fallback, flags over environment, apps
 * create|list|delete over REST.
 */
import { once } from 'node:events';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { holdline, run } from '../helpers/cli.js';
import { freePort } from '../helpers/redis-server.js';

// Every case starts `holdline` child processes: up to a second each on a loaded 2-core machine. The
// timeout bounds a hang; it says nothing about speed.
const CHILD_PROCESS_TIMEOUT_MS = 120_000;

describe('holdline serve', { timeout: CHILD_PROCESS_TIMEOUT_MS }, () => {
  it('serves on the port it logs, and exits 0 on SIGTERM after finishing the request in flight', async () => {
    const cli = holdline(['serve', '--port', '0', '--admin-key', 'sekrit'], { HOLDLINE_PORT: '1' });
    const port = await cli.listening();
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);

    // Half a request in flight when the signal arrives.
    const sock = net.connect(port, '127.0.0.1');
    await once(sock, 'connect');
    const body = '{"name":"inflight"}';
    let reply = '';
    const continued = new Promise<void>((resolve) => {
      sock.setEncoding('utf8').on('data', (d: string) => {
        reply += d;
        if (reply.includes('100 Continue')) resolve();
      });
    });
    // Expect: 100-continue — uWS answers "100 Continue" in the same event-loop turn in which it hands
    // the request to Holdline, so once it arrives the request is in flight. Then the signal.
    sock.write(
      `POST /v1/apps HTTP/1.1\r\nHost: x\r\nAuthorization: Admin sekrit\r\nContent-Type: application/json\r\n` +
        `Expect: 100-continue\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    await continued;
    cli.proc.kill('SIGTERM');
    await cli.waitFor(() => cli.logs().find((l) => l.msg === 'shutting down'));
    sock.write(body);
    await once(sock, 'close');
    expect(reply).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 201 /);
    expect(reply).toContain('"application_name":"inflight"');

    const { code, signal } = await cli.exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(cli.logs().map((l) => l.msg)).toEqual(expect.arrayContaining(['listening', 'shutting down', 'server closed', 'stopped']));
  });

  it('exits 0 on SIGINT too', async () => {
    const cli = holdline(['serve', '--port', '0']);
    await cli.listening();
    cli.proc.kill('SIGINT');
    expect((await cli.exited).code).toBe(0);
  });

  it('exits on SIGTERM when the reader of its log is gone (EPIPE), as `npm start | pino-pretty` stopped with Ctrl-C', async () => {
    const cli = holdline(['serve', '--port', '0']);
    await cli.listening();
    // The pipe's reading end closed: every log line from now on meets EPIPE.
    cli.proc.stdout!.destroy();
    cli.proc.kill('SIGTERM');
    // A bound on a hang, not a speed target: the asynchronous log destination retried its flush at exit forever.
    const hang = new Promise<'hang'>((resolve) => setTimeout(() => resolve('hang'), 30_000).unref());
    expect(await Promise.race([cli.exited, hang])).toEqual({ code: 0, signal: null });
  });

  it('refuses uWS\'s JS fallback with a clear message, unless allowed', async () => {
    // Both processes at once: neither depends on the other.
    const allowed = holdline(['serve', '--port', '0', '--allow-uws-fallback'], { UWS_USE_FALLBACK: '1' });
    const refused = await run(['serve', '--port', '0'], { UWS_USE_FALLBACK: '1' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('refuses to run on the slow pure-JS fallback');
    expect(refused.stderr).toContain('--allow-uws-fallback');
    expect(refused.stdout).not.toContain('listening');

    const port = await allowed.listening();
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    allowed.proc.kill('SIGTERM');
    expect((await allowed.exited).code).toBe(0);
  });

  it('prints a bootstrap application\'s key, which then works', async () => {
    const cli = holdline(['serve', '--port', '0', '--bootstrap-app', 'demo']);
    const port = await cli.listening();
    const key = await cli.waitFor(() => /created application demo; its key \(shown once\): (\S+)/.exec(cli.stderr)?.[1]);
    const res = await fetch(`http://127.0.0.1:${port}/demo`, { method: 'POST', headers: { authorization: `Application ${key}` } });
    expect(res.status).toBe(201);
    cli.proc.kill('SIGTERM');
    expect((await cli.exited).code).toBe(0);
  });

  it('exits 2 on usage errors and bad configuration', async () => {
    // Independent processes, run at once.
    const [unknownFlag, badEngine, badPort, unknownCommand, help] = await Promise.all([
      run(['serve', '--prot', '1']),
      run(['serve', '--engine', 'mongo']),
      run(['serve'], { HOLDLINE_PORT: 'eighty' }),
      run(['frobnicate']),
      run(['help']),
    ]);
    expect(unknownFlag.code).toBe(2);
    expect(unknownFlag.stderr).toContain("unknown option '--prot'");
    expect(unknownFlag.stderr).toContain('Did you mean --port?');
    expect([badEngine.code, badEngine.stderr]).toEqual([2, 'holdline: --engine must be one of memory, redis, got "mongo"\n']);
    expect([badPort.code, badPort.stderr]).toEqual([2, expect.stringContaining('HOLDLINE_PORT')]);
    expect(unknownCommand.code).toBe(2);
    expect([help.code, help.stdout]).toEqual([0, expect.stringContaining('apps')]);
  });
});

describe('holdline apps (admin REST routes, any engine)', { timeout: CHILD_PROCESS_TIMEOUT_MS }, () => {
  it('creates, lists and deletes applications on a running memory server; a second create says the name is taken', async () => {
    const server = holdline(['serve', '--port', '0', '--admin-key', 'sekrit']);
    const port = await server.listening();
    const env = { HOLDLINE_URL: `http://127.0.0.1:${port}`, HOLDLINE_ADMIN_KEY: 'sekrit' };
    const created = await run(['apps', 'create', 'billing'], env);
    expect(created.code).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^\S{16,}$/);
    expect(created.stderr).toContain('created application billing');
    const ok = await fetch(`http://127.0.0.1:${port}/billing`, { headers: { authorization: `Application ${key}` } });
    expect(ok.status).toBe(200);

    const again = await run(['apps', 'create', 'billing'], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('application billing already exists');
    expect(again.stderr).toContain('holdline apps keys create billing');
    expect(again.stdout).toBe('');
    const [invalid, listed] = await Promise.all([run(['apps', 'create', 'healthz'], env), run(['apps', 'list'], env)]);
    expect(invalid.stderr).toContain('invalid_name');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^billing\t\d{4}-\d\d-\d\dT/);

    const deleted = await run(['apps', 'delete', 'billing'], env);
    expect(deleted.code).toBe(0);
    const refused = await fetch(`http://127.0.0.1:${port}/billing`, { headers: { authorization: `Application ${key}` } });
    expect(refused.status).toBe(401);
    const gone = await run(['apps', 'delete', 'billing'], env);
    expect([gone.code, gone.stderr]).toEqual([1, expect.stringContaining('app_not_found')]);
    expect((await run(['apps', 'list'], env)).stdout).toBe('');
  });

  // The key routes (GET|POST /v1/apps/{name}/keys, POST …/{key_id}/rotate, DELETE …/{key_id}) come
  // from a branch built in parallel: skipped, visibly, on a server that does not have them yet.
  it('lists, creates, rotates and revokes keys; the old key works through the grace period', async (ctx) => {
    const server = holdline(['serve', '--port', '0', '--admin-key', 'sekrit']);
    const port = await server.listening();
    const url = `http://127.0.0.1:${port}`;
    const env = { HOLDLINE_URL: url, HOLDLINE_ADMIN_KEY: 'sekrit' };
    const first = (await run(['apps', 'create', 'billing'], env)).stdout.trim();
    const probe = await fetch(`${url}/v1/apps/billing/keys`, { headers: { authorization: 'Admin sekrit' } });
    if (probe.status === 404 && ((await probe.json()) as { error: { code: string } }).error.code === 'not_found') {
      ctx.skip('this server has no /v1/apps/{name}/keys routes yet');
    }
    const works = async (key: string): Promise<boolean> =>
      (await fetch(`${url}/billing`, { headers: { authorization: `Application ${key}` } })).status === 200;

    const listed = await run(['apps', 'keys', 'list', 'billing'], env);
    expect(listed.code).toBe(0);
    const [firstId] = listed.stdout.trim().split('\n').map((l) => l.split('\t')[0]!);
    expect(firstId).toBeDefined();

    const added = await run(['apps', 'keys', 'create', 'billing'], env);
    expect(added.code).toBe(0);
    const second = added.stdout.trim();
    expect(await works(second)).toBe(true);

    const rotated = await run(['apps', 'keys', 'rotate', 'billing', firstId!, '--grace', '3600'], env);
    expect(rotated.code).toBe(0);
    expect(rotated.stderr).toContain(`replaces ${firstId}`);
    const third = rotated.stdout.trim();
    expect([await works(first), await works(third)]).toEqual([true, true]);

    expect((await run(['apps', 'keys', 'revoke', 'billing', firstId!], env)).code).toBe(0);
    expect([await works(first), await works(second), await works(third)]).toEqual([false, true, true]);
  });

  it('says what is missing: the operator key, or a server to talk to', async () => {
    const closed = await freePort(); // nothing listens there
    const [noKey, noServer] = await Promise.all([run(['apps', 'list']), run(['apps', 'list', '--admin-key', 'x', '--url', `http://127.0.0.1:${closed}`])]);
    expect([noKey.code, noKey.stderr]).toEqual([2, expect.stringContaining('--admin-key or HOLDLINE_ADMIN_KEY')]);
    expect(noServer.code).toBe(1);
    expect(noServer.stderr).toContain(`holdline: cannot reach Holdline at http://127.0.0.1:${closed} (ECONNREFUSED)`);
    expect(noServer.stderr.split('\n')).toHaveLength(2);
  });

  it('needs a name for create and delete', async () => {
    const runs = await Promise.all([run(['apps', 'create', '--admin-key', 'x']), run(['apps', 'list', 'x', '--admin-key', 'x']), run(['apps', 'drop', 'x'])]);
    expect(runs.map((r) => r.code)).toEqual([2, 2, 2]);
  });

  it('has no `apps revoke`: one word from `apps keys revoke`, an alias of delete removed the whole application', async () => {
    const r = await run(['apps', 'revoke', 'billing', '--admin-key', 'x', '--url', 'http://127.0.0.1:1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command 'revoke'");
  });
});
