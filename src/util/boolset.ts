/**
 * @module util/boolset
 * Cloudreve's permission "boolset": base64 of a byte array where bit i is bit i % 8 of
 * byte i >> 3 (spec §2.3).
 */

/** Encodes a list of set bit numbers as a boolset string. */
export function encodeBoolset(bits: Iterable<number>): string {
  const list = [...bits];
  const max = list.length ? Math.max(...list) : -1;
  const bytes = Buffer.alloc(max < 0 ? 0 : (max >> 3) + 1);
  for (const bit of list) bytes[bit >> 3]! |= 1 << (bit % 8);
  return bytes.toString('base64');
}

/** Lists the bit numbers set in a boolset string. */
export function decodeBoolset(text: string): number[] {
  const bytes = Buffer.from(text, 'base64');
  const bits: number[] = [];
  bytes.forEach((byte, i) => {
    for (let b = 0; b < 8; b++) if (byte & (1 << b)) bits.push(i * 8 + b);
  });
  return bits;
}
