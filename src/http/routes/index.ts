/** @module http/routes — the handler table, one entry per contract operation. */
import { adminHandlers } from './admin.js';
import { fileHandlers } from './file.js';
import { sessionHandlers } from './session.js';
import { siteHandlers } from './site.js';
import type { Handlers } from './types.js';
import { uploadHandlers } from './upload.js';
import { userHandlers } from './user.js';
import { workflowHandlers } from './workflow.js';

export const handlers: Handlers = { ...siteHandlers, ...sessionHandlers, ...userHandlers, ...fileHandlers, ...uploadHandlers, ...workflowHandlers, ...adminHandlers };
export type { Handler, HandlerCall, Handlers } from './types.js';
