/** SPEC.md 3.6: liveness and readiness. */
import { HoldlineError } from '../../errors.js';
import type { ServerContext } from '../context.js';
import { errorReply, json } from '../http.js';

export function opsRoutes(ctx: ServerContext): void {
  ctx.router.add('GET', '/healthz', () => json(200, { status: 'ok' }));

  ctx.router.add('GET', '/readyz', async () => {
    if (ctx.shuttingDown) return errorReply(new HoldlineError('shutting_down'));
    let ready = false;
    try {
      ready = await ctx.storage.ready();
    } catch (err) {
      ctx.logger.warn({ err }, 'engine readiness check failed');
    }
    return ready ? json(200, { status: 'ok', engine: ctx.storage.kind }) : errorReply(new HoldlineError('engine_unavailable'));
  });
}
