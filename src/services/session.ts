/**
 * @module services/session
 * Sign-in, token refresh and sign-out (spec §14), and resolving the caller of a request from
 * its `Authorization` header (spec §2.1).
 */
import { ApiError, Code, Msg } from '../errors.js';
import type { RequestBody, RequestQuery, Schemas } from '../contract/index.js';
import type { User } from '../accounts/accounts.js';
import { formatTime } from '../util/time.js';
import type { ServiceContext } from './context.js';
import type { TokenPair } from './tokens.js';

/** The user object of sign-in responses, keys in the server's order. */
export function userDto(ctx: ServiceContext, user: User): Schemas['User'] {
  const dto: Schemas['User'] = {
    id: ctx.ids.encode('user', user.id),
    email: user.email,
    nickname: user.nickname,
    status: user.status,
    created_at: formatTime(user.createdAt, ctx.site.utcOffsetMinutes),
  };
  if (user.preferredTheme) dto.preferred_theme = user.preferredTheme;
  dto.group = {
    id: ctx.ids.encode('group', user.group.id),
    name: user.group.name,
  };
  if (user.group.permission) dto.group.permission = user.group.permission;
  // The web UI's delete dialog tells how long the trash keeps things from this.
  if (user.group.trashRetention) dto.group.trash_retention = user.group.trashRetention;
  if (user.language) dto.language = user.language;
  return dto;
}

export function tokenDto(ctx: ServiceContext, pair: TokenPair): Schemas['Token'] {
  return {
    access_token: pair.accessToken,
    refresh_token: pair.refreshToken,
    access_expires: formatTime(pair.accessExpires, ctx.site.utcOffsetMinutes, true),
    refresh_expires: formatTime(pair.refreshExpires, ctx.site.utcOffsetMinutes, true),
  };
}

/**
 * GET /session/prepare: the sign-in methods of an account. The status is not checked here;
 * banned and inactive accounts fail at sign-in.
 */
export function prepareLogin(ctx: ServiceContext, query: RequestQuery<'prepareLogin'>): Schemas['PrepareLoginResponse'] {
  const user = ctx.accounts.userByEmail(query.email);
  if (!user) throw new ApiError(Code.NotFound, Msg.userNotFound);
  // Accounts have no passkeys in the simulator.
  return { webauthn_enabled: false, password_enabled: user.password !== '' };
}

/** POST /session/token */
export async function signIn(ctx: ServiceContext, body: RequestBody<'signIn'>): Promise<Schemas['SignInResponse']> {
  const user = ctx.accounts.userByEmail(body.email);
  if (!user || user.password !== body.password) {
    throw new ApiError(Code.InvalidPassword, Msg.incorrectCredentials);
  }
  if (user.status === 'manual_banned' || user.status === 'sys_banned') {
    throw new ApiError(Code.UserBanned, Msg.accountBlocked);
  }
  if (user.status === 'inactive') {
    throw new ApiError(Code.UserNotActivated, Msg.accountNotActivated);
  }
  return { user: userDto(ctx, user), token: tokenDto(ctx, await ctx.tokens.issue(user)) };
}

/** The user a refresh token belongs to, when it is still good for a new pair. */
async function refreshTokenOwner(ctx: ServiceContext, token: string) {
  const claims = await ctx.tokens.verify(token);
  if (!claims || claims.tokenType !== 'refresh' || !claims.rootTokenId) return undefined;
  if (ctx.revokedSessions.has(claims.rootTokenId)) return undefined;
  const id = ctx.ids.decode('user', claims.sub);
  const user = id === undefined ? undefined : ctx.accounts.userById(id);
  if (!user || user.status !== 'active' || claims.stateHash !== ctx.tokens.stateHash(user)) return undefined;
  return { user, rootTokenId: claims.rootTokenId };
}

/** POST /session/token/refresh: refresh tokens are reusable until sign-out. */
export async function refreshToken(ctx: ServiceContext, body: RequestBody<'refreshToken'>): Promise<Schemas['Token']> {
  const owner = await refreshTokenOwner(ctx, body.refresh_token);
  if (!owner) throw new ApiError(Code.CredentialInvalid, Msg.issueTokenPair);
  return tokenDto(ctx, await ctx.tokens.issue(owner.user, owner.rootTokenId));
}

/** DELETE /session/token: revokes every refresh token of the same sign-in. */
export async function signOut(ctx: ServiceContext, body: RequestBody<'signOut'>): Promise<''> {
  const claims = await ctx.tokens.verify(body.refresh_token);
  if (!claims || claims.tokenType !== 'refresh' || !claims.rootTokenId) {
    throw new ApiError(Code.CredentialInvalid, Msg.parseToken);
  }
  ctx.revokedSessions.add(claims.rootTokenId);
  return '';
}

/**
 * Resolves the caller from an `Authorization` header (spec §2.1): undefined for anonymous,
 * the user for a valid access token; throws the token errors (40020, 404, 50001).
 */
export async function resolveCaller(ctx: ServiceContext, header: string | undefined): Promise<User | undefined> {
  if (!header) return undefined;
  let token = header;
  if (header.startsWith('Bearer ')) {
    token = header.slice('Bearer '.length);
    // `Bearer Cr …` is a node-to-node signature, not a user token.
    if (token === '' || token.startsWith('Cr ')) return undefined;
  }
  const claims = await ctx.tokens.verify(token);
  if (!claims) return undefined;
  if (claims.tokenType !== 'access') throw new ApiError(Code.CredentialInvalid, Msg.invalidTokenType);
  const id = ctx.ids.decode('user', claims.sub);
  if (id === undefined) throw new ApiError(Code.NotFound, Msg.userNotFound);
  const user = ctx.accounts.userById(id);
  if (!user || user.status !== 'active') throw new ApiError(Code.DBError, Msg.failedToGetLoginUser);
  return user;
}
