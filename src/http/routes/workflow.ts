/**
 * @module http/routes/workflow
 * The Workflow routes. Guards and binding already ran (from the contract); handlers are thin.
 */
import type { User } from '../../accounts/accounts.js';
import { ApiError, Code, Msg } from '../../errors.js';
import { listTasks, taskProgress } from '../../services/tasks.js';
import { cancelDownload, createArchive, createDownload, createExtract, createImport, createRelocate, selectDownloadFiles } from '../../services/workflow.js';
import type { Handlers } from './types.js';

/** The caller of a `login`-guarded operation (the guard has run). */
const signedIn = (caller: User | undefined): User => {
  if (!caller) throw new ApiError(Code.LoginRequired, Msg.loginRequired);
  return caller;
};

export const workflowHandlers: Pick<
  Handlers,
  | 'listTasks'
  | 'getTaskProgress'
  | 'createArchive'
  | 'extractArchive'
  | 'createDownload'
  | 'selectDownloadFiles'
  | 'cancelDownload'
  | 'importFiles'
  | 'relocateFiles'
> = {
  listTasks: ({ ctx, caller, query }) => listTasks(ctx, signedIn(caller), query),
  getTaskProgress: ({ ctx, caller, taskId }) => taskProgress(ctx, signedIn(caller), taskId!),
  createArchive: ({ ctx, caller, body }) => createArchive(ctx, signedIn(caller), body),
  extractArchive: ({ ctx, caller, body }) => createExtract(ctx, signedIn(caller), body),
  createDownload: ({ ctx, caller, body }) => createDownload(ctx, signedIn(caller), body),
  selectDownloadFiles: ({ ctx, caller, taskId, body }) => selectDownloadFiles(ctx, signedIn(caller), taskId!, body),
  cancelDownload: ({ ctx, caller, taskId }) => cancelDownload(ctx, signedIn(caller), taskId!),
  importFiles: ({ ctx, caller, body }) => createImport(ctx, signedIn(caller), body),
  relocateFiles: ({ ctx, caller, body }) => createRelocate(ctx, signedIn(caller), body),
};
