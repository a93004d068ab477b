/**
 * @module util/random
 * The simulator's source of randomness. Seeded, every value it gives is reproducible; without a
 * seed it draws from the operating system. Nothing in `src/` uses `Math.random`.
 */
import { createHash, randomBytes } from 'node:crypto';

export interface Random {
  /** `n` random bytes. */
  bytes(n: number): Buffer;
  /** A random UUID v4 in canonical lower-case form. */
  uuid(): string;
}

/** Creates a random source: deterministic from `seed` when one is given. */
export function createRandom(seed?: string): Random {
  let bytes: (n: number) => Buffer;
  if (seed === undefined) {
    bytes = (n) => randomBytes(n);
  } else {
    // A SHA-256 counter stream: simple, deterministic and well mixed.
    let counter = 0;
    let pool = Buffer.alloc(0);
    bytes = (n) => {
      while (pool.length < n) {
        const block = createHash('sha256').update(`${seed}\0${counter++}`).digest();
        pool = Buffer.concat([pool, block]);
      }
      const out = pool.subarray(0, n);
      pool = pool.subarray(n);
      return Buffer.from(out);
    };
  }
  return {
    bytes,
    uuid() {
      const b = bytes(16);
      b[6] = (b[6]! & 0x0f) | 0x40;
      b[8] = (b[8]! & 0x3f) | 0x80;
      return formatUuid(b);
    },
  };
}

function formatUuid(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * Parses a UUID in any of the spellings the server accepts (canonical, upper case, `{…}`,
 * `urn:uuid:…`, 32 bare hex digits) and returns it in canonical lower-case form, or
 * `undefined` when the text is not a UUID.
 */
export function parseUuid(text: string): string | undefined {
  let s = text;
  if (s.length === 45 && s.slice(0, 9).toLowerCase() === 'urn:uuid:') s = s.slice(9);
  else if (s.length === 38 && s.startsWith('{') && s.endsWith('}')) s = s.slice(1, -1);
  let hex: string;
  if (s.length === 36) {
    if (s[8] !== '-' || s[13] !== '-' || s[18] !== '-' || s[23] !== '-') return undefined;
    hex = s.slice(0, 8) + s.slice(9, 13) + s.slice(14, 18) + s.slice(19, 23) + s.slice(24);
  } else if (s.length === 32) {
    hex = s;
  } else {
    return undefined;
  }
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) return undefined;
  return formatUuid(Buffer.from(hex, 'hex'));
}
