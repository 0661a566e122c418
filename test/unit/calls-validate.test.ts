/**
 * Input rules for call resources (src/domain/calls/validate.ts; protocol/calls.md "Input rules").
 */
import { describe, expect, it } from 'vitest';
import {
  isTagName,
  parseCallerPatch,
  parseLeaveReason,
  parseNewCaller,
  parseNewMember,
  parsePathId,
  parseTagRef,
  parseTokenRequest,
} from '../../src/domain/calls/validate.js';
import { isHoldlineError } from '../../src/errors.js';

function err(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (isHoldlineError(e)) return e.field === undefined ? e.code : `${e.code}:${e.field}`;
    throw e;
  }
  return 'ok';
}

describe('call input rules', () => {
  it.each([
    ['6135551234', 'ok'], ['+441234567890', 'ok'], ['*98', 'ok'], ['1001@example.org', 'ok'],
    ['sip:alice@10.0.0.1:5060', 'ok'], ['sips:bob@pbx.example.com', 'ok'],
    ['', 'invalid_field:number'], ['call me', 'invalid_field:number'], ['alice@', 'invalid_field:number'],
    ['12-34', 'invalid_field:number'], ['1'.repeat(33), 'invalid_field:number'], [42, 'invalid_field:number'],
  ])('caller number %j → %s', (number, expected) => {
    expect(err(() => parseNewCaller({ number }))).toBe(expected);
  });

  it('accepts any well-formed Unicode name, not a broken one', () => {
    expect(parseNewCaller({ name: 'Zoë 😀 Ünal', number: '1' }).name).toBe('Zoë 😀 Ünal');
    expect(err(() => parseNewCaller({ name: '\udc00x', number: '1' }))).toBe('invalid_field:name');
  });

  it('bounds priorities to integers within ±1,000,000', () => {
    expect(parseNewCaller({ number: '1', priority: 1_000_000 }).priority).toBe(1_000_000);
    expect(parseNewCaller({ number: '1', priority: -1_000_000 }).priority).toBe(-1_000_000);
    expect(err(() => parseNewCaller({ number: '1', priority: 1_000_001 }))).toBe('invalid_field:priority');
    expect(err(() => parseCallerPatch({ priority: Number.NaN }))).toBe('invalid_field:priority');
    expect(err(() => parseCallerPatch({ priority: null }))).toBe('invalid_field:priority');
  });

  it('normalises uuids to lower case and treats a malformed path id as not found', () => {
    const id = 'E5814FEE-6E8A-4771-8EDD-EA413EFF57F1';
    expect(parsePathId(id, 'caller_not_found')).toBe(id.toLowerCase());
    expect(parseCallerPatch({ member_uuid: id }).member_uuid).toBe(id.toLowerCase());
    expect(parseCallerPatch({ member_uuid: null })).toEqual({ member_uuid: null });
    expect(err(() => parsePathId('e5814fee6e8a47718eddea413eff57f1', 'caller_not_found'))).toBe('caller_not_found');
    expect(err(() => parsePathId('../../x', 'call_queue_not_found'))).toBe('call_queue_not_found');
  });

  it('takes the member agent as agent_id or uuid, with defaults', () => {
    const uuid = 'b1775ea3-f7fb-451a-97ef-669d1ccf8e64';
    expect(parseNewMember({ uuid, number: '1001@example.org' })).toEqual({
      agent_uuid: uuid, number: '1001@example.org', paused: false, pause_reason: null, status: 'available',
    });
    expect(parseNewMember({ agent_id: uuid, uuid, number: '1001' }).agent_uuid).toBe(uuid);
    expect(err(() => parseNewMember({ agent_id: 'nope', number: '1001' }))).toBe('invalid_field:agent_id');
  });

  it('knows tag names from tag ids', () => {
    expect(isTagName('french')).toBe(true);
    expect(isTagName('tier-2')).toBe(true);
    expect(isTagName('2')).toBe(false);
    expect(isTagName('x'.repeat(65))).toBe(false);
    expect(parseTagRef('12')).toBe('12');
    expect(err(() => parseTagRef('012'))).toBe('tag_not_found');
    expect(err(() => parseTagRef('a/b'))).toBe('tag_not_found');
  });

  it('requires a known leave reason and bounds token lifetimes', () => {
    expect(parseLeaveReason('transferred')).toBe('transferred');
    expect(err(() => parseLeaveReason(''))).toBe('missing_field:reason');
    expect(err(() => parseLeaveReason('Answered'))).toBe('invalid_field:reason');
    expect(parseTokenRequest(undefined)).toEqual({ ttl: 28_800 });
    expect(err(() => parseTokenRequest({ ttl: 0 }))).toBe('invalid_field:ttl');
  });
});
