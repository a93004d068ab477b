/**
 * @module services/user
 * The signed-in user's capacity and users' avatars (spec files §4).
 */
import type { User } from '../accounts/accounts.js';
import type { Schemas } from '../contract/index.js';
import { ApiError, Code } from '../errors.js';
import type { ServiceContext } from './context.js';

/** GET /user/capacity: the group's quota and the bytes of the user's files, plus what running uploads and saves reserve. */
export function capacity(ctx: ServiceContext, user: User): Schemas['Capacity'] {
  return { total: user.group.maxStorage, used: ctx.drive.used(user.id) + ctx.locks.reserved(user.id) };
}

/**
 * What a user's avatar is. The server also knows Gravatar (a redirect) and uploaded images;
 * the simulator's accounts have neither.
 */
export type Avatar = { kind: 'none' };

/** The avatar of user `id`; an unknown user → 40021 with an empty message. */
export function userAvatar(ctx: ServiceContext, id: number): Avatar {
  if (!ctx.accounts.userById(id)) throw new ApiError(Code.UserNotFound, '');
  return { kind: 'none' };
}
