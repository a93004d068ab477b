/** @module http/routes/site — GET /site/ping. */
import type { Handlers } from './types.js';

export const siteHandlers: Pick<Handlers, 'ping'> = {
  ping: ({ ctx }) => (ctx.site.edition === 'pro' ? `${ctx.site.version}-pro` : ctx.site.version),
};
