#!/usr/bin/env node
/** The `holdline` command (src/cli/args.ts has the usage). Exit codes: 0 ok, 1 failure, 2 usage. */
import { isHoldlineError } from '../errors.js';
import { apps } from './apps.js';
import { USAGE, UsageError, parseCommand } from './args.js';
import { serve } from './serve.js';

async function main(argv: string[]): Promise<number> {
  const cmd = parseCommand(argv, process.env);
  const [verb, ...rest] = cmd.positionals;
  if (cmd.help || verb === undefined || verb === 'help') {
    process.stdout.write(USAGE);
    return verb === undefined && !cmd.help ? 2 : 0;
  }
  if (verb === 'serve') {
    if (rest.length > 0) throw new UsageError(`serve takes no arguments: ${rest.join(' ')}`);
    return serve(cmd.config, cmd.bootstrapApp);
  }
  if (verb === 'apps') return apps(cmd.config, rest);
  throw new UsageError(`unknown command: ${verb}`);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof UsageError) {
      process.stderr.write(`holdline: ${e.message}\n\n${USAGE}`);
      process.exit(2);
    }
    if (isHoldlineError(e)) {
      process.stderr.write(`holdline: ${e.code}: ${e.message}\n`);
      process.exit(1);
    }
    process.stderr.write(`holdline: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
