/** @module http/routes/session — sign-in preparation, sign-in, refresh and sign-out. */
import { prepareLogin, refreshToken, signIn, signOut } from '../../services/session.js';
import type { Handlers } from './types.js';

export const sessionHandlers: Pick<Handlers, 'prepareLogin' | 'signIn' | 'refreshToken' | 'signOut'> = {
  prepareLogin: ({ ctx, query }) => prepareLogin(ctx, query),
  signIn: ({ ctx, body }) => signIn(ctx, body),
  refreshToken: ({ ctx, body }) => refreshToken(ctx, body),
  signOut: ({ ctx, body }) => signOut(ctx, body),
};
