/**
 * @module services/context
 * What services see of the simulator: its clock, ids, accounts, tokens and site settings.
 * One context per simulator; services keep no state of their own.
 */
import type { Accounts } from '../accounts/accounts.js';
import type { Drive } from '../drive/drive.js';
import type { Clock } from '../engine/clock.js';
import type { Engine } from '../engine/engine.js';
import type { Downloader } from '../remote/downloader.js';
import type { SiteConfigSettings } from '../site-config.js';
import type { Policies } from '../storage/policies.js';
import type { IdCodec } from '../util/ids.js';
import type { Random } from '../util/random.js';
import type { MasterNodeState } from '../workflows/services.js';
import type { UrlSigner } from './signer.js';
import type { TokenService } from './tokens.js';
import type { PathLocks } from './locks.js';
import type { UploadSession } from './uploads.js';

export type Edition = 'community' | 'pro';

export interface SiteSettings {
  version: string;
  edition: Edition;
  /** Minutes east of UTC for every timestamp written. */
  utcOffsetMinutes: number;
  /** Versions before 4.18.0 reproduce the 4.0.0 behaviours where the two differ (spec §17). */
  legacy: boolean;
  /** The cluster's nodes: the master only (a single-node simulator never allocates a slave, spec §8.3). */
  nodes: ReadonlyArray<{ id: number; name: string; type: 'master' | 'slave' }>;
  /** The site's UUID (`instance_id`), drawn from the world's random source when it is built. */
  instanceId: string;
  /** What GET /site/config/<section> reports. */
  config: SiteConfigSettings;
  /** File listings page by cursor (`next_token`), the default, or by page number. */
  cursorPagination: boolean;
}

export interface ServiceContext {
  readonly clock: Clock;
  readonly ids: IdCodec;
  readonly accounts: Accounts;
  readonly tokens: TokenService;
  readonly random: Random;
  readonly site: SiteSettings;
  /** Root token ids of signed-out sessions: their refresh tokens no longer work. */
  readonly revokedSessions: Set<string>;
  readonly drive: Drive;
  readonly engine: Engine;
  readonly downloader: Downloader;
  readonly policies: Policies;
  /** Signs and checks the content URLs of `POST /file/url` (the world's own secret). */
  readonly signer: UrlSigner;
  /** Upload sessions (`PUT /file/upload`) by session id. */
  readonly uploads: Map<string, UploadSession>;
  /** Paths held by running uploads and content saves (40073 for anyone else). */
  readonly locks: PathLocks;
  /** Downloads of several items as one ZIP (`POST /file/url` with `archive`), by session id. */
  readonly archiveSessions: Map<string, ArchiveSession>;
  /** The master node's settings (`/admin/node/1`), shared with the workflows. */
  readonly node: MasterNodeState;
  /** Site settings written through `PATCH /admin/settings`, by key (values are strings). */
  readonly settings: Map<string, string>;
}

/** What an archive download session keeps: the URIs (resolved only when downloading), the requester and the expiry. */
export interface ArchiveSession {
  readonly uris: readonly string[];
  readonly userId: number;
  /** Unix ms. */
  readonly expiresAt: number;
}
