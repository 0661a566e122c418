/**
 * A message's optional fields, declared once (STYLE.md "A field is declared once"), as the error
 * catalogue (errors.ts) declares errors once. This table drives:
 *   - the types: StoredMessage, NewMessage and MessagePatch (engine/types.ts), WireMessage (codec)
 *   - the Redis record: its tag (engine/redis/record.ts decodes by it; partition-scripts.ts writes
 *     the fields set on append; update.lua takes a patch by tag; recordEncode.lua's tag order is
 *     filled in from here by scripts.ts)
 *   - the engines' copy of an appended message's fields (appendFields)
 *   - the wire name and order in message objects (server/ws/wire.ts, wireFields)
 * Cache validity needs no field list: a message's encoding is versioned by (id, seq, updatedAtUs),
 * and every change of a stored message advances updatedAtUs (server/message-encoding.ts).
 *
 * The fields every message has (id, partition, seq, timestamp, body, ttl, expiry) are not here:
 * they have their own shapes (the id carries timestamp, seq and partition; the body is text or
 * bytes). Adding an optional field: a row here and its tests, then the protocol (websocket.md 3.2,
 * rest.md, protocol/schemas) and, when clients send it, the domain's input parsing.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** How a field's value is held: in a StoredMessage, in the record (bytes), and on the wire. */
interface KindValues {
  /** UTF-8 text. */
  text: string;
  /** Text limited to Latin-1 (ids): one byte per character in the record. */
  latin1: string;
  /** A JSON value, JSON text in the record. */
  json: JsonValue;
  /** Microseconds since the epoch, decimal in the record; epoch seconds on the wire. */
  time: number;
}

export type FieldKind = keyof KindValues;

export interface MessageFieldSpec {
  /** The property of StoredMessage (and NewMessage, MessagePatch where it applies). */
  key: string;
  /** One ASCII byte naming the field in the Redis record; never reused for another field. */
  tag: string;
  /** The property of the message object on the wire (WebSocket frames, protocol/websocket.md 3.2). */
  wire: string;
  kind: FieldKind;
  /** Set by the producer when appending (NewMessage). */
  append: boolean;
  /** Changed by an update (MessagePatch: PUT, state.set); null clears it. */
  patch: boolean;
}

/** In the order of the wire objects and of the record's tags. */
export const MESSAGE_FIELDS = [
  { key: 'contentType', tag: 'c', wire: 'content_type', kind: 'text', append: true, patch: true },
  { key: 'inReplyTo', tag: 'r', wire: 'in_reply_to', kind: 'latin1', append: true, patch: false },
  { key: 'clientState', tag: 's', wire: 'client_state', kind: 'text', append: false, patch: true },
  { key: 'clientJson', tag: 'j', wire: 'client_json', kind: 'json', append: false, patch: true },
  // Set by the engine on every change of a stored message, never by a client.
  { key: 'updatedAtUs', tag: 'u', wire: 'updated_at', kind: 'time', append: false, patch: false },
] as const satisfies readonly MessageFieldSpec[];

type Field = (typeof MESSAGE_FIELDS)[number];

/** The optional fields of a stored message. */
export type MessageFields = { [F in Field as F['key']]?: KindValues[F['kind']] };
/** The fields a producer may set on append. */
export type AppendFields = { [F in Field as F['append'] extends true ? F['key'] : never]?: KindValues[F['kind']] };
/** The fields an update may set, or clear with null. */
export type PatchFields = { [F in Field as F['patch'] extends true ? F['key'] : never]?: KindValues[F['kind']] | null };
/** The optional fields of a message object on the wire. */
export type WireMessageFields = { [F in Field as F['wire']]?: KindValues[F['kind']] };
/** The optional fields a producer may send with a message (publish). */
export type WireAppendFields = { [F in Field as F['append'] extends true ? F['wire'] : never]?: KindValues[F['kind']] };

export type MessageField = Field;
export const APPEND_FIELDS: readonly Field[] = MESSAGE_FIELDS.filter((f) => f.append);
export const PATCH_FIELDS: readonly Field[] = MESSAGE_FIELDS.filter((f) => f.patch);

type Bag = Record<string, unknown>;

/** The value of field `f` in a message, an append or a patch (undefined: absent). */
export function fieldOf(m: MessageFields | AppendFields | PatchFields, f: Field): unknown {
  return (m as Bag)[f.key];
}

/** Copies the append-time fields present in `from` onto `to` (an engine storing a new message). */
export function appendFields(from: AppendFields, to: MessageFields): void {
  for (const f of APPEND_FIELDS) {
    const v = (from as Bag)[f.key];
    if (v !== undefined) (to as Bag)[f.key] = v;
  }
}

/** The append fields a producer sent on the wire (publish), under their StoredMessage keys. */
export function appendFieldsFromWire(w: WireAppendFields): AppendFields {
  const out: Bag = {};
  for (const f of APPEND_FIELDS) {
    const v = (w as Bag)[f.wire];
    if (v !== undefined) out[f.key] = v;
  }
  return out as AppendFields;
}

/** Applies an update's fields to `to`: null clears a field; JSON values go through `copyJson`. */
export function patchFields(patch: PatchFields, to: MessageFields, copyJson: (v: JsonValue) => JsonValue): void {
  for (const f of PATCH_FIELDS) {
    const v = (patch as Bag)[f.key];
    if (v === null) delete (to as Bag)[f.key];
    else if (v !== undefined) (to as Bag)[f.key] = f.kind === 'json' ? copyJson(v as JsonValue) : v;
  }
}

/**
 * Adds the fields present in `m` to a wire message object `w`, in the table's order; times become
 * epoch seconds (`seconds`, the id module's conversion).
 */
export function wireFields<W extends WireMessageFields>(w: W, m: MessageFields, seconds: (us: number) => number): W {
  for (const f of MESSAGE_FIELDS) {
    const v = (m as Bag)[f.key];
    if (v !== undefined) (w as Bag)[f.wire] = f.kind === 'time' ? seconds(v as number) : v;
  }
  return w;
}
