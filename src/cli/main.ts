#!/usr/bin/env node
/**
 * The `holdline` command (SPEC.md sections 3.6 and 6), on commander. `serve` runs the server; its
 * flags come from the settings table (src/config.ts). The client verbs talk to a running server
 * over REST and the WebSocket, so they work on every engine.
 * Exit codes: 0 ok, 1 failure (one line on stderr), 2 usage or configuration error.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ConfigError, SETTINGS, SETTING_KEYS, resolveConfig, type SettingKey } from '../config.js';
import { createApp, createKey, deleteApp, listApps, listKeys, revokeKey, rotateKey } from './apps.js';
import { listCallers, watchCallers } from './callers.js';
import { tailEvents } from './events.js';
import { listQueues, publish, tail } from './messages.js';
import { CliError, type ServerTarget } from './rest.js';

/** package.json, found upwards from this file (src/cli in the repository, dist/src/cli when built). */
function packageVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'holdline' && pkg.version !== undefined) return pkg.version;
    } catch {
      // keep looking
    }
    const up = path.dirname(dir);
    if (up === dir) return 'unknown';
    dir = up;
  }
}

/**
 * Run from a repository's build (dist/src/cli/main.js beside src/): warn when src/ changed after the
 * build, since `npm start` runs the build and no longer recompiles on every start.
 */
function warnIfStale(): void {
  const here = fileURLToPath(import.meta.url);
  const root = path.resolve(path.dirname(here), '../../..');
  if (!here.endsWith(path.join('dist', 'src', 'cli', 'main.js'))) return;
  const src = path.join(root, 'src');
  let newest = 0;
  try {
    for (const f of readdirSync(src, { recursive: true }) as string[]) newest = Math.max(newest, statSync(path.join(src, f)).mtimeMs);
  } catch {
    return; // an installed package: no sources beside it
  }
  if (newest > statSync(here).mtimeMs) {
    process.stderr.write('holdline: warning: src/ changed since the last build; run `npm run build` (or `npm run dev` to run from source)\n');
  }
}

function integerArg(name: string, min = 0) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < min) throw new InvalidArgumentError(`${name} must be an integer from ${min} up`);
    return Number(value);
  };
}

function partitionsArg(value: string): number[] {
  const list = value.split(',').map((p) => p.trim());
  if (list.some((p) => !/^[1-9]\d*$/.test(p))) throw new InvalidArgumentError('partitions are numbers from 1 up, comma-separated (1,2,3)');
  return list.map(Number);
}

/** A node's address, checked before any request: the verbs speak HTTP(S) and the WebSocket beside it. */
function urlArg(value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    // not a URL at all
  }
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:') throw new InvalidArgumentError('--url must be an http:// or https:// URL (http://127.0.0.1:7700)');
  return value;
}

/** `tail --from`: now, start, or epoch seconds (tail() turns it into `since`). */
function fromArg(value: string): string {
  if (value !== 'now' && value !== 'start' && !(value.trim() !== '' && Number.isFinite(Number(value)) && Number(value) >= 0)) {
    throw new InvalidArgumentError('--from must be now, start or epoch seconds');
  }
  return value;
}

/** `tail --events --trait name=value`, repeatable. */
function traitArg(value: string, all: string[] = []): string[] {
  if (value.indexOf('=') <= 0) throw new InvalidArgumentError('--trait must be name=value');
  return [...all, value];
}

interface ClientFlags {
  url: string;
  key?: string;
  token?: string;
  adminKey?: string;
}

/** --url, and the credential flags a verb takes; each falls back to its environment variable. */
function clientOptions(cmd: Command, credentials: Array<'key' | 'token' | 'admin-key'>): Command {
  cmd.addOption(new Option('--url <url>', 'a Holdline node').env('HOLDLINE_URL').default('http://127.0.0.1:7700').argParser(urlArg));
  if (credentials.includes('key')) cmd.addOption(new Option('--key <key>', 'application key').env('HOLDLINE_KEY'));
  if (credentials.includes('token')) cmd.addOption(new Option('--token <token>', 'agent token (instead of --key)').env('HOLDLINE_TOKEN'));
  if (credentials.includes('admin-key')) cmd.addOption(new Option('--admin-key <key>', 'the operator key').env('HOLDLINE_ADMIN_KEY'));
  return cmd;
}

function appTarget(flags: ClientFlags): ServerTarget & { key: string } {
  if (flags.key === undefined || flags.key === '') throw new UsageError('needs an application key: --key or HOLDLINE_KEY');
  return { url: flags.url, authorization: `Application ${flags.key}`, key: flags.key };
}

function adminTarget(flags: ClientFlags): ServerTarget {
  if (flags.adminKey === undefined || flags.adminKey === '') {
    throw new UsageError("needs the operator key: --admin-key or HOLDLINE_ADMIN_KEY (the server's HOLDLINE_ADMIN_KEY)");
  }
  return { url: flags.url, authorization: `Admin ${flags.adminKey}` };
}

class UsageError extends Error {}

function serveCommand(): Command {
  const cmd = new Command('serve')
    .description('run the server: HTTP and WebSocket on one port')
    .option('--config <file>', 'a JSON file of settings, keyed as below (env HOLDLINE_CONFIG)');
  // commander names a flag's value after the flag (--service-level-seconds: serviceLevelSeconds).
  const keyOf = new Map<string, SettingKey>();
  for (const key of SETTING_KEYS) {
    const s = SETTINGS[key] as (typeof SETTINGS)[SettingKey];
    const flag = s.type.placeholder === null ? s.flag : `${s.flag} ${s.type.placeholder}`;
    const shown = s.secret === true && s.default !== undefined ? 'set' : (s.type.show as (v: unknown) => string)(s.default);
    const option = new Option(flag, `${s.description} (default: ${shown}; env ${s.env}; config key ${key})`);
    keyOf.set(option.attributeName(), key);
    cmd.addOption(option);
  }
  cmd.addHelpText(
    'after',
    '\nPrecedence: flag, environment, config file, default. An unknown HOLDLINE_* variable or config key\n' +
      'is a warning; a bad value stops the start with exit code 2.',
  );
  return cmd.action(async (opts: Record<string, string | boolean | undefined>) => {
    const configPath = (opts.config as string | undefined) ?? (process.env.HOLDLINE_CONFIG || undefined);
    let file: { path: string; data: unknown } | undefined;
    if (configPath !== undefined) {
      let textContent: string;
      try {
        textContent = readFileSync(configPath, 'utf8');
      } catch (e) {
        throw new ConfigError(`cannot read config file ${configPath}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      try {
        file = { path: configPath, data: JSON.parse(textContent) };
      } catch (e) {
        throw new ConfigError(`config file ${configPath} is not JSON: ${(e as Error).message}`);
      }
    }
    const flags: Partial<Record<SettingKey, string | boolean>> = {};
    for (const [attribute, key] of keyOf) {
      const v = opts[attribute];
      if (v !== undefined) flags[key] = v;
    }
    const { config, warnings } = resolveConfig({ env: process.env, flags, ...(file !== undefined ? { file } : {}) });
    for (const w of warnings) process.stderr.write(`holdline: warning: ${w}\n`);
    warnIfStale();
    const { serve } = await import('./serve.js');
    exitCode = await serve(config);
  });
}

let exitCode = 0;

function program(): Command {
  const root = new Command('holdline')
    .description('Holdline: a real-time queue broker for contact centres')
    .version(packageVersion(), '-V, --version')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`holdline: ${text.replace(/^error: /, '')}`) });

  root.addCommand(serveCommand());

  root.addCommand(
    clientOptions(new Command('publish'), ['key'])
      .description('post messages to a queue: the BODY arguments, or else one message per line of stdin')
      .argument('<app>', 'application')
      .argument('<queue>', 'queue name')
      .argument('[body...]', 'message bodies')
      .option('--partition <n>', 'partition (default: the queue spreads messages)', integerArg('--partition', 1))
      .option('--ttl <seconds>', 'time to live', integerArg('--ttl', 1))
      .action(async (app: string, queue: string, bodies: string[], flags: ClientFlags & { partition?: number; ttl?: number }) => {
        await publish(appTarget(flags), app, queue, bodies, {
          ...(flags.partition !== undefined ? { partition: flags.partition } : {}),
          ...(flags.ttl !== undefined ? { ttl: flags.ttl } : {}),
        });
      }),
  );

  root.addCommand(
    clientOptions(new Command('tail'), ['key'])
      .description('follow a queue live, or with --events the application\'s event log (gapless, resumed across reconnects); stop with Ctrl-C')
      .argument('[app]', 'application (not with --events: the key names it)')
      .argument('[queue]', 'queue name (not with --events)')
      .option('--events', "follow the key's application's event log instead of a queue")
      .option('--type <event_type>', '--events: only events of this type')
      .option('--trait <name=value>', '--events: only events whose trait equals value (repeatable)', traitArg)
      .option('--partitions <list>', 'partitions to follow, e.g. 1,2 (default: every partition the queue has when tail starts)', partitionsArg)
      .option('--from <when>', 'where to start without a resume file: now, start, or epoch seconds', fromArg, 'now')
      .option('--resume <file>', 'resume after what FILE records (the last id per partition; with --events the last event id), and keep it current')
      .addOption(new Option('--format <format>', 'json lines or readable text (default: text on a terminal, json otherwise)').choices(['json', 'text']))
      .option('--count <n>', 'stop after N messages (events)', integerArg('--count', 1))
      .action(
        async (
          app: string | undefined,
          queue: string | undefined,
          flags: ClientFlags & {
            events?: boolean;
            type?: string;
            trait?: string[];
            partitions?: number[];
            from: string;
            resume?: string;
            format?: 'json' | 'text';
            count?: number;
          },
        ) => {
          const format = flags.format ?? (process.stdout.isTTY ? 'text' : 'json');
          if (flags.events === true) {
            if (app !== undefined) throw new UsageError('tail --events takes no application or queue: the key names the application');
            await tailEvents(appTarget(flags), {
              format,
              traits: flags.trait ?? [],
              ...(flags.type !== undefined ? { type: flags.type } : {}),
              ...(flags.resume !== undefined ? { resumeFile: flags.resume } : {}),
              ...(flags.count !== undefined ? { count: flags.count } : {}),
            });
            return;
          }
          if (app === undefined || queue === undefined) throw new UsageError('tail needs an application and a queue (or --events)');
          if (flags.type !== undefined || flags.trait !== undefined) throw new UsageError('--type and --trait go with --events');
          await tail(appTarget(flags), app, queue, {
            from: flags.from,
            format,
            ...(flags.partitions !== undefined ? { partitions: flags.partitions } : {}),
            ...(flags.resume !== undefined ? { resumeFile: flags.resume } : {}),
            ...(flags.count !== undefined ? { count: flags.count } : {}),
          });
        },
      ),
  );

  root.addCommand(
    clientOptions(new Command('queues'), ['key'])
      .description("list an application's message queues, with partitions and message counts")
      .argument('<app>', 'application')
      .option('--json', 'one JSON object per line')
      .action(async (app: string, flags: ClientFlags & { json?: boolean }) => {
        await listQueues(appTarget(flags), app, flags.json === true);
      }),
  );

  root.addCommand(
    clientOptions(new Command('callers'), ['key', 'token'])
      .description("a call queue's callers in position order; --watch follows them live")
      .argument('<queue-id>', 'call queue uuid')
      .option('--watch', 'keep the list on screen, redrawn on every change (Ctrl-C to stop)')
      .action(async (queueId: string, flags: ClientFlags & { watch?: boolean }) => {
        const credential = flags.token !== undefined && flags.token !== '' ? { token: flags.token } : { key: appTarget(flags).key };
        const target = {
          url: flags.url,
          authorization: 'token' in credential ? `Agent ${credential.token}` : `Application ${credential.key}`,
          ...credential,
        };
        if (flags.watch === true) await watchCallers(target, queueId);
        else await listCallers(target, queueId);
      }),
  );

  const apps = new Command('apps').description('applications and their keys (admin REST routes; any engine)');
  apps.addCommand(
    clientOptions(new Command('create'), ['admin-key'])
      .description('create an application; prints its key (shown once)')
      .argument('<name>')
      .action((name: string, flags: ClientFlags) => createApp(adminTarget(flags), name)),
  );
  apps.addCommand(
    clientOptions(new Command('list'), ['admin-key'])
      .description('list applications')
      .action((flags: ClientFlags) => listApps(adminTarget(flags))),
  );
  apps.addCommand(
    // No `revoke` alias: one word from `apps keys revoke`, it deleted the whole application.
    clientOptions(new Command('delete'), ['admin-key'])
      .description('delete an application: its keys stop working, its queues, messages and call data are deleted')
      .argument('<name>')
      .action((name: string, flags: ClientFlags) => deleteApp(adminTarget(flags), name)),
  );
  const keys = new Command('keys').description("an application's keys: several may be valid at once");
  keys.addCommand(
    clientOptions(new Command('list'), ['admin-key'])
      .description('list key ids, with creation and expiry')
      .argument('<app>')
      .action((app: string, flags: ClientFlags) => listKeys(adminTarget(flags), app)),
  );
  keys.addCommand(
    clientOptions(new Command('create'), ['admin-key'])
      .description('add a key; prints it (shown once)')
      .argument('<app>')
      .action((app: string, flags: ClientFlags) => createKey(adminTarget(flags), app)),
  );
  keys.addCommand(
    clientOptions(new Command('rotate'), ['admin-key'])
      .description('replace a key: prints the new one; the old one keeps working for the grace period')
      .argument('<app>')
      .argument('<key-id>')
      .option('--grace <seconds>', 'how long the old key stays valid', integerArg('--grace'), 3600)
      .action((app: string, keyId: string, flags: ClientFlags & { grace: number }) => rotateKey(adminTarget(flags), app, keyId, flags.grace)),
  );
  keys.addCommand(
    clientOptions(new Command('revoke'), ['admin-key'])
      .description('revoke one key at once')
      .argument('<app>')
      .argument('<key-id>')
      .action((app: string, keyId: string, flags: ClientFlags) => revokeKey(adminTarget(flags), app, keyId)),
  );
  apps.addCommand(keys);
  root.addCommand(apps);

  // Every subcommand reports errors the same way and exits through the handler below.
  const configure = (cmd: Command): void => {
    cmd.exitOverride().showSuggestionAfterError(true).configureOutput(root.configureOutput());
    cmd.commands.forEach(configure);
  };
  root.commands.forEach(configure);
  return root;
}

async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version exit 0; a usage error has already been printed.
      // Help asked for, and the version, exit 0; help shown for want of a command, and usage errors
      // (already printed), exit 2.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof ConfigError || e instanceof UsageError) {
      process.stderr.write(`holdline: ${e.message}\n`);
      return 2;
    }
    if (e instanceof CliError) {
      process.stderr.write(`holdline: ${e.message}\n`);
      return 1;
    }
    process.stderr.write(`holdline: ${(e as Error).stack ?? String(e)}\n`);
    return 1;
  }
}

// The reader of our output went away (`holdline tail … | head -5`): stop as a pipeline expects,
// quietly, instead of dying of an unhandled EPIPE with a stack. The server's logs are pino's own
// writes to the descriptor, not this stream.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  process.exit(0);
});

void main(process.argv.slice(2)).then((code) => process.exit(code));
