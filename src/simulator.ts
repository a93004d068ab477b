/**
 * @module simulator
 * The Simulator object. It owns everything mutable — its worlds (the default one and the
 * namespaces), fault rules, data folder, HTTP app and server — so two simulators in one
 * process never share anything.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Express, RequestHandler } from 'express';
import { pino, type Logger } from 'pino';
import { readYamlFile } from './util/yaml-file.js';
import type { Accounts } from './accounts/accounts.js';
import { loadContract } from './contract/index.js';
import type { SimEvent } from './control/events.js';
import { createCoverage, operationsOf, type ConformanceReport } from './control/conformance.js';
import { WORKFLOWS } from './workflows/index.js';
import { createFaultRegistry, DEFAULT_NAMESPACE, FaultError, type FaultRule, type FaultRuleInput } from './control/faults.js';
import type { Journal } from './control/journal.js';
import { journal as journalMiddleware, NamespaceError, requestFaults, selectWorld } from './control/middleware.js';
import { controlRouter, type MintedToken } from './control/routes.js';
import { worldTasks, type SimTaskInfo } from './control/tasks.js';
import type { Drive } from './drive/drive.js';
import type { Policies } from './storage/policies.js';
import type { Clock } from './engine/clock.js';
import { createHttpApp, streamsBody } from './http/app.js';
import { createAppServer } from './http/server.js';
import { corsMiddleware, webRouter } from './http/web.js';
import { isLegacyVersion } from './simulator-context.js';
import { resolveOptions, type ResolvedOptions, type SimulatorOptions } from './options.js';
import { tokenDto } from './services/session.js';
import type { IdCodec } from './util/ids.js';
import { createRandom } from './util/random.js';
import { createWorld, type SnapshotInfo, type World } from './world.js';

/** One isolated world as the in-process API shows it (the default one or a namespace). */
export interface SimNamespace {
  readonly name: string;
  /** The world's clock (the same object across resets). */
  readonly clock: Clock;
  readonly accounts: Accounts;
  /** The world's drives: look at what tasks produced (`stat`, `diskPath`, `children`). */
  readonly drive: Drive;
  /** The storage policies (from the fixtures' policies.yaml). */
  readonly policies: Policies;
  /** Every request to /api/v4 in this world and its answer. */
  readonly journal: Journal;
  /** Task events from now on; ends when `signal` aborts or the loop breaks. */
  events(signal?: AbortSignal): AsyncIterableIterator<SimEvent>;
  /** Every task of the world, all users, newest first (what GET /__sim/tasks answers). */
  tasks(limit?: number): SimTaskInfo[];
  /** Back to the fixtures: accounts, drive, tasks, ids, clock and journal (fault rules stay). */
  reset(): void;
  /** A token pair for any account, whatever its status, without signing in. */
  mintToken(email: string): Promise<MintedToken>;
  /** Writes the whole world (drive files, tasks, clock, sessions) to a tar file. */
  snapshot(file: string): Promise<SnapshotInfo>;
  /** Replaces the world with a snapshot; tasks that were live are queued again. */
  restore(file: string): Promise<SnapshotInfo>;
}

/** The fault rules of a simulator. */
export interface SimFaults {
  /** Adds rules (checked; a bad one throws naming its field) and returns them with their ids. */
  use(...rules: FaultRuleInput[]): FaultRule[];
  list(): FaultRule[];
  remove(id: string): boolean;
  /** Removes every rule; returns how many there were. */
  clear(): number;
}

export interface Simulator extends SimNamespace {
  /** The express app: hand it to supertest, or mount it in your own server. */
  readonly app: Express;
  /** Hash-id codec under the simulator's salt, to compute ids the way clients see them. */
  readonly ids: IdCodec;
  readonly options: Readonly<ResolvedOptions>;
  readonly logger: Logger;
  /** Folder holding every world's drives. */
  readonly dataDir: string;
  /** `http://host:port` once `listen` has resolved, else undefined. */
  readonly url: string | undefined;
  readonly faults: SimFaults;
  /** A namespace by name, created from the fixtures on first use ("default" is the default world). */
  namespace(name: string): SimNamespace;
  /** The names of every world in use, the default one first. */
  namespaces(): string[];
  /** Stops a namespace's tasks and removes its files; false when there is none. */
  dropNamespace(name: string): boolean;
  /**
   * Behaviour coverage so far, across every world and reset (needs `{ coverage: true }`): which
   * operations clients called with which answers, which task types they saw in which statuses
   * and phases, which error codes and fault kinds reached them. `writeConformanceReport` writes it.
   */
  conformance(): ConformanceReport;
  /** Starts an HTTP server (default port 5212 on 127.0.0.1; 0 picks a free port). Resolves to its URL. */
  listen(port?: number, host?: string): Promise<string>;
  /** Stops the server, every world and its clock, and removes the data folder if the simulator created it. */
  close(): Promise<void>;
}

export const DEFAULT_PORT = 5212;
export const DEFAULT_HOST = '127.0.0.1';

const NAMESPACE_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/** Reads the fault rules of a scenario file (`faults: [...]`). */
function readScenario(file: string): FaultRuleInput[] {
  let doc: unknown;
  try {
    doc = readYamlFile(file);
  } catch (err) {
    throw new TypeError(`Failed to read scenario ${file}: ${(err as Error).message}`);
  }
  const faults = (doc as { faults?: unknown } | null)?.faults;
  if (!Array.isArray(faults)) throw new TypeError(`Invalid scenario ${file}: expected a "faults" list.`);
  return faults as FaultRuleInput[];
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
  const contract = loadContract();
  const coverage = options.coverage ? createCoverage(contract) : undefined;
  const faults = createFaultRegistry(createRandom(options.seed === undefined ? undefined : `${options.seed}\0faults`), coverage && ((rule) => coverage.fault(rule)));
  const worlds = new Map<string, World>();

  const newWorld = (name: string): World =>
    createWorld({ name, options, dataDir: path.join(dataDir, 'worlds', name), logger, faults });

  let defaultWorld: World;
  try {
    if (options.scenario) {
      try {
        faults.add(readScenario(options.scenario));
      } catch (err) {
        if (err instanceof FaultError) throw new TypeError(`Invalid scenario ${options.scenario}: ${err.message}`);
        throw err;
      }
    }
    defaultWorld = newWorld(DEFAULT_NAMESPACE);
  } catch (err) {
    if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  worlds.set(DEFAULT_NAMESPACE, defaultWorld);

  const worldFor = (name: string | undefined): World => {
    if (name === undefined || name === '') return defaultWorld;
    if (!NAMESPACE_NAME.test(name)) {
      throw new NamespaceError(`Invalid namespace ${JSON.stringify(name)}: use 1 to 64 letters, digits, ".", "_" or "-".`);
    }
    let world = worlds.get(name);
    if (!world) {
      world = newWorld(name);
      worlds.set(name, world);
    }
    return world;
  };

  const drop = (name: string): boolean => {
    if (name === DEFAULT_NAMESPACE) throw new NamespaceError('The default world cannot be dropped; reset it instead.');
    const world = worlds.get(name);
    if (!world) return false;
    world.dispose();
    worlds.delete(name);
    return true;
  };

  const mintToken = async (world: World, email: string): Promise<MintedToken | undefined> => {
    const user = world.ctx.accounts.userByEmail(email);
    if (!user) return undefined;
    const pair = tokenDto(world.ctx, await world.ctx.tokens.issue(user));
    return { user_id: world.ctx.ids.encode('user', user.id), ...pair };
  };

  const handle = (world: () => World): SimNamespace => ({
    get name() {
      return world().name;
    },
    get clock() {
      return world().clock;
    },
    get accounts() {
      return world().ctx.accounts;
    },
    get drive() {
      return world().ctx.drive;
    },
    get policies() {
      return world().ctx.policies;
    },
    get journal() {
      return world().journal;
    },
    events: (signal) => world().events.stream(signal),
    tasks: (limit) => worldTasks(world(), limit),
    reset: () => world().reset(),
    snapshot: (file) => world().snapshot(file),
    restore: (file) => world().restore(file),
    async mintToken(email) {
      const minted = await mintToken(world(), email);
      if (!minted) throw new Error(`No account with email "${email}".`);
      return minted;
    },
  });

  const before: RequestHandler[] = [selectWorld(worldFor), journalMiddleware(options.bodyLimit, streamsBody(contract), coverage && ((e) => coverage.observe(e))), requestFaults(faults)];
  const conformance = (): ConformanceReport => {
    if (!coverage) throw new Error('Failed to report conformance: this simulator collects no coverage. Please create it with { coverage: true } (cloudreve-sim --coverage).');
    const universe = { operations: operationsOf(contract, options.edition, isLegacyVersion(options.version)), tasks: WORKFLOWS.map((w) => ({ type: w.type, phases: w.phases })) };
    return coverage.report(universe, { version: options.version, edition: options.edition });
  };
  const control = options.control
    ? controlRouter({ worldFor, worlds: () => [...worlds.values()], drop, faults, mintToken, conformance: coverage ? conformance : undefined, ...(options.controlToken ? { token: options.controlToken } : {}) })
    : undefined;
  // The control plane also answers under /api/__sim: a web frontend's service worker answers
  // every navigation on its origin with its own page except under /api/, so that is where the
  // dashboard stays reachable next to a served frontend.
  const mounts: Array<[string, RequestHandler]> = control ? [['/__sim', control], ['/api/__sim', control]] : [];
  const app = createHttpApp(contract, {
    edition: options.edition,
    legacy: isLegacyVersion(options.version),
    before,
    mounts,
    strict: options.strict,
    debug: options.debug,
    bodyLimit: options.bodyLimit,
    logger,
    ...(options.cors ? { cors: corsMiddleware(options.cors) } : {}),
    ...(options.web ? { fallback: webRouter(options.web, options.siteConfig.basic.title) } : {}),
  });

  let server: Server | undefined;
  let url: string | undefined;
  let closed = false;
  const defaultHandle = handle(() => defaultWorld);

  return Object.defineProperties(
    {
      app,
      options,
      logger,
      dataDir,
      faults: {
        use: (...rules: FaultRuleInput[]) => faults.add(rules),
        list: () => faults.list(),
        remove: (id: string) => faults.remove(id),
        clear: () => faults.clear(),
      },
      namespace(name: string): SimNamespace {
        const world = worldFor(name);
        return handle(() => worldFor(world.name));
      },
      namespaces: () => [...worlds.keys()],
      dropNamespace: drop,
      conformance,
      events: defaultHandle.events,
      tasks: defaultHandle.tasks,
      reset: defaultHandle.reset,
      snapshot: defaultHandle.snapshot,
      restore: defaultHandle.restore,
      mintToken: defaultHandle.mintToken,
      listen(port = DEFAULT_PORT, host = DEFAULT_HOST) {
        if (server) return Promise.reject(new Error(`Simulator already listening on ${url}.`));
        return new Promise<string>((resolve, reject) => {
          const s = createAppServer(app).listen(port, host);
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
        for (const world of worlds.values()) world.dispose();
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
    },
    {
      name: { get: () => defaultWorld.name, enumerable: true },
      clock: { get: () => defaultWorld.clock, enumerable: true },
      accounts: { get: () => defaultWorld.ctx.accounts, enumerable: true },
      drive: { get: () => defaultWorld.ctx.drive, enumerable: true },
      policies: { get: () => defaultWorld.ctx.policies, enumerable: true },
      journal: { get: () => defaultWorld.journal, enumerable: true },
      ids: { get: () => defaultWorld.ctx.ids, enumerable: true },
      url: { get: () => url, enumerable: true },
    },
  ) as unknown as Simulator;
}
