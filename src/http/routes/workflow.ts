/**
 * @module http/routes/workflow
 * The Workflow routes. Guards and binding already ran (from the contract); an operation whose
 * behaviour is not simulated yet answers 40019 "Feature not enabled".
 */
import { ApiError, Code, Msg } from '../../errors.js';
import type { Handlers } from './types.js';

const notYet = (): never => {
  throw new ApiError(Code.FeatureNotEnabled, Msg.featureNotEnabled);
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
  listTasks: notYet,
  getTaskProgress: notYet,
  createArchive: notYet,
  extractArchive: notYet,
  createDownload: notYet,
  selectDownloadFiles: notYet,
  cancelDownload: notYet,
  importFiles: notYet,
  relocateFiles: notYet,
};
