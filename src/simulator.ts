/**
 * @module simulator
 * The Simulator object. It owns everything mutable — clock, accounts, sessions, data folder,
 * HTTP app and server — so two simulators in one process never share anything.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Express } from 'express';
import { pino, type Logger } from 'pino';
import { loadAccounts, type Accounts } from './accounts/accounts.js';
import { loadContract } from './contract/index.js';
import { createClock, type Clock } from './engine/clock.js';
import { createHttpApp } from './http/app.js';
import { resolveOptions, type ResolvedOptions, type SimulatorOptions } from './options.js';
import type { ServiceContext } from './services/context.js';
import { createTokenService } from './services/tokens.js';
import { MASTER_NODE_ID } from './services/tasks.js';
import { createDrive, type Drive } from './drive/drive.js';
import { createEngine } from './engine/engine.js';
import type { WorkflowServices } from './workflows/services.js';
import { WORKFLOWS } from './workflows/index.js';
import { createIdCodec, type IdCodec } from './util/ids.js';
import { createRandom } from './util/random.js';

export interface Simulator {
  /** The express app: hand it to supertest, or mount it in your own server. */
  readonly app: Express;
  /** The simulator's clock; on a virtual clock, `advance(ms)` moves time. */
  readonly clock: Clock;
  /** Hash-id codec under the simulator's salt, to compute ids the way clients see them. */
  readonly ids: IdCodec;
  readonly accounts: Accounts;
  /** The users' drives: look at what tasks produced (`stat`, `diskPath`, `children`). */
  readonly drive: Drive;
  readonly options: Readonly<ResolvedOptions>;
  readonly logger: Logger;
  /** Folder holding the users' drives. */
  readonly dataDir: string;
  /** `http://host:port` once `listen` has resolved, else undefined. */
  readonly url: string | undefined;
  /** Starts an HTTP server (default port 5212 on 127.0.0.1; 0 picks a free port). Resolves to its URL. */
  listen(port?: number, host?: string): Promise<string>;
  /** Stops the server and the clock, and removes the data folder if the simulator created it. */
  close(): Promise<void>;
}

export const DEFAULT_PORT = 5212;
export const DEFAULT_HOST = '127.0.0.1';

/** Versions are compared as numbers: below 4.18.0 the simulator behaves like 4.0.0 (spec §17). */
export function isLegacyVersion(version: string): boolean {
  const [major = 0, minor = 0] = version.split(/[.-]/).map((p) => Number.parseInt(p, 10) || 0);
  return major < 4 || (major === 4 && minor < 18);
}

/** Builds the state services work on (clock, accounts, ids, tokens, drive, engine) from resolved options. */
export function createServiceContext(options: ResolvedOptions, dataDir: string, logger: Logger): ServiceContext {
  const clock = createClock({
    mode: options.clock,
    speed: options.speed,
    ...(options.startTime !== undefined ? { start: options.startTime } : {}),
  });
  const ids = createIdCodec(options.hashSalt);
  const random = createRandom(options.seed);
  const accounts = loadAccounts(options.accountsFile, clock.now());
  const drive = createDrive({ dataDir, fixturesDrive: path.join(options.fixtures, 'drive'), accounts, clock });
  const services: WorkflowServices = { drive, accounts, ids };
  const engine = createEngine({
    clock,
    profile: options.profile,
    concurrency: options.concurrency,
    workflows: WORKFLOWS,
    services,
    logger,
    nodeId: MASTER_NODE_ID,
  });
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
      legacy: isLegacyVersion(options.version),
    },
    revokedSessions: new Set(),
    drive,
    engine,
  };
}

/**
 * Creates a simulator.
 *
 * @example
 * const sim = createSimulator({ clock: 'virtual', seed: 'test' });
 * const res = await request(sim.app).post('/api/v4/session/token')
 *   .send({ email: 'admin@cloudreve.org', password: 'admin' });
 * await sim.close();
 */
export function createSimulator(input: SimulatorOptions = {}): Simulator {
  const options = resolveOptions(input);
  const logger = input.logger ?? pino({ level: options.logLevel, name: 'cloudreve-sim' });
  const ownDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'cloudreve-sim-'));
  if (!ownDataDir) mkdirSync(dataDir, { recursive: true });
  let ctx: ServiceContext;
  try {
    ctx = createServiceContext(options, dataDir, logger);
  } catch (err) {
    if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const { clock, ids, accounts, drive } = ctx;

  const app = createHttpApp(ctx, loadContract(), {
    strict: options.strict,
    debug: options.debug,
    bodyLimit: options.bodyLimit,
    logger,
  });

  let server: Server | undefined;
  let url: string | undefined;
  let closed = false;

  return {
    app,
    clock,
    ids,
    accounts,
    drive,
    options,
    logger,
    dataDir,
    get url() {
      return url;
    },
    listen(port = DEFAULT_PORT, host = DEFAULT_HOST) {
      if (server) return Promise.reject(new Error(`Simulator already listening on ${url}.`));
      return new Promise((resolve, reject) => {
        const s = app.listen(port, host);
        s.once('error', reject);
        s.once('listening', () => {
          s.off('error', reject);
          server = s;
          const addr = s.address() as AddressInfo;
          const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
          url = `http://${shownHost}:${addr.port}`;
          resolve(url);
        });
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      ctx.engine.dispose();
      clock.dispose();
      if (server) {
        const s = server;
        await new Promise<void>((resolve) => {
          s.close(() => resolve());
          s.closeAllConnections();
        });
        server = undefined;
        url = undefined;
      }
      if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
