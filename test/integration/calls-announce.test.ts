/**
 * Cross-store side effects live in the domain (issue 12): deleting an agent or revoking one of its
 * tokens announces the change from CallService itself (the message engine carries it to every
 * node's live connections), so every transport that calls the service gets it — REST no longer
 * announces on its own. On both stores.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CallStore } from '../../src/engine/call-types.js';
import { CallService } from '../../src/domain/calls/service.js';
import { isHoldlineError } from '../../src/errors.js';
import { callStoreFactories } from '../helpers/call-stores.js';

const APP = 'acme';

describe.each(callStoreFactories)('CallService announces agent changes ($name store)', (factory) => {
  let store: CallStore;
  let svc: CallService;
  let announced: Array<[string, string]>;
  let failNext: boolean;

  beforeEach(async () => {
    store = await factory.open();
    announced = [];
    failNext = false;
    svc = new CallService(store, {
      announceAgentChange: async (app, agent) => {
        if (failNext) {
          failNext = false;
          throw new Error('announcement lost');
        }
        announced.push([app, agent]);
      },
    });
  });
  afterEach(async () => {
    await store.close();
  });

  it('deleting an agent announces it, and a retry after a lost announcement announces again', async () => {
    const alice = (await svc.createAgent(APP, { name: 'alice' })).uuid;
    failNext = true;
    await expect(svc.deleteAgent(APP, alice)).rejects.toThrow('announcement lost');
    expect(announced).toEqual([]);
    const retry = await svc.deleteAgent(APP, alice).catch((err: unknown) => err);
    expect(isHoldlineError(retry) && retry.code).toBe('agent_not_found');
    expect(announced).toEqual([[APP, alice]]);
  });

  it('revoking a token announces the agent; a token of another agent named under this one is kept', async () => {
    const alice = (await svc.createAgent(APP, { name: 'alice' })).uuid;
    const bob = (await svc.createAgent(APP, { name: 'bob' })).uuid;
    const aliceToken = (await svc.issueToken(APP, alice, {})).token;
    const bobToken = (await svc.issueToken(APP, bob, {})).token;
    await svc.revokeAgentToken(APP, alice, { token: bobToken });
    expect((await store.verifyAgentToken(bobToken)).valid).toBe(true);
    await svc.revokeAgentToken(APP, alice, { token: aliceToken });
    expect((await store.verifyAgentToken(aliceToken)).valid).toBe(false);
    expect(announced).toEqual([[APP, alice], [APP, alice]]);
  });
});
