/**
 * @module services/signer
 * Signed URLs (spec F§12.1–§12.2): the `sign` query value is
 * `base64url(HMAC-SHA256(secret, "<decoded path>:<expiry>")) + ":" + <expiry>`, expiry in Unix
 * seconds. It binds the path only, so `download=true` can be added or removed. The secret is
 * the world's own, drawn from its random source the first time it is needed.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ApiError, Code } from '../errors.js';
import type { Random } from '../util/random.js';

export const SignMessages = {
  expireMissing: 'expire timestamp is missing',
  expireNotInteger: 'sign expired',
  expired: 'signature expired',
  invalid: 'invalid sign',
} as const;

export interface UrlSigner {
  /** The `sign` value for `path` (decoded) that expires at `expires` (Unix seconds). */
  sign(path: string, expires: number): string;
  /** Checks a `sign` value for `path` at `now` (Unix seconds); throws the server's ApiError when it fails. */
  check(path: string, sign: string | undefined, now: number): void;
}

const INTEGER = /^[+-]?\d{1,18}$/;

export function createUrlSigner(random: Random): UrlSigner {
  let key: Buffer | undefined;
  const secret = (): Buffer => (key ??= random.bytes(32));
  const sign = (path: string, expires: number): string => {
    const mac = createHmac('sha256', secret()).update(`${path}:${expires}`).digest('base64url');
    // Go's URL-safe base64 keeps its padding.
    return `${mac}${'='.repeat((4 - (mac.length % 4)) % 4)}:${expires}`;
  };
  return {
    sign,
    check(path, text, now) {
      const value = text ?? '';
      const expiry = value.slice(value.lastIndexOf(':') + 1);
      if (expiry === '') throw new ApiError(Code.NoPermission, SignMessages.expireMissing);
      if (!INTEGER.test(expiry)) throw new ApiError(Code.InvalidSign, SignMessages.expireNotInteger);
      const expires = Number(expiry);
      if (expires < now) throw new ApiError(Code.SignExpired, SignMessages.expired);
      const want = Buffer.from(sign(path, expires));
      const got = Buffer.from(value);
      if (want.length !== got.length || !timingSafeEqual(want, got)) throw new ApiError(Code.InvalidSign, SignMessages.invalid);
    },
  };
}
