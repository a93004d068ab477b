/**
 * @module services/tokens
 * Access and refresh tokens: HS256 JWTs signed with the site secret, with the real server's
 * claims (spec §2.1, §14). Times come from the simulator clock, so tokens expire on virtual time.
 */
import { createHmac } from 'node:crypto';
import type { Clock } from '../engine/clock.js';
import type { Random } from '../util/random.js';
import type { User } from '../accounts/accounts.js';
import type { IdCodec } from '../util/ids.js';
import { lazy } from '../util/lazy.js';

/** jose takes about 45 ms to load; a simulator pays for it at its first sign-in, not at start. */
const jose = lazy(() => import('jose'));

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  /** Unix ms. */
  accessExpires: number;
  refreshExpires: number;
}

export interface VerifiedToken {
  tokenType: string;
  sub: string;
  stateHash?: string;
  rootTokenId?: string;
}

export interface TokenServiceOptions {
  secret: Uint8Array;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
  clock: Clock;
  random: Random;
  ids: IdCodec;
}

export interface TokenService {
  issue(user: User, rootTokenId?: string): Promise<TokenPair>;
  /** Verifies signature, `exp` and `nbf` against the simulator clock; undefined when invalid. */
  verify(token: string): Promise<VerifiedToken | undefined>;
  /** The refresh token's `state_hash` for the user's current credentials. */
  stateHash(user: User): string;
}

// Any HMAC algorithm verifies, as with the real server; `none` and RSA do not.
const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'];

/** How many verified tokens a service remembers (clients send the same token with every request). */
const VERIFIED_LIMIT = 1000;

/** A token whose signature verified, with the times to check again at each use. */
interface Verified {
  token: VerifiedToken;
  exp?: number;
  nbf?: number;
}

export function createTokenService(o: TokenServiceOptions): TokenService {
  const sign = async (payload: Record<string, unknown>): Promise<string> => {
    const { SignJWT } = await jose();
    return new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(o.secret);
  };

  const stateHash = (user: User): string =>
    createHmac('sha256', o.secret)
      .update(`${user.id}\0${user.password}\0${user.credentialVersion}`)
      .digest('base64');

  const verified = new Map<string, Verified>();
  return {
    stateHash,
    async issue(user, rootTokenId) {
      const now = o.clock.now();
      const nowSeconds = Math.floor(now / 1000);
      const sub = o.ids.encode('user', user.id);
      const accessExpires = now + o.accessTtlSeconds * 1000;
      const refreshExpires = now + o.refreshTtlSeconds * 1000;
      // Claim order as the server writes them: token_type, sub, exp, nbf (no iat).
      const accessToken = await sign({
        token_type: 'access',
        sub,
        exp: nowSeconds + o.accessTtlSeconds,
        nbf: nowSeconds,
      });
      const refreshToken = await sign({
        token_type: 'refresh',
        sub,
        exp: nowSeconds + o.refreshTtlSeconds,
        nbf: nowSeconds,
        state_hash: stateHash(user),
        root_token_id: rootTokenId ?? o.random.uuid(),
      });
      return { accessToken, refreshToken, accessExpires, refreshExpires };
    },
    async verify(token) {
      // A token verified before is checked again only against the clock, as jose checks it.
      const known = verified.get(token);
      if (known) {
        const nowSeconds = Math.floor(o.clock.now() / 1000);
        if ((known.exp !== undefined && known.exp <= nowSeconds) || (known.nbf !== undefined && known.nbf > nowSeconds)) return undefined;
        return { ...known.token };
      }
      const { jwtVerify } = await jose();
      try {
        const { payload } = await jwtVerify(token, o.secret, {
          algorithms: HMAC_ALGORITHMS,
          currentDate: new Date(o.clock.now()),
        });
        if (typeof payload.token_type !== 'string' || typeof payload.sub !== 'string') return undefined;
        const out: VerifiedToken = { tokenType: payload.token_type, sub: payload.sub };
        if (typeof payload.state_hash === 'string') out.stateHash = payload.state_hash;
        if (typeof payload.root_token_id === 'string') out.rootTokenId = payload.root_token_id;
        if (verified.size >= VERIFIED_LIMIT) verified.delete(verified.keys().next().value!);
        verified.set(token, { token: out, ...(payload.exp !== undefined ? { exp: payload.exp } : {}), ...(payload.nbf !== undefined ? { nbf: payload.nbf } : {}) });
        return { ...out };
      } catch {
        return undefined;
      }
    },
  };
}
