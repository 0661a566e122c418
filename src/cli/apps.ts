/**
 * `holdline apps create|list|revoke`, directly against the configured engine (SPEC.md section 6).
 * Only meaningful with a shared store: the memory engine lives inside one server process.
 */
import type { HoldlineConfig } from '../config.js';
import { createApplication, listApplications, revokeApplication } from '../domain/apps.js';
import { createCallStore } from '../engine/calls-factory.js';
import { createEngine } from '../engine/index.js';
import type { Engine } from '../engine/types.js';
import { createLogger } from '../logger.js';
import { UsageError } from './args.js';

export const MEMORY_ENGINE_NOTE =
  'apps works on a shared store (HOLDLINE_ENGINE=redis). The memory engine lives inside the ' +
  'server process, which this command cannot reach. With memory, get a key from the running server: ' +
  'start it with HOLDLINE_ADMIN_KEY=<secret> and POST /v1/apps with "Authorization: Admin <secret>", ' +
  'or start it with --bootstrap-app NAME, which prints the key of NAME.';

async function withEngine<T>(config: HoldlineConfig, fn: (engine: Engine) => Promise<T>): Promise<T> {
  const engine = createEngine(config, createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel));
  await engine.start();
  try {
    return await fn(engine);
  } finally {
    await engine.close();
  }
}

export async function apps(config: HoldlineConfig, args: string[]): Promise<number> {
  const [action, name, ...rest] = args;
  if (rest.length > 0) throw new UsageError(`unexpected arguments: ${rest.join(' ')}`);
  if (action !== 'create' && action !== 'list' && action !== 'revoke') {
    throw new UsageError('apps needs one of: create NAME, list, revoke NAME');
  }
  if ((action === 'list') !== (name === undefined)) {
    throw new UsageError(action === 'list' ? 'apps list takes no name' : `apps ${action} needs a NAME`);
  }
  if (config.engine === 'memory') {
    process.stderr.write(`holdline: ${MEMORY_ENGINE_NOTE}\n`);
    return 2;
  }
  return withEngine(config, async (engine) => {
    if (action === 'create') {
      const { key } = await createApplication(engine, name!);
      process.stderr.write(`holdline: created application ${name}; its key (shown once):\n`);
      process.stdout.write(`${key}\n`);
    } else if (action === 'list') {
      for (const app of await listApplications(engine)) {
        process.stdout.write(`${app.name}\t${new Date(app.created * 1000).toISOString()}\n`);
      }
    } else {
      // Its call queues, agents, tags and agent tokens go with it (same Redis, same prefix).
      const calls = await createCallStore(config, createLogger('warn'));
      try {
        await revokeApplication(engine, name!, calls);
      } finally {
        await calls.close();
      }
      process.stderr.write(`holdline: revoked application ${name}: its keys no longer work, its queues and call data are deleted\n`);
    }
    return 0;
  });
}
