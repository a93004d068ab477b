/** @module http/routes/site — GET /site/ping and GET /site/config/:section. */
import { siteConfig } from '../../services/site.js';
import type { Handlers } from './types.js';

export const siteHandlers: Pick<Handlers, 'ping' | 'getSiteConfig'> = {
  ping: ({ ctx }) => (ctx.site.edition === 'pro' ? `${ctx.site.version}-pro` : ctx.site.version),
  getSiteConfig: ({ ctx, caller, req }) => siteConfig(ctx, String(req.params.section ?? ''), caller),
};
