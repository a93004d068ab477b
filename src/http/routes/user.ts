/** @module http/routes/user — GET /user/capacity and GET /user/avatar/:id. */
import { capacity, userAvatar } from '../../services/user.js';
import { HttpReply } from '../reply.js';
import type { Handlers } from './types.js';

/** How long clients may cache an avatar answer (the server's public resource max age). */
const AVATAR_MAX_AGE = 86400;

export const userHandlers: Pick<Handlers, 'getUserCapacity' | 'getUserAvatar'> = {
  getUserCapacity: ({ ctx, caller }) => capacity(ctx, caller!),
  getUserAvatar: ({ ctx, userId, query }) => {
    const avatar = userAvatar(ctx, userId!);
    // Past the user check the answer is public and cacheable, unless the client opts out.
    const headers: Record<string, string> = query.nocache ? {} : { 'Cache-Control': `public, max-age=${AVATAR_MAX_AGE}` };
    switch (avatar.kind) {
      case 'none':
        // No avatar: an empty 404, so the UI draws the initials.
        return new HttpReply(404, headers);
    }
  },
};
