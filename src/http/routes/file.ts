/**
 * @module http/routes/file
 * The file routes. No login guard (the file system refuses anonymous callers itself); the
 * content route's guards check the URL's signature and the entity id first.
 */
import type { Request } from 'express';
import { contentSource, createFile, fileInfo, fileThumb, fileUrls, listFiles } from '../../services/files.js';
import { archiveDownload, createArchiveSession, listArchive } from '../../services/files-archive.js';
import { deleteFiles } from '../../services/files-delete.js';
import { siteUrlFor } from '../../services/admin.js';
import type { ServiceContext } from '../../services/context.js';
import { contentReply } from '../content.js';
import type { Handler, Handlers } from './types.js';

/** Where URLs made for this request start: the `siteURL` setting when set, else its own scheme and host. */
const siteUrlOf = (req: Request, ctx: ServiceContext): string =>
  siteUrlFor(ctx, `${req.protocol}://${req.get('host') ?? '127.0.0.1'}`, req.get('host'));

const serveContent: Handler<'getFileContent'> & Handler<'headFileContent'> = ({ ctx, entityId, req, query }) =>
  contentReply(req, contentSource(ctx, entityId!), String(req.params.name ?? ''), (query.download ?? '') !== '');

export const fileHandlers: Pick<
  Handlers,
  | 'listFiles'
  | 'createFile'
  | 'getFileInfo'
  | 'getFileUrl'
  | 'getFileContent'
  | 'headFileContent'
  | 'getFileThumb'
  | 'deleteFiles'
  | 'listArchiveFiles'
  | 'getArchiveDownload'
> = {
  listFiles: ({ ctx, caller, query }) => listFiles(ctx, caller, query),
  createFile: ({ ctx, caller, body }) => createFile(ctx, caller, body),
  getFileInfo: ({ ctx, caller, query }) => fileInfo(ctx, caller, query),
  getFileUrl: ({ ctx, caller, body, req }) =>
    body.archive ? createArchiveSession(ctx, caller, body, siteUrlOf(req, ctx)) : fileUrls(ctx, caller, body, siteUrlOf(req, ctx)),
  getFileContent: serveContent,
  headFileContent: serveContent,
  getFileThumb: ({ ctx, caller, query }) => fileThumb(ctx, caller, query),
  deleteFiles: ({ ctx, caller, body }) => {
    deleteFiles(ctx, caller, body);
    return undefined;
  },
  listArchiveFiles: ({ ctx, caller, query }) => listArchive(ctx, caller, query),
  getArchiveDownload: ({ ctx, req }) => archiveDownload(ctx, String(req.params.sessionID ?? '')),
};
