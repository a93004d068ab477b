/**
 * @module http/routes/file
 * The file routes. No login guard (the file system refuses anonymous callers itself); the
 * content route's guards check the URL's signature and the entity id first.
 */
import type { Request } from 'express';
import { contentSource, createFile, fileInfo, fileThumb, fileUrls, listFiles } from '../../services/files.js';
import { contentReply } from '../content.js';
import type { Handler, Handlers } from './types.js';

/** Where URLs made for this request start: its own scheme and host. */
const siteUrlOf = (req: Request): string => `${req.protocol}://${req.get('host') ?? '127.0.0.1'}`;

const serveContent: Handler<'getFileContent'> & Handler<'headFileContent'> = ({ ctx, entityId, req, query }) =>
  contentReply(req, contentSource(ctx, entityId!), String(req.params.name ?? ''), (query.download ?? '') !== '');

export const fileHandlers: Pick<
  Handlers,
  'listFiles' | 'createFile' | 'getFileInfo' | 'getFileUrl' | 'getFileContent' | 'headFileContent' | 'getFileThumb'
> = {
  listFiles: ({ ctx, caller, query }) => listFiles(ctx, caller, query),
  createFile: ({ ctx, caller, body }) => createFile(ctx, caller, body),
  getFileInfo: ({ ctx, caller, query }) => fileInfo(ctx, caller, query),
  getFileUrl: ({ ctx, caller, body, req }) => fileUrls(ctx, caller, body, siteUrlOf(req)),
  getFileContent: serveContent,
  headFileContent: serveContent,
  getFileThumb: ({ ctx, caller, query }) => fileThumb(ctx, caller, query),
};
