/** SPEC.md 3.6: liveness and readiness. */
import { callStoreReady } from '../../engine/calls-factory.js';
import { HoldlineError } from '../../errors.js';
import type { ServerContext } from '../context.js';
import { errorReply, json } from '../http.js';

export function opsRoutes(ctx: ServerContext): void {
  ctx.router.add('GET', '/healthz', () => json(200, { status: 'ok' }));

  ctx.router.add('GET', '/readyz', async () => {
    if (ctx.shuttingDown) return errorReply(new HoldlineError('shutting_down'));
    let ready = false;
    try {
      // The call store is a separate object with its own connections: both must answer.
      ready = (await ctx.engine.ready()) && (await callStoreReady(ctx.calls.store));
    } catch (err) {
      ctx.logger.warn({ err }, 'engine readiness check failed');
    }
    return ready ? json(200, { status: 'ok', engine: ctx.engine.kind }) : errorReply(new HoldlineError('engine_unavailable'));
  });
}
