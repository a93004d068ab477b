/** @module workflows — every task type the simulator runs. */
import { createArchive } from './create-archive.js';
import { extractArchive } from './extract-archive.js';
import { importFiles } from './import.js';
import { relocate } from './relocate.js';
import { remoteDownload } from './remote-download.js';
import type { WorkflowServices } from './services.js';
import type { WorkflowDefinition } from './types.js';

export const WORKFLOWS: readonly WorkflowDefinition<WorkflowServices>[] = [createArchive, extractArchive, remoteDownload, importFiles, relocate];
