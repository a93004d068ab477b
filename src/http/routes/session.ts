/** @module http/routes/session — sign-in, refresh and sign-out. */
import { refreshToken, signIn, signOut } from '../../services/session.js';
import type { Handlers } from './types.js';

export const sessionHandlers: Pick<Handlers, 'signIn' | 'refreshToken' | 'signOut'> = {
  signIn: ({ ctx, body }) => signIn(ctx, body),
  refreshToken: ({ ctx, body }) => refreshToken(ctx, body),
  signOut: ({ ctx, body }) => signOut(ctx, body),
};
