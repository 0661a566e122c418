/** SPEC.md section 6: applications and keys, behind `Authorization: Admin <HOLDLINE_ADMIN_KEY>`. */
import { createApplication, listApplications, revokeApplication } from '../../domain/apps.js';
import { readFields } from '../body.js';
import type { ServerContext } from '../context.js';
import { json } from '../http.js';

export function appsRoutes(ctx: ServerContext): void {
  const { router, engine } = ctx;

  router.add('POST', '/v1/apps', async (req) => {
    ctx.assertAdmin(req.headers.authorization);
    const fields = readFields(req);
    const input = ctx.schemas.validate<{ name: string }>('app-create', fields.source, fields.data);
    const { app, key } = await createApplication(engine, input.name);
    return json(201, { status: 'ok', application_name: app.name, key, created: app.created });
  });

  router.add('GET', '/v1/apps', async (req) => {
    ctx.assertAdmin(req.headers.authorization);
    const apps = await listApplications(engine);
    return json(200, { status: 'ok', applications: apps.map((a) => ({ application_name: a.name, created: a.created })) });
  });

  router.add('DELETE', '/v1/apps/:name', async (req) => {
    ctx.assertAdmin(req.headers.authorization);
    await revokeApplication(engine, req.params.name!, ctx.calls.store);
    return json(200, { status: 'ok' });
  });
}
