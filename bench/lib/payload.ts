/**
 * Bench message bodies carry their publish time: a marker `#T`, 16 digits of microseconds on the
 * machine-wide monotonic clock (process.hrtime: CLOCK_MONOTONIC on Linux, shared by every process
 * on the machine, so publisher and receivers in different processes compare directly), `#`, then
 * padding to the body size. Receivers find markers with Buffer.indexOf in whatever envelope the
 * system wraps the body in (JSON, Pusher, Socket.IO, NATS MSG, batched or not), so counting
 * deliveries and reading latency is the same code for every system. Only [A-Za-z0-9#] is used, so
 * no envelope escapes or re-encodes a byte of it.
 */
export const MARK = Buffer.from('#T');
const DIGITS = 16;
const PAD = 'x'.repeat(65_536);

export function nowMicros(): number {
  const [s, ns] = process.hrtime();
  return s * 1e6 + Math.floor(ns / 1e3);
}

/** A body of exactly `size` bytes (at least 19) stamped with the current time. */
export function stampedBody(size: number, at = nowMicros()): string {
  const stamp = `#T${String(at).padStart(DIGITS, '0')}#`;
  return stamp + PAD.slice(0, Math.max(0, size - stamp.length));
}


/**
 * Counts markers in `data` and hands each timestamp to `onStamp` when given. Returns how many
 * deliveries the frame carried. A marker counts only as `#T`, 16 digits, `#`: binary envelopes
 * (MessagePack floats and integers) can hold the bytes `#T` by chance, and a frame is the same
 * bytes for every subscriber, so one such accident would count a whole fan-out twice.
 */
export function scanStamps(data: Buffer, onStamp?: (micros: number) => void): number {
  let n = 0;
  let i = data.indexOf(MARK);
  while (i !== -1) {
    const end = i + 2 + DIGITS;
    let v = 0;
    let ok = end < data.length && data[end] === 0x23;
    for (let j = i + 2; ok && j < end; j++) {
      const d = data[j]! - 48;
      if (d < 0 || d > 9) ok = false;
      else v = v * 10 + d;
    }
    if (!ok) {
      i = data.indexOf(MARK, i + 1);
      continue;
    }
    n++;
    if (onStamp) onStamp(v);
    i = data.indexOf(MARK, end);
  }
  return n;
}
