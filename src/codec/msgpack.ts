/**
 * The MessagePack dialect of holdline.v1.msgpack (websocket.md section 1): plain maps with string
 * keys, no msgpackr records or other extensions, so any MessagePack library can speak it.
 */
import { C1, Packr, Unpackr } from 'msgpackr';

type PackrOptions = NonNullable<ConstructorParameters<typeof Packr>[0]>;

const packOptions: PackrOptions & { skipValues: unknown[] } = {
  useRecords: false,
  // Optional fields left undefined are omitted, as JSON.stringify does; msgpackr would otherwise
  // write them as an extension no other library reads.
  skipValues: [undefined],
};

// msgpackr's typings lag the library: they know neither skipValues nor int64AsType 'auto'.
const unpackOptions: Omit<PackrOptions, 'int64AsType'> & { int64AsType: 'auto' } = {
  useRecords: false,
  mapsAsObjects: true,
  // Bodies must not be views into the transport's buffer: uWS frees it when the handler returns.
  copyBuffers: true,
  // Integers beyond 2^53 come out as bigint, which the value check refuses, instead of losing digits.
  int64AsType: 'auto',
};

const packr = new Packr(packOptions);
const unpackr = new Unpackr(unpackOptions as unknown as PackrOptions);

export function packFrame(value: unknown): Uint8Array {
  const b = packr.pack(value);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Throws on truncated data, trailing bytes and unknown byte codes. */
export function unpackFrame(bytes: Uint8Array): unknown {
  return unpackr.unpack(bytes);
}

/** msgpackr decodes the reserved byte 0xc1 to this marker instead of failing. */
export function isReservedByte(v: unknown): boolean {
  return v === C1;
}
