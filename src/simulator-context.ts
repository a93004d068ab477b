/**
 * @module simulator-context
 * Builds one world's service context (clock, accounts, ids, tokens, drive, engine) from the
 * resolved options.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import { loadAccounts } from './accounts/accounts.js';
import { createDrive, type DriveSnapshot } from './drive/drive.js';
import { createClock, type Clock } from './engine/clock.js';
import { createEngine, type EngineOptions, type TasksSnapshot } from './engine/engine.js';
import type { ResolvedOptions } from './options.js';
import type { ServiceContext } from './services/context.js';
import { MASTER_NODE_ID, MASTER_NODE } from './services/tasks.js';
import { createPathLocks } from './services/locks.js';
import { createUrlSigner } from './services/signer.js';
import { createTokenService } from './services/tokens.js';
import { createIdCodec } from './util/ids.js';
import { createRandom } from './util/random.js';
import { loadCatalogue } from './remote/catalogue.js';
import { createDownloader, type Job } from './remote/downloader.js';
import { loadPolicies } from './storage/policies.js';
import { WORKFLOWS } from './workflows/index.js';
import type { MasterNodeState, WorkflowServices } from './workflows/services.js';

/** Versions are compared as numbers: below 4.18.0 the simulator behaves like 4.0.0 (spec §17). */
export function isLegacyVersion(version: string): boolean {
  const [major = 0, minor = 0] = version.split(/[.-]/).map((p) => Number.parseInt(p, 10) || 0);
  return major < 4 || (major === 4 && minor < 18);
}

/** Everything of a world a snapshot keeps besides the drive files. */
export interface WorldSnapshot {
  format: 'cloudreve-sim-snapshot/1';
  namespace: string;
  /** Simulated Unix ms when the snapshot was taken. */
  clockMs: number;
  drive: DriveSnapshot;
  tasks: TasksSnapshot;
  revokedSessions: string[];
  /** The simulated downloader's jobs (absent in older snapshots). */
  downloads?: Job[];
  /** The master node's settings (`/admin/node/1`; absent in older snapshots). */
  node?: MasterNodeState;
  /** Site settings written through `PATCH /admin/settings` (absent in older snapshots). */
  settings?: Record<string, string>;
}

/** What a world adds to a service context: its clock (kept across resets) and engine hooks. */
export interface ContextExtras {
  clock?: Clock;
  /** Rebuild from a snapshot (its drive files already in place) instead of the fixtures. */
  restore?: WorldSnapshot;
  hooks?: Pick<EngineOptions<WorkflowServices>, 'onTransition' | 'onCreate' | 'iterationFault'>;
}

/** Builds the state services work on (clock, accounts, ids, tokens, drive, engine) from resolved options. */
export function createServiceContext(options: ResolvedOptions, dataDir: string, logger: Logger, extras: ContextExtras = {}): ServiceContext {
  const clock =
    extras.clock ??
    createClock({
      mode: options.clock,
      speed: options.speed,
      ...(options.startTime !== undefined ? { start: options.startTime } : {}),
    });
  const ids = createIdCodec(options.hashSalt);
  const random = createRandom(options.seed);
  // Drawn first, so a seeded world always gets the same one.
  const instanceId = random.uuid();
  const accounts = loadAccounts(options.accountsFile, clock.now());
  const drive = createDrive({
    dataDir,
    fixturesDrive: path.join(options.fixtures, 'drive'),
    accounts,
    clock,
    ...(extras.restore ? { restore: extras.restore.drive } : {}),
  });
  const legacy = isLegacyVersion(options.version);
  const policies = loadPolicies(options.fixtures);
  for (const g of accounts.groups) {
    if (!policies.byId(g.policyId)) throw new TypeError(`Invalid accounts ${options.accountsFile}: group ${g.name} uses storage policy ${g.policyId}, which policies.yaml does not declare.`);
  }
  const services: WorkflowServices = { drive, accounts, ids, legacy, downloader: createDownloader({ catalogue: loadCatalogue(options.fixtures), seed: options.seed ?? '' }),
    fetchAllow: options.fetchAllow,
    node: extras.restore?.node
      ? structuredClone(extras.restore.node)
      : { settings: options.waitForSeeding ? { wait_for_seeding: true } : {}, createdAt: clock.now(), updatedAt: clock.now() },
    policies,
  };
  const engine = createEngine({
    clock,
    profile: options.profile,
    concurrency: options.concurrency,
    workflows: WORKFLOWS,
    services,
    logger,
    nodeId: MASTER_NODE_ID,
    ...extras.hooks,
  });
  if (extras.restore) {
    services.downloader.importJobs(extras.restore.downloads ?? []);
    engine.importTasks(extras.restore.tasks);
  }
  return {
    clock,
    ids,
    accounts,
    random,
    tokens: createTokenService({
      secret: options.jwtSecret,
      accessTtlSeconds: options.accessTokenTtl,
      refreshTtlSeconds: options.refreshTokenTtl,
      clock,
      random,
      ids,
    }),
    site: {
      version: options.version,
      edition: options.edition,
      utcOffsetMinutes: options.utcOffsetMinutes,
      legacy,
      nodes: [MASTER_NODE],
      instanceId,
      config: options.siteConfig,
      cursorPagination: options.cursorPagination,
    },
    revokedSessions: new Set(extras.restore?.revokedSessions ?? []),
    drive,
    engine,
    downloader: services.downloader,
    policies,
    signer: createUrlSigner(random),
    uploads: new Map(),
    locks: createPathLocks(() => clock.now()),
    archiveSessions: new Map(),
    node: services.node,
    settings: new Map(Object.entries(extras.restore?.settings ?? {})),
  };
}

