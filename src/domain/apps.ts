/** Applications and their keys (SPEC.md section 6), shared by the admin routes and the CLI. */
import { HoldlineError } from '../errors.js';
import type { AppRecord, Engine } from '../engine/types.js';
import { assertAppName } from './names.js';

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

/** Revokes every key of the application and deletes it with its queues. */
export async function revokeApplication(engine: Engine, name: string): Promise<void> {
  if (!(await engine.deleteApp(name))) throw new HoldlineError('app_not_found');
}
