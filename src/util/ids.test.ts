import { describe, it, expect } from 'vitest';
import Hashids from 'hashids';
import { IdType, createIdCodec } from './ids.js';
import type { IdTypeName } from './ids.js';

const SALT = 'simulator-test-salt';
const TYPE_NAMES = Object.keys(IdType) as IdTypeName[];

describe('hashids (wire compatibility)', () => {
  it('matches the Cloudreve test vector: salt "this is my salt", [45,434,1313,99] is "7nnhzEsDkiYa"', () => {
    expect(new Hashids('this is my salt').encode([45, 434, 1313, 99])).toBe('7nnhzEsDkiYa');
  });

  it('decodes the test vector back to its numbers', () => {
    expect(new Hashids('this is my salt').decode('7nnhzEsDkiYa')).toEqual([45, 434, 1313, 99]);
  });
});

describe('IdType', () => {
  it('numbers the object types as the server does (task is 11)', () => {
    expect(IdType).toEqual({
      share: 0,
      user: 1,
      file: 2,
      folder: 3,
      tag: 4,
      policy: 5,
      sourceLink: 6,
      group: 7,
      entity: 8,
      auditLog: 9,
      node: 10,
      task: 11,
      webdav: 12,
      payment: 13,
    });
  });
});

describe('createIdCodec', () => {
  const codec = createIdCodec(SALT);
  const raw = new Hashids(SALT);

  it('encodes the pair [id, type number] with the default alphabet, minimum length 0 and the salt', () => {
    expect(codec.encode('task', 1)).toBe(raw.encode([1, 11]));
    expect(codec.encode('user', 42)).toBe(raw.encode([42, 1]));
    expect(codec.encode('share', 0)).toBe(raw.encode([0, 0]));
  });

  it('round-trips ids of every type', () => {
    for (const type of TYPE_NAMES) {
      for (const id of [0, 1, 2, 17, 1_000, 123_456_789, Number.MAX_SAFE_INTEGER]) {
        expect(codec.decode(type, codec.encode(type, id))).toBe(id);
      }
    }
  });

  it('gives different strings for the same number under different types', () => {
    const all = TYPE_NAMES.map((type) => codec.encode(type, 1));
    expect(new Set(all).size).toBe(TYPE_NAMES.length);
  });

  it('depends on the salt', () => {
    expect(createIdCodec('another salt').encode('task', 1) === codec.encode('task', 1)).toBe(false);
    expect(createIdCodec('another salt').decode('task', codec.encode('task', 1))).toBe(undefined);
  });

  it('rejects a hashid of another type: a user id or node id passed as a task id', () => {
    expect(codec.decode('task', codec.encode('user', 1))).toBe(undefined);
    expect(codec.decode('task', codec.encode('node', 1))).toBe(undefined);
    expect(codec.decode('user', codec.encode('task', 1))).toBe(undefined);
  });

  it('rejects garbage: characters outside the alphabet, the empty string, words', () => {
    expect(codec.decode('task', 'zz!')).toBe(undefined);
    expect(codec.decode('task', '')).toBe(undefined);
    expect(codec.decode('task', 'not-a-task')).toBe(undefined);
    expect(codec.decode('task', '../1')).toBe(undefined);
  });

  it('rejects strings that are not the canonical encoding', () => {
    const task = codec.encode('task', 1);
    // "Q" is a guard character under this salt: hashids would find the same payload behind it.
    expect(codec.decode('task', `Q${task}`)).toBe(undefined);
    expect(codec.decode('task', `${task}Q`)).toBe(undefined);
    expect(codec.decode('task', task.toUpperCase())).toBe(undefined);
    expect(codec.decode('task', task.toLowerCase())).toBe(undefined);
    expect(codec.decode('task', ` ${task}`)).toBe(undefined);
    expect(codec.decode('task', task.slice(0, -1))).toBe(undefined);
  });

  it('rejects hashids of three numbers, or of one, even when the second is the type', () => {
    expect(codec.decode('task', raw.encode([1, 11, 0]))).toBe(undefined);
    expect(codec.decode('task', raw.encode([1, 11, 11]))).toBe(undefined);
    expect(codec.decode('task', raw.encode([1]))).toBe(undefined);
    expect(codec.decode('task', raw.encode([11]))).toBe(undefined);
  });

  it('rejects an id beyond the safe integer range', () => {
    expect(codec.decode('task', raw.encode([9007199254740993n, 11n]))).toBe(undefined);
  });
});
