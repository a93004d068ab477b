import { describe, it, expect } from 'vitest';
import { formatTime, parseUtcOffset } from './time.js';

// 2025-05-20T04:43:28.791Z
const T = Date.UTC(2025, 4, 20, 4, 43, 28, 791);

describe('parseUtcOffset', () => {
  it('reads -00:00 as exactly 0 (not -0)', () => {
    expect(Object.is(parseUtcOffset('-00:00'), 0)).toBe(true);
  });

  it('reads "Z" and "z" as UTC', () => {
    expect(parseUtcOffset('Z')).toBe(0);
    expect(parseUtcOffset('z')).toBe(0);
  });

  it('reads "+00:00" as UTC', () => {
    expect(parseUtcOffset('+00:00')).toBe(0);
  });

  it('reads a positive offset as minutes east of UTC', () => {
    expect(parseUtcOffset('+08:00')).toBe(480);
    expect(parseUtcOffset('+05:45')).toBe(345);
    expect(parseUtcOffset('+14:00')).toBe(840);
  });

  it('reads a negative offset as negative minutes', () => {
    expect(parseUtcOffset('-05:30')).toBe(-330);
    expect(parseUtcOffset('-12:00')).toBe(-720);
  });

  it('rejects anything but "Z" or ±HH:MM with a TypeError showing the accepted form', () => {
    for (const bad of ['', '8', '+8:00', '08:00', '+0800', '+08', '+08:0', 'UTC', '+08:00 ', ' +08:00', '+15:00', '+08:60', '++8:00']) {
      expect(() => parseUtcOffset(bad)).toThrow(
        new TypeError(`Invalid UTC offset "${bad}": use "Z" or "±HH:MM", e.g. "+08:00".`),
      );
    }
  });
});

describe('formatTime', () => {
  it('writes offset 0 with a "Z" suffix', () => {
    expect(formatTime(T, 0)).toBe('2025-05-20T04:43:28Z');
  });

  it('writes the local time of a positive offset with "+HH:MM"', () => {
    expect(formatTime(T, 480)).toBe('2025-05-20T12:43:28+08:00');
  });

  it('writes the local time of a negative offset with "-HH:MM", crossing the date line back', () => {
    expect(formatTime(T, -330)).toBe('2025-05-19T23:13:28-05:30');
    expect(formatTime(Date.UTC(2025, 0, 1, 3, 0, 0), -300)).toBe('2024-12-31T22:00:00-05:00');
  });

  it('crosses into the next day (and year) for a positive offset', () => {
    expect(formatTime(Date.UTC(2024, 11, 31, 20, 0, 0), 480)).toBe('2025-01-01T04:00:00+08:00');
  });

  it('drops milliseconds by default (whole seconds, as stored rows are)', () => {
    expect(formatTime(Date.UTC(2025, 4, 20, 4, 43, 28, 999), 0)).toBe('2025-05-20T04:43:28Z');
  });

  it('keeps milliseconds when asked for a fraction', () => {
    expect(formatTime(T, 480, true)).toBe('2025-05-20T12:43:28.791+08:00');
    expect(formatTime(Date.UTC(2025, 4, 20, 4, 43, 28, 123), 0, true)).toBe('2025-05-20T04:43:28.123Z');
  });

  it('trims trailing zeros of the fraction', () => {
    expect(formatTime(Date.UTC(2025, 4, 20, 4, 43, 28, 500), 0, true)).toBe('2025-05-20T04:43:28.5Z');
    expect(formatTime(Date.UTC(2025, 4, 20, 4, 43, 28, 120), 0, true)).toBe('2025-05-20T04:43:28.12Z');
    expect(formatTime(Date.UTC(2025, 4, 20, 4, 43, 28, 7), 0, true)).toBe('2025-05-20T04:43:28.007Z');
  });

  it('writes no fraction at all for a whole second even when asked for one', () => {
    expect(formatTime(Date.UTC(2025, 4, 20, 4, 43, 28, 0), 480, true)).toBe('2025-05-20T12:43:28+08:00');
  });

  it('pads every field to its fixed width', () => {
    expect(formatTime(Date.UTC(987, 0, 2, 3, 4, 5), 65)).toBe('0987-01-02T04:09:05+01:05');
  });

  it('formats the Unix epoch', () => {
    expect(formatTime(0, 0)).toBe('1970-01-01T00:00:00Z');
  });

  it('round-trips through Date.parse for any offset', () => {
    for (const offset of [0, 480, -330, 345, -720, 840]) {
      expect(Date.parse(formatTime(T, offset, true))).toBe(T);
    }
  });

  it('formats with an offset read by parseUtcOffset', () => {
    expect(formatTime(T, parseUtcOffset('+08:00'))).toBe('2025-05-20T12:43:28+08:00');
    expect(formatTime(T, parseUtcOffset('Z'))).toBe('2025-05-20T04:43:28Z');
  });
});

describe('formatTime, remembered', () => {
  it('gives each instant, offset and precision its own text however they are interleaved and however many there are', () => {
    const instants = [-1500, -1, 0, 1, 1500, 1_700_000_000_123];
    const want = (ms: number, off: number, f: boolean) => {
      const d = new Date(ms + off * 60_000).toISOString().slice(0, 23);
      const frac = d.slice(20).replace(/0+$/, '');
      const zone = off === 0 ? 'Z' : `${off < 0 ? '-' : '+'}${String(Math.floor(Math.abs(off) / 60)).padStart(2, '0')}:${String(Math.abs(off) % 60).padStart(2, '0')}`;
      return `${d.slice(0, 19)}${f && frac ? `.${frac}` : ''}${zone}`;
    };
    for (let round = 0; round < 2; round++) {
      for (const ms of instants) for (const off of [0, 480, -330]) for (const f of [false, true]) expect(formatTime(ms, off, f)).toBe(want(ms, off, f));
    }
    // Past what it remembers, it starts over and still answers right.
    for (let ms = 0; ms < 10_000; ms++) formatTime(ms * 1000, 0);
    expect(formatTime(1_700_000_000_123, 0, true)).toBe('2023-11-14T22:13:20.123Z');
    expect(formatTime(1_700_000_000_123, 0)).toBe('2023-11-14T22:13:20Z');
  });
});
