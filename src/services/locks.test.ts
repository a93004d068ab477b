import { describe, expect, it } from 'vitest';
import { createPathLocks } from './locks.js';

describe('createPathLocks', () => {
  const setup = () => {
    let now = 1000;
    const locks = createPathLocks(() => now);
    return { locks, tick: (ms: number) => (now += ms) };
  };

  it('gives a path to one holder at a time, and takes it back only from that holder', () => {
    const { locks } = setup();
    expect(locks.acquire({ userId: 1, segments: ['a', 'b.txt'], holder: 'x', reserved: 0 })).toBe(true);
    expect(locks.acquire({ userId: 1, segments: ['a', 'b.txt'], holder: 'y', reserved: 0 })).toBe(false);
    expect(locks.acquire({ userId: 2, segments: ['a', 'b.txt'], holder: 'y', reserved: 0 })).toBe(true);
    locks.release(1, ['a', 'b.txt'], 'y');
    expect(locks.at(1, ['a', 'b.txt'])?.holder).toBe('x');
    locks.release(1, ['a', 'b.txt'], 'x');
    expect(locks.at(1, ['a', 'b.txt'])).toBeUndefined();
  });

  it('tells whether a path or anything below it is held, for that user only', () => {
    const { locks } = setup();
    locks.acquire({ userId: 1, segments: ['a', 'b', 'c.txt'], holder: 'x', reserved: 0 });
    expect(locks.within(1, ['a'])).toBe(true);
    expect(locks.within(1, ['a', 'b', 'c.txt'])).toBe(true);
    expect(locks.within(1, [])).toBe(true);
    expect(locks.within(1, ['a', 'bb'])).toBe(false);
    expect(locks.within(1, ['a', 'b', 'c.txt', 'd'])).toBe(false);
    expect(locks.within(2, ['a'])).toBe(false);
  });

  it('sums what live locks reserve, and forgets a lock past its expiry', () => {
    const { locks, tick } = setup();
    locks.acquire({ userId: 1, segments: ['u.bin'], holder: 's', reserved: 100, expiresAt: 2000 });
    locks.acquire({ userId: 1, segments: ['v.bin'], holder: 't', reserved: 5 });
    locks.acquire({ userId: 2, segments: ['w.bin'], holder: 'u', reserved: 7 });
    expect(locks.reserved(1)).toBe(105);
    tick(1000);
    expect(locks.reserved(1)).toBe(5);
    expect(locks.at(1, ['u.bin'])).toBeUndefined();
    expect(locks.within(1, ['u.bin'])).toBe(false);
    expect(locks.acquire({ userId: 1, segments: ['u.bin'], holder: 'n', reserved: 1 })).toBe(true);
  });
});
