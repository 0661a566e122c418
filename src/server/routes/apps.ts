/** SPEC.md section 6: applications and keys, behind `Authorization: Admin <HOLDLINE_ADMIN_KEY>`. */
import { HoldlineError } from '../../errors.js';
import { readFields } from '../body.js';
import type { ServerContext } from '../context.js';
import { json } from '../http.js';
import type { RequestInfo } from '../http.js';

export function appsRoutes(ctx: ServerContext): void {
  const { router, apps } = ctx;
  const admin = (req: RequestInfo) => ctx.assertAdmin(req.headers.authorization);

  router.add('POST', '/v1/apps', async (req) => {
    admin(req);
    const fields = readFields(req);
    const input = ctx.schemas.validate('app-create', fields.source, fields.data);
    const { app, key, keyId } = await apps.create(input.name);
    return json(201, { status: 'ok', application_name: app.name, key, key_id: keyId, created: app.created });
  });

  router.add('GET', '/v1/apps', async (req) => {
    admin(req);
    const list = await apps.list();
    return json(200, { status: 'ok', applications: list.map((a) => ({ application_name: a.name, created: a.created })) });
  });

  router.add('DELETE', '/v1/apps/:name', async (req) => {
    admin(req);
    await apps.revoke(req.params.name!);
    return json(200, { status: 'ok' });
  });

  // --- keys of one application (protocol/rest.md "Keys of an application") ---

  router.add('GET', '/v1/apps/:name/keys', async (req) => {
    admin(req);
    const name = req.params.name!;
    const keys = await apps.listKeys(name);
    return json(200, { status: 'ok', application_name: name, keys: keys.map((k) => ({ key_id: k.id, created: k.created, expires: k.expires })) });
  });

  router.add('POST', '/v1/apps/:name/keys', async (req) => {
    admin(req);
    // Takes no fields: any is unknown (protocol/rest.md conventions), and the body is checked like any other.
    const extra = Object.keys(readFields(req).data)[0];
    if (extra !== undefined) throw new HoldlineError('invalid_field', { field: extra, message: `Unknown field ${extra}` });
    const name = req.params.name!;
    const { key, record } = await apps.createKey(name);
    return json(201, { status: 'ok', application_name: name, key_id: record.id, key });
  });

  router.add('POST', '/v1/apps/:name/keys/:key_id/rotate', async (req) => {
    admin(req);
    const fields = readFields(req);
    const input = ctx.schemas.validate('key-rotate', fields.source, fields.data);
    const name = req.params.name!;
    const rotated = await apps.rotateKey(name, req.params.key_id!, input.grace_seconds);
    return json(201, {
      status: 'ok',
      application_name: name,
      key_id: rotated.record.id,
      key: rotated.key,
      replaced: { key_id: rotated.replaced.id, expires: rotated.replaced.expires },
    });
  });

  router.add('DELETE', '/v1/apps/:name/keys/:key_id', async (req) => {
    admin(req);
    await apps.revokeKey(req.params.name!, req.params.key_id!);
    return { status: 204, body: '', contentType: 'application/json' };
  });
}
