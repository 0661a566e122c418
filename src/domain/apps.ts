/** Applications and their keys (SPEC.md section 6), shared by the admin routes and the CLI. */
import { HoldlineError } from '../errors.js';
import { KEY_ID_RE } from '../engine/app-keys.js';
import type { CallStore } from '../engine/call-types.js';
import type { AppKeyRecord, AppRecord, Engine, NewAppKey } from '../engine/types.js';
import type { WebhookStore } from '../engine/webhook-types.js';
import { applicationFromHeader, applicationFromKey } from './auth.js';
import { assertAppName, isValidAppName } from './names.js';

/** How long the replaced key keeps working after a rotation, by default and at most (seconds). */
export const DEFAULT_ROTATION_GRACE_S = 3600;
export const MAX_ROTATION_GRACE_S = 604_800;

export async function createApplication(engine: Engine, name: string): Promise<{ app: AppRecord; key: string; keyId: string }> {
  assertAppName(name, 'name');
  const created = await engine.createApp(name);
  if (created === null) {
    throw new HoldlineError('app_exists', {
      field: 'name',
      message: `The application ${name} already exists; its keys are not shown again: create another with POST /v1/apps/${name}/keys`,
    });
  }
  return created;
}

export async function listApplications(engine: Engine): Promise<AppRecord[]> {
  const apps = await engine.listApps();
  return [...apps].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Revokes every key of the application and deletes it with its queues, and (given the call store)
 * its agents, call queues, tags and agent tokens. Keys go first, so no new request can add call data
 * while it is deleted; the call data is deleted even when the application is already gone, so a deletion
 * interrupted between the two steps is finished by running it again.
 */
export async function revokeApplication(engine: Engine, name: string, calls?: CallStore, webhooks?: Pick<WebhookStore, 'deleteApplication'>): Promise<void> {
  const existed = await engine.deleteApp(name);
  if (isValidAppName(name)) await calls?.deleteApplication(name);
  // Its webhook endpoints too (protocol/webhooks.md): a new application of that name starts without them.
  if (isValidAppName(name)) await webhooks?.deleteApplication(name);
  if (!existed) throw new HoldlineError('app_not_found');
}

// --- keys of one application (protocol/rest.md "Keys of an application") ---

function knownApp(name: string): string {
  if (!isValidAppName(name)) throw new HoldlineError('app_not_found');
  return name;
}

/** The application must exist before a malformed key id is answered key_not_found (404 order: app, then key). */
async function knownKeyId(engine: Engine, app: string, keyId: string): Promise<string> {
  if (KEY_ID_RE.test(keyId)) return keyId;
  if ((await engine.getApp(app)) === null) throw new HoldlineError('app_not_found');
  throw new HoldlineError('key_not_found');
}

export function listApplicationKeys(engine: Engine, name: string): Promise<AppKeyRecord[]> {
  return engine.listKeys(knownApp(name));
}

export function createApplicationKey(engine: Engine, name: string): Promise<NewAppKey> {
  return engine.addKey(knownApp(name));
}

export async function rotateApplicationKey(
  engine: Engine,
  name: string,
  keyId: string,
  graceSeconds = DEFAULT_ROTATION_GRACE_S,
): Promise<NewAppKey & { replaced: { id: string; expires: number } }> {
  const app = knownApp(name);
  if (!Number.isInteger(graceSeconds) || graceSeconds < 0 || graceSeconds > MAX_ROTATION_GRACE_S) {
    throw new HoldlineError('invalid_field', { field: 'grace_seconds', message: `grace_seconds must be an integer from 0 to ${MAX_ROTATION_GRACE_S}` });
  }
  return engine.rotateKey(app, await knownKeyId(engine, app, keyId), graceSeconds);
}

export async function revokeApplicationKey(engine: Engine, name: string, keyId: string): Promise<void> {
  const app = knownApp(name);
  await engine.deleteKey(app, await knownKeyId(engine, app, keyId));
}

/**
 * Applications as the transports see them (admin routes, /metrics, WebSocket credential checks):
 * the functions above bound to one engine and call store, so no transport holds the engine.
 */
export class Applications {
  constructor(
    private readonly engine: Engine,
    private readonly calls?: CallStore,
    private readonly webhooks?: Pick<WebhookStore, 'deleteApplication'>,
  ) {}

  create(name: string): Promise<{ app: AppRecord; key: string; keyId: string }> {
    return createApplication(this.engine, name);
  }

  list(): Promise<AppRecord[]> {
    return listApplications(this.engine);
  }

  async exists(name: string): Promise<boolean> {
    return isValidAppName(name) && (await this.engine.getApp(name)) !== null;
  }

  revoke(name: string): Promise<void> {
    return revokeApplication(this.engine, name, this.calls, this.webhooks);
  }

  listKeys(name: string): Promise<AppKeyRecord[]> {
    return listApplicationKeys(this.engine, name);
  }

  createKey(name: string): Promise<NewAppKey> {
    return createApplicationKey(this.engine, name);
  }

  rotateKey(name: string, keyId: string, graceSeconds?: number): ReturnType<typeof rotateApplicationKey> {
    return rotateApplicationKey(this.engine, name, keyId, graceSeconds);
  }

  revokeKey(name: string, keyId: string): Promise<void> {
    return revokeApplicationKey(this.engine, name, keyId);
  }

  /** The application behind a key (401 auth_invalid). */
  forKey(key: string): Promise<string> {
    return applicationFromKey(this.engine, key);
  }

  /** The application behind an `Authorization: Application <key>` header; null without a header. */
  forHeader(header: string | undefined): Promise<string | null> {
    return applicationFromHeader(this.engine, header);
  }
}
