/**
 * @module http/routes/admin
 * The admin routes for node and site settings. Guards (login, admin) and binding already ran.
 */
import { adminNode, adminSettings, updateAdminNode, updateAdminSettings } from '../../services/admin.js';
import type { Handlers } from './types.js';

export const adminHandlers: Pick<Handlers, 'getAdminNode' | 'updateAdminNode' | 'getAdminSettings' | 'updateAdminSettings'> = {
  getAdminNode: ({ ctx, req }) => adminNode(ctx, Number(req.params.id)),
  updateAdminNode: ({ ctx, req, body }) => updateAdminNode(ctx, Number(req.params.id), body),
  getAdminSettings: ({ ctx, body }) => adminSettings(ctx, body),
  updateAdminSettings: ({ ctx, body }) => updateAdminSettings(ctx, body),
};
