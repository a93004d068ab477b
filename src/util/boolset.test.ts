import { describe, it, expect } from 'vitest';
import { decodeBoolset, encodeBoolset } from './boolset.js';

const ADMIN_BITS = [0, 2, 3, 4, 5, 6, 7, 9, 11, 12, 16];
const USER_BITS = [2, 7, 11];

describe('encodeBoolset', () => {
  it('encodes the Admin group bits of a fresh install as "/RoB"', () => {
    expect(encodeBoolset(ADMIN_BITS)).toBe('/RoB');
  });

  it('encodes the User group bits of a fresh install as "hAg="', () => {
    expect(encodeBoolset(USER_BITS)).toBe('hAg=');
  });

  it('puts bit i in bit i % 8 of byte i >> 3', () => {
    expect(Buffer.from(encodeBoolset([0]), 'base64')).toEqual(Buffer.from([0x01]));
    expect(Buffer.from(encodeBoolset([7]), 'base64')).toEqual(Buffer.from([0x80]));
    expect(Buffer.from(encodeBoolset([8]), 'base64')).toEqual(Buffer.from([0x00, 0x01]));
    expect(Buffer.from(encodeBoolset([5, 9]), 'base64')).toEqual(Buffer.from([0x20, 0x02]));
    expect(Buffer.from(encodeBoolset([23]), 'base64')).toEqual(Buffer.from([0x00, 0x00, 0x80]));
  });

  it('uses as many bytes as the highest bit needs', () => {
    expect(Buffer.from(encodeBoolset([1, 15]), 'base64').length).toBe(2);
    expect(Buffer.from(encodeBoolset([16]), 'base64').length).toBe(3);
  });

  it('encodes no bits as the empty string', () => {
    expect(encodeBoolset([])).toBe('');
  });

  it('does not depend on order or repetition of the bits', () => {
    expect(encodeBoolset([16, 12, 11, 9, 7, 6, 5, 4, 3, 2, 0, 0, 16])).toBe('/RoB');
  });

  it('accepts any iterable, such as a Set', () => {
    expect(encodeBoolset(new Set(USER_BITS))).toBe('hAg=');
  });
});

describe('decodeBoolset', () => {
  it('lists the Admin bits of "/RoB" in ascending order', () => {
    expect(decodeBoolset('/RoB')).toEqual(ADMIN_BITS);
  });

  it('lists the User bits of "hAg="', () => {
    expect(decodeBoolset('hAg=')).toEqual(USER_BITS);
  });

  it('decodes the empty string as no bits', () => {
    expect(decodeBoolset('')).toEqual([]);
  });

  it('ignores zero bytes', () => {
    expect(decodeBoolset(Buffer.from([0, 0, 0x80]).toString('base64'))).toEqual([23]);
  });

  it('round-trips any sorted list of bits through encodeBoolset', () => {
    const lists = [[], [0], [1, 7], [8], ADMIN_BITS, USER_BITS, [0, 1, 2, 3, 4, 5, 6, 7, 8, 63, 64, 255]];
    for (const bits of lists) expect(decodeBoolset(encodeBoolset(bits))).toEqual(bits);
  });
});
