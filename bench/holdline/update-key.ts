/** Reading a `callqueue.update` frame's kind, caller uuid and seq without parsing it (40,000 frames/s). */
const KIND = Buffer.from('"kind":"');
const CALLER = Buffer.from('"caller":{');
const UUID = Buffer.from('"uuid":"');
const SEQ = Buffer.from('"seq":');

function intAfter(data: Buffer, at: number): number {
  let v = 0;
  for (let i = at; i < data.length; i++) {
    const c = data[i]!;
    if (c < 0x30 || c > 0x39) break;
    v = v * 10 + (c - 0x30);
  }
  return v;
}

/** `kind:uuid` of a callqueue.update about a caller, and its seq; read without parsing the frame. */
export function updateKey(data: Buffer): { key: string | null; seq: number } {
  const s = data.indexOf(SEQ);
  const seq = s === -1 ? -1 : intAfter(data, s + SEQ.length);
  const k = data.indexOf(KIND);
  if (k === -1) return { key: null, seq };
  const kEnd = data.indexOf(0x22, k + KIND.length);
  const kind = data.toString('latin1', k + KIND.length, kEnd);
  if (!kind.startsWith('caller_')) return { key: null, seq };
  const c = data.indexOf(CALLER);
  const u = c === -1 ? -1 : data.indexOf(UUID, c);
  if (u === -1) return { key: null, seq };
  return { key: `${kind}:${data.toString('latin1', u + UUID.length, u + UUID.length + 36)}`, seq };
}
