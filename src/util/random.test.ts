import { describe, it, expect } from 'vitest';
import { createRandom, parseUuid } from './random.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('createRandom', () => {
  it('is deterministic for a seed: the same seed gives the same sequence', () => {
    const a = createRandom('seed-a');
    const b = createRandom('seed-a');
    const seqA = [a.uuid(), a.bytes(7).toString('hex'), a.uuid(), a.bytes(40).toString('hex')];
    const seqB = [b.uuid(), b.bytes(7).toString('hex'), b.uuid(), b.bytes(40).toString('hex')];
    expect(seqA).toEqual(seqB);
  });

  it('gives different sequences for different seeds', () => {
    const a = createRandom('seed-a');
    const b = createRandom('seed-b');
    expect(a.bytes(32).equals(b.bytes(32))).toBe(false);
    expect(a.uuid() === b.uuid()).toBe(false);
  });

  it('gives a seeded stream that does not depend on how it is sliced', () => {
    const whole = createRandom('slices').bytes(100);
    const r = createRandom('slices');
    const parts = Buffer.concat([r.bytes(1), r.bytes(31), r.bytes(33), r.bytes(0), r.bytes(35)]);
    expect(parts.equals(whole)).toBe(true);
  });

  it('does not repeat itself within a seeded stream', () => {
    const r = createRandom('no-repeat');
    const ids = new Set<string>();
    for (let i = 0; i < 200; i++) ids.add(r.uuid());
    expect(ids.size).toBe(200);
  });

  it('returns exactly n bytes', () => {
    expect(createRandom('n').bytes(0).length).toBe(0);
    expect(createRandom('n').bytes(5).length).toBe(5);
    expect(createRandom('n').bytes(100).length).toBe(100);
    expect(createRandom().bytes(16).length).toBe(16);
  });

  it('returned bytes are a copy: changing them does not change later output', () => {
    const a = createRandom('copy');
    const b = createRandom('copy');
    const first = a.bytes(4);
    first.fill(0);
    expect(a.bytes(4).equals(b.bytes(8).subarray(4))).toBe(true);
  });

  it('uuid() is a version 4, RFC 4122 variant UUID in canonical lower-case form (seeded)', () => {
    const r = createRandom('uuid');
    for (let i = 0; i < 50; i++) {
      const id = r.uuid();
      expect(UUID_V4.test(id)).toBe(true);
      expect(parseUuid(id)).toBe(id);
    }
  });

  it('uuid() is a canonical v4 UUID without a seed, and differs between calls', () => {
    const r = createRandom();
    const a = r.uuid();
    const b = r.uuid();
    expect(UUID_V4.test(a)).toBe(true);
    expect(UUID_V4.test(b)).toBe(true);
    expect(a === b).toBe(false);
  });
});

describe('parseUuid', () => {
  const canonical = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';

  it('accepts the canonical form unchanged', () => {
    expect(parseUuid(canonical)).toBe(canonical);
  });

  it('accepts upper case and returns lower case', () => {
    expect(parseUuid('6BA7B810-9DAD-11D1-80B4-00C04FD430C8')).toBe(canonical);
  });

  it('accepts the {braced} form', () => {
    expect(parseUuid(`{${canonical}}`)).toBe(canonical);
  });

  it('accepts the urn:uuid: form, in either case', () => {
    expect(parseUuid(`urn:uuid:${canonical}`)).toBe(canonical);
    expect(parseUuid(`URN:UUID:${canonical.toUpperCase()}`)).toBe(canonical);
  });

  it('accepts 32 bare hex digits', () => {
    expect(parseUuid('6ba7b8109dad11d180b400c04fd430c8')).toBe(canonical);
    expect(parseUuid('6BA7B8109DAD11D180B400C04FD430C8')).toBe(canonical);
  });

  it('accepts any version, not only v4', () => {
    expect(parseUuid('00000000-0000-0000-0000-000000000000')).toBe('00000000-0000-0000-0000-000000000000');
  });

  it('rejects short or empty text', () => {
    expect(parseUuid('abc')).toBe(undefined);
    expect(parseUuid('')).toBe(undefined);
  });

  it('rejects hyphens in the wrong places', () => {
    expect(parseUuid('6ba7b81-09dad-11d1-80b4-00c04fd430c8')).toBe(undefined);
    expect(parseUuid('6ba7b810-9dad-11d180-b4-00c04fd430c8')).toBe(undefined);
    expect(parseUuid('6ba7b810-9dad-11d1-80b400c04fd430c8-')).toBe(undefined);
    expect(parseUuid('6ba7b8109dad11d180b400c04fd430c8----')).toBe(undefined);
  });

  it('rejects non-hex digits', () => {
    expect(parseUuid('6ba7b810-9dad-11d1-80b4-00c04fd430cg')).toBe(undefined);
    expect(parseUuid('zba7b8109dad11d180b400c04fd430c8')).toBe(undefined);
    expect(parseUuid('6ba7b810-9dad-11d1-80b4-00c04fd430c ')).toBe(undefined);
    expect(parseUuid('+ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe(undefined);
  });

  it('rejects a wrong length or mismatched wrappers', () => {
    expect(parseUuid(`${canonical}0`)).toBe(undefined);
    expect(parseUuid(canonical.slice(1))).toBe(undefined);
    expect(parseUuid(`{${canonical}`)).toBe(undefined);
    expect(parseUuid(`(${canonical})`)).toBe(undefined);
    expect(parseUuid(`urn:uid:${canonical}0`)).toBe(undefined);
    expect(parseUuid('{6ba7b8109dad11d180b400c04fd430c8}')).toBe(undefined);
    expect(parseUuid('urn:uuid:6ba7b8109dad11d180b400c04fd430c8')).toBe(undefined);
    expect(parseUuid(` ${canonical}`)).toBe(undefined);
  });
});
