// Short texts of a trace's bytes (comms, small field values) decoded once: the same bytes
// give back the same string without a decode, a new string or rehashing it. Replay keeps
// a comm with every pending begin and reads one or two per event; most are repeats.

/** Texts longer than this are decoded every time (they are rare and seldom repeat). */
const MAX_BYTES = 32;
const SLOTS = 4096;

/** Slot i's bytes at [i * MAX_BYTES, + lengths[i]); length 0 is an empty slot. */
const slotBytes = new Uint8Array(SLOTS * MAX_BYTES);
const slotLengths = new Uint8Array(SLOTS);
const slotTexts: string[] = new Array<string>(SLOTS).fill("");

/**
 * buf[start, end) decoded as UTF-8. A short text is looked up by its bytes in a fixed table
 * (a slot keeps the latest text whose bytes hash to it), so a repeat costs a hash and a
 * compare; the string returned is a copy, never a view of `buf`.
 */
export function bytesText(buf: Buffer, start: number, end: number): string {
  const length = end - start;
  if (length <= 0 || length > MAX_BYTES) return buf.toString("utf8", start, end);
  let hash = 0x811c9dc5;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ buf[i], 0x01000193);
  const slot = (hash ^ (hash >>> 15)) & (SLOTS - 1);
  const at = slot * MAX_BYTES;
  if (slotLengths[slot] === length) {
    let same = true;
    for (let i = 0; i < length; i++) {
      if (slotBytes[at + i] !== buf[start + i]) {
        same = false;
        break;
      }
    }
    if (same) return slotTexts[slot];
  }
  const text = buf.toString("utf8", start, end);
  slotBytes.set(buf.subarray(start, end), at);
  slotLengths[slot] = length;
  slotTexts[slot] = text;
  return text;
}
