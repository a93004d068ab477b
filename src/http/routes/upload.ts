/**
 * @module http/routes/upload
 * Writing content: `PUT /file/content` and the upload sessions. The content and chunk routes
 * read their raw body themselves, as a stream (the contract declares it
 * `application/octet-stream`, so nothing before the handler reads it).
 */
import { createUploadSession, deleteUploadSession, updateFileContent, uploadChunk } from '../../services/uploads.js';
import type { Handlers } from './types.js';

export const uploadHandlers: Pick<Handlers, 'updateFileContent' | 'createUploadSession' | 'uploadChunk' | 'deleteUploadSession'> = {
  updateFileContent: ({ ctx, caller, query, req }) => updateFileContent(ctx, caller, query, req, (name) => req.get(name)),
  createUploadSession: ({ ctx, caller, body }) => createUploadSession(ctx, caller, body),
  // The validator has checked `index` is a non-negative integer.
  uploadChunk: async ({ ctx, caller, req }) => {
    await uploadChunk(ctx, caller, String(req.params.sessionId ?? ''), Number(req.params.index), req, (name) => req.get(name));
    return undefined;
  },
  deleteUploadSession: ({ ctx, caller, body }) => {
    deleteUploadSession(ctx, caller, body);
    return undefined;
  },
};
