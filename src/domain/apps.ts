/** Applications and their keys (SPEC.md section 6), shared by the admin routes and the CLI. */
import { HoldlineError } from '../errors.js';
import type { CallStore } from '../engine/call-types.js';
import type { AppRecord, Engine } from '../engine/types.js';
import { assertAppName, isValidAppName } from './names.js';

export async function createApplication(engine: Engine, name: string): Promise<{ app: AppRecord; key: string }> {
  assertAppName(name, 'name');
  const created = await engine.createApp(name);
  if (created === null) throw new HoldlineError('app_exists', { field: 'name' });
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
export async function revokeApplication(engine: Engine, name: string, calls?: CallStore): Promise<void> {
  const existed = await engine.deleteApp(name);
  if (isValidAppName(name)) await calls?.deleteApplication(name);
  if (!existed) throw new HoldlineError('app_not_found');
}
