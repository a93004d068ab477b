/**
 * @module workflows/services
 * What the simulator lends its workflows, and how a workflow reads a user's URI.
 */
import { existsSync } from 'node:fs';
import type { Accounts, User } from '../accounts/accounts.js';
import type { Schemas } from '../contract/index.js';
import { removeTempDir, type Drive } from '../drive/drive.js';
import type { Task } from '../engine/task.js';
import type { Downloader } from '../remote/downloader.js';
import type { Policies } from '../storage/policies.js';
import { parseUri } from '../drive/uri.js';
import type { IdCodec } from '../util/ids.js';

export interface WorkflowServices {
  drive: Drive;
  accounts: Accounts;
  ids: IdCodec;
  /** Reproduce 4.0.0 behaviour where it differs from 4.18 (spec §17). */
  legacy: boolean;
  /** The simulated downloader of remote downloads. */
  downloader: Downloader;
  /** Host patterns whose URLs are fetched for real. */
  fetchAllow: readonly string[];
  /** Storage policies, and what their storage holds. */
  policies: Policies;
  /** The master node's settings, changed live through `PUT /admin/node/1`. */
  node: MasterNodeState;
}

/** The download settings of a node (spec W§10.2), as the contract types them; absent values are the server's zero values. */
export type NodeDownloadSettings = Schemas['NodeSettings'];

/** The master node as the admin endpoints see it: its settings and when they last changed. */
export interface MasterNodeState {
  settings: NodeDownloadSettings;
  /** Unix ms. */
  createdAt: number;
  /** Unix ms. */
  updatedAt: number;
}

/** How long a download task waits before its next poll: the node's `interval`, else the profile's. */
export function pollWaitMs(services: WorkflowServices, profile: { pollIntervalMs: number }): number {
  const seconds = services.node.settings.interval ?? 0;
  return seconds > 0 ? seconds * 1000 : profile.pollIntervalMs;
}

/** A URI resolved to an object of one user's `my` file system. */
export interface Resolved {
  userId: number;
  segments: string[];
}

/** Why a URI cannot be read or written, in the server's words. */
export type ResolveFailure = 'unparsable' | 'unknown_fs' | 'unsupported_fs' | 'permission_denied';

/**
 * Resolves a URI for `caller` to a place in a `my` file system: the caller's own unless the
 * URI names another user (which is refused). `share`, `shared_with_me` and `trash` are not
 * places this simulator stores files.
 */
export function resolveMy(services: WorkflowServices, caller: User, text: string): Resolved | ResolveFailure {
  const uri = parseUri(text);
  if (!uri) return 'unparsable';
  if (!uri.knownFs) return 'unknown_fs';
  if (uri.fs !== 'my') return 'unsupported_fs';
  if (uri.id !== undefined && services.ids.decode('user', uri.id) !== caller.id) return 'permission_denied';
  return { userId: caller.id, segments: uri.segments };
}

/** Workflow state that owns a private work folder. */
export interface WithWorkDir {
  workDir?: string;
}

/** The task's work folder, made again when it is gone (a restored snapshot holds none). */
export function workDirOf(state: WithWorkDir, services: WorkflowServices, taskId: number): string {
  if (!state.workDir || !existsSync(state.workDir)) state.workDir = services.drive.makeTempDir(`task-${taskId}`);
  return state.workDir;
}

/** A `cleanup` for workflows whose state has a work folder: removes it. */
export async function removeWorkDir(task: Task): Promise<void> {
  removeTempDir((task.state as WithWorkDir).workDir);
}
