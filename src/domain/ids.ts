/**
 * Message ids as the domain and the transports read them. The engine makes them (src/engine/ids.ts:
 * layout, encoding, the random part; protocol/messages.md); everything above it only checks their
 * shape and reads the partition, sequence and timestamp they carry.
 */
export { MESSAGE_ID_RE, decodeMessageId, isMessageId, timestampSeconds } from '../engine/ids.js';
export type { MessageIdParts } from '../engine/ids.js';
