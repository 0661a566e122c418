/**
 * `holdline apps …`: applications and their keys over the admin REST routes (protocol/rest.md,
 * "Applications"), so they work on every engine, the memory one included.
 */
import { CliError, request, type ServerTarget } from './rest.js';

interface AppRow {
  name?: string;
  application_name?: string;
  created?: number | string;
}

interface KeyRow {
  key_id: string;
  created: number | string | null;
  expires: number | string | null;
}

function when(t: number | string | null | undefined): string {
  if (t === null || t === undefined) return '-';
  return typeof t === 'number' ? new Date(t * 1000).toISOString() : t;
}

const app = (name: string): string => `/v1/apps/${encodeURIComponent(name)}`;

export async function createApp(target: ServerTarget, name: string): Promise<void> {
  let created: { application_name: string; key: string };
  try {
    created = await request(target, 'POST', '/v1/apps', { name });
  } catch (e) {
    if (e instanceof CliError && e.code === 'app_exists') {
      throw new CliError(
        `application ${name} already exists; its key was shown when it was created. ` +
          `To get a new one: holdline apps keys create ${name} (or rotate an old one); ` +
          `to start over: holdline apps delete ${name} (deletes its data)`,
        e.code,
      );
    }
    throw e;
  }
  process.stderr.write(`holdline: created application ${created.application_name}; its key (shown once):\n`);
  process.stdout.write(`${created.key}\n`);
}

export async function listApps(target: ServerTarget): Promise<void> {
  const res = await request<{ applications?: AppRow[]; apps?: AppRow[] }>(target, 'GET', '/v1/apps');
  for (const row of res.applications ?? res.apps ?? []) {
    process.stdout.write(`${row.application_name ?? row.name}\t${when(row.created)}\n`);
  }
}

export async function deleteApp(target: ServerTarget, name: string): Promise<void> {
  await request(target, 'DELETE', app(name));
  process.stderr.write(`holdline: deleted application ${name}: its keys no longer work, its queues and call data are gone\n`);
}

export async function listKeys(target: ServerTarget, name: string): Promise<void> {
  const res = await request<{ keys: KeyRow[] }>(target, 'GET', `${app(name)}/keys`);
  for (const k of res.keys) process.stdout.write(`${k.key_id}\tcreated ${when(k.created)}\texpires ${when(k.expires)}\n`);
}

export async function createKey(target: ServerTarget, name: string): Promise<void> {
  const res = await request<{ key_id: string; key: string }>(target, 'POST', `${app(name)}/keys`, {});
  process.stderr.write(`holdline: new key ${res.key_id} for ${name} (shown once):\n`);
  process.stdout.write(`${res.key}\n`);
}

export async function rotateKey(target: ServerTarget, name: string, keyId: string, graceSeconds: number): Promise<void> {
  const res = await request<{ key_id: string; key: string; replaced: { key_id: string; expires: number | string | null } }>(
    target,
    'POST',
    `${app(name)}/keys/${encodeURIComponent(keyId)}/rotate`,
    { grace_seconds: graceSeconds },
  );
  process.stderr.write(
    `holdline: key ${res.key_id} replaces ${res.replaced.key_id}, which works until ${when(res.replaced.expires)}; the new key (shown once):\n`,
  );
  process.stdout.write(`${res.key}\n`);
}

export async function revokeKey(target: ServerTarget, name: string, keyId: string): Promise<void> {
  await request(target, 'DELETE', `${app(name)}/keys/${encodeURIComponent(keyId)}`);
  process.stderr.write(`holdline: revoked key ${keyId} of ${name}\n`);
}
