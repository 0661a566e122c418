/**
 * The `holdline` command as a child process for the cli-*.test.ts suites: src/ transpiled once for
 * the run by test/global-setup.ts (the same esbuild transform tsx applies at every start, paid once),
 * or run through tsx from src/ (the `npm run dev` path), or any other command line (the built or
 * packed command). Output is collected; waitFor re-checks on every chunk. Every process is killed
 * by its PID after each test.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, inject } from 'vitest';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = path.join(ROOT, 'src/cli/main.ts');

/** The environment without any HOLDLINE_* or UWS_* setting of the machine running the tests. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HOLDLINE_') && !k.startsWith('UWS_')) env[k] = v;
  return { ...env, HOLDLINE_LOG_LEVEL: 'info', ...extra };
}

export class Cli {
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: Array<() => void> = [];

  constructor(readonly proc: ChildProcess) {
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => this.push('stdout', d));
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => this.push('stderr', d));
    this.exited = once(proc, 'exit').then(([code, signal]) => {
      for (const w of this.waiters.splice(0)) w();
      return { code: code as number | null, signal: signal as NodeJS.Signals | null };
    });
  }

  private push(stream: 'stdout' | 'stderr', d: string): void {
    this[stream] += d;
    for (const w of this.waiters.splice(0)) w();
  }

  /** JSON log lines (pino) on stdout. */
  logs(): Array<Record<string, unknown>> {
    return this.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  /** Resolves with the first value `find` returns, re-checked on every output (the test timeout bounds the wait). */
  async waitFor<T>(find: () => T | undefined): Promise<T> {
    for (;;) {
      const found = find();
      if (found !== undefined) return found;
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) {
        throw new Error(`holdline exited (${this.proc.exitCode ?? this.proc.signalCode}); stdout: ${this.stdout} stderr: ${this.stderr}`);
      }
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  listening(): Promise<number> {
    return this.waitFor(() => this.logs().find((l) => l.msg === 'listening')?.port as number | undefined);
  }
}

export const running: Cli[] = [];

/** Any command line as a tracked Cli (killed after the test if still running). */
export function spawnCli(command: string, args: string[], options: SpawnOptions = {}): Cli {
  const proc = spawn(command, args, { cwd: ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'], ...options });
  const cli = new Cli(proc);
  running.push(cli);
  return cli;
}

/** `holdline ARGS` from src/ as transpiled for this run; `stdin: 'pipe'` to write to it. */
export function holdline(args: string[], env: Record<string, string> = {}, stdin: 'ignore' | 'pipe' = 'ignore'): Cli {
  return spawnCli(process.execPath, [inject('cliMain'), ...args], { env: cleanEnv(env), stdio: [stdin, 'pipe', 'pipe'] });
}

/** `holdline ARGS` from src/ through tsx, as `npm run dev` runs it; `stdin: 'pipe'` to write to it. */
export function holdlineFromSource(args: string[], env: Record<string, string> = {}, stdin: 'ignore' | 'pipe' = 'ignore'): Cli {
  return spawnCli(process.execPath, ['--import', 'tsx', MAIN, ...args], { env: cleanEnv(env), stdio: [stdin, 'pipe', 'pipe'] });
}

afterEach(async () => {
  for (const cli of running.splice(0)) {
    if (cli.proc.exitCode === null && cli.proc.signalCode === null) {
      cli.proc.kill('SIGKILL');
      await cli.exited;
    }
  }
});

export async function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cli = holdline(args, env);
  const { code } = await cli.exited;
  return { code, stdout: cli.stdout, stderr: cli.stderr };
}

