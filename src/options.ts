/**
 * @module options
 * Simulator options: defaults, the fixtures' site settings, and early checks that name the
 * value at fault and the allowed ones.
 */
import { createHash, randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT, readYamlFile } from './util/yaml-file.js';
import type { Logger } from 'pino';
import { CLOCK_MODES, type ClockMode } from './engine/clock.js';
import { resolveProfile, type ProfileOption, type TimingProfile } from './engine/profile.js';
import { DEFAULT_FETCH_ALLOW } from './remote/fetch.js';
import type { Edition } from './services/context.js';
import { resolveSiteConfig, type SiteConfigInput, type SiteConfigSettings } from './site-config.js';
import { parseUtcOffset } from './util/time.js';

/** The fixtures bundled with the package (found from the package root, so that the CLI's bundle finds them too). */
export const BUNDLED_FIXTURES = path.join(PACKAGE_ROOT, 'fixtures');

export const EDITIONS: readonly Edition[] = ['community', 'pro'];
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface SimulatorOptions {
  /** Folder with `site.yaml` and `accounts.yaml`. Default: the bundled `fixtures/`. */
  fixtures?: string;
  /** Accounts file to use instead of `<fixtures>/accounts.yaml`. */
  accounts?: string;
  /** Where user drives live. Default: a fresh temporary folder, removed by `close()`. */
  dataDir?: string;
  /** Makes ids, secrets and generated data reproducible. */
  seed?: string;
  /** Validate every response against the contract; a mismatch is logged and answered with HTTP 500. */
  strict?: boolean;
  /** `virtual`: time moves only when told to (default in-process). `real`: wall time (default for the CLI). */
  clock?: ClockMode;
  /** Simulated ms per real ms on the real clock. Default 1. */
  speed?: number;
  /** Start of simulated time, Unix ms or an RFC 3339 string. */
  startTime?: number | string;
  /** How long simulated work takes: `realistic` (default), `fast`, `instant`, or `{ base, ...overrides }`. */
  profile?: ProfileOption;
  /** Workers per task queue (`io`: archive, extract, import, relocate; `download`). Default 15 each, as the real server. */
  concurrency?: { io?: number; download?: number };
  /** `pro` (default: every documented endpoint, incl. POST /workflow/reloacte) or `community` (the open-source server). */
  edition?: Edition;
  /** Version reported by GET /site/ping. Default from site.yaml. */
  version?: string;
  /** Hash id salt. Default from site.yaml. */
  hashSalt?: string;
  /** JWT signing secret. Default: derived from `seed`, else random per simulator. */
  jwtSecret?: string;
  /** UTC offset of timestamps ("Z" or "±HH:MM"). Default from site.yaml. */
  utcOffset?: string;
  /** Access-token lifetime in seconds. Default from site.yaml (3600). */
  accessTokenTtl?: number;
  /** Refresh-token lifetime in seconds. Default from site.yaml (1 209 600). */
  refreshTokenTtl?: number;
  /** Add the raw internal error text (`error`) to error envelopes, like a debug-mode server. */
  debug?: boolean;
  /** Largest request body in bytes. Default 1 MiB. */
  bodyLimit?: number;
  /** Host patterns (`*` globs) whose download URLs are fetched for real. Default: loopback only. */
  fetchAllow?: string[];
  /** The download node waits for torrents to stop seeding before their tasks complete. Default from site.yaml (false). */
  waitForSeeding?: boolean;
  /** File listings page by cursor (`next_token`); false pages by number with `total_items`. Default from site.yaml (true). */
  cursorPagination?: boolean;
  /** Serve the control plane under /__sim. Default true. */
  control?: boolean;
  /**
   * Collect behaviour coverage for `sim.conformance()` (and `GET /__sim/conformance`): the
   * operations, task statuses and phases, error codes and fault kinds clients met. Default false.
   */
  coverage?: boolean;
  /** When set, /__sim needs `Authorization: Bearer <controlToken>`. */
  controlToken?: string;
  /** A YAML file whose `faults` list is installed at start. */
  scenario?: string;
  /** Settings of GET /site/config/<section>, per section and key (wire names), over `site_config` of site.yaml. */
  siteConfig?: SiteConfigInput;
  /** A built web frontend (a folder holding `index.html`) to serve on the API's origin, with an SPA fallback. */
  web?: string;
  /** Origins allowed to call /api/v4 from a browser (CORS), `*` for any; a string may list several, comma-separated. Default: none. */
  cors?: string | string[];
  /** A pino logger to use, or the level of the simulator's own logger. Default level `silent`. */
  logger?: Logger;
  logLevel?: LogLevel;
}

export interface ResolvedOptions {
  fixtures: string;
  accountsFile: string;
  dataDir: string | undefined;
  seed: string | undefined;
  strict: boolean;
  clock: ClockMode;
  speed: number;
  startTime: number | undefined;
  profile: TimingProfile;
  /** The profile's name, or "custom" for an object. */
  profileName: string;
  concurrency: { io: number; download: number };
  edition: Edition;
  version: string;
  hashSalt: string;
  jwtSecret: Uint8Array;
  utcOffsetMinutes: number;
  accessTokenTtl: number;
  refreshTokenTtl: number;
  debug: boolean;
  bodyLimit: number;
  logLevel: LogLevel;
  control: boolean;
  coverage: boolean;
  fetchAllow: readonly string[];
  waitForSeeding: boolean;
  cursorPagination: boolean;
  controlToken: string | undefined;
  scenario: string | undefined;
  /** What GET /site/config/<section> reports: defaults, then site.yaml, then the option. */
  siteConfig: SiteConfigSettings;
  /** Absolute path of the web frontend to serve, or undefined. */
  web: string | undefined;
  /** Allowed CORS origins (`*` = any), or undefined when CORS is off. */
  cors: readonly string[] | undefined;
}

interface SiteFile {
  version?: string;
  hash_id_salt?: string;
  utc_offset?: string;
  access_token_ttl?: number;
  refresh_token_ttl?: number;
  wait_for_seeding?: boolean;
  use_cursor_pagination?: boolean;
  site_config?: unknown;
}

function invalid(name: string, value: unknown, fix: string): never {
  throw new TypeError(`Invalid option ${name}: ${JSON.stringify(value)}. ${fix}`);
}

function positiveInt(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    invalid(name, value, 'Use a positive whole number.');
  }
  return value;
}

function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) invalid(name, value, `Use one of: ${allowed.join(', ')}.`);
  return value as T;
}

function readSite(file: string): SiteFile {
  try {
    const doc = readYamlFile(file) as unknown;
    return doc && typeof doc === 'object' ? (doc as SiteFile) : {};
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new TypeError(`Failed to read site settings ${file}: ${(err as Error).message}`);
  }
}

/** The web folder, resolved: it must exist and hold an index.html. */
function webFolder(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const fix = 'Use a folder holding a built web frontend (with index.html).';
  if (typeof value !== 'string' || value === '') invalid('web', value, fix);
  const dir = path.resolve(value);
  const isDir = statSync(dir, { throwIfNoEntry: false })?.isDirectory() ?? false;
  if (!isDir || !(statSync(path.join(dir, 'index.html'), { throwIfNoEntry: false })?.isFile() ?? false)) invalid('web', value, fix);
  return dir;
}

/** CORS origins: `*` or `scheme://host[:port]`, normalized as a browser sends them in `Origin`. */
function corsOrigins(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  const fix = 'Use "*" or origins like "http://localhost:5173", comma-separated.';
  const list = typeof value === 'string' ? value.split(',') : Array.isArray(value) ? (value as unknown[]) : invalid('cors', value, fix);
  const origins = list.map((entry): string => {
    if (typeof entry !== 'string') return invalid('cors', value, fix);
    const text = entry.trim();
    if (text === '' || text === '*') return text;
    let url: URL | undefined;
    try {
      url = new URL(text);
    } catch {
      url = undefined;
    }
    if (!url || url.origin === 'null' || url.pathname !== '/' || url.search || url.hash || url.username) {
      return invalid('cors', text, fix);
    }
    return url.origin;
  });
  const out = [...new Set(origins.filter(Boolean))];
  return out.length > 0 ? out : undefined;
}

/** Applies defaults and checks every option; throws a TypeError naming the first bad one. */
export function resolveOptions(o: SimulatorOptions = {}): ResolvedOptions {
  const fixtures = path.resolve(o.fixtures ?? BUNDLED_FIXTURES);
  const site = readSite(path.join(fixtures, 'site.yaml'));
  const seed = o.seed;

  let startTime: number | undefined;
  if (o.startTime !== undefined) {
    startTime = typeof o.startTime === 'number' ? o.startTime : Date.parse(o.startTime);
    if (!Number.isFinite(startTime)) invalid('startTime', o.startTime, 'Use Unix milliseconds or an RFC 3339 time.');
  }
  const speed = o.speed ?? 1;
  if (typeof speed !== 'number' || !Number.isFinite(speed) || speed <= 0) invalid('speed', speed, 'Use a positive number (1 = real time).');

  const secretText = o.jwtSecret;
  const jwtSecret =
    secretText !== undefined
      ? new TextEncoder().encode(secretText)
      : seed !== undefined
        ? createHash('sha256').update(`cloudreve-sim jwt\0${seed}`).digest()
        : randomBytes(32);
  if (secretText !== undefined && secretText.length === 0) invalid('jwtSecret', secretText, 'Use a non-empty string.');

  const offset = o.utcOffset ?? site.utc_offset ?? 'Z';
  let utcOffsetMinutes: number;
  try {
    utcOffsetMinutes = parseUtcOffset(offset);
  } catch (err) {
    invalid('utcOffset', offset, (err as Error).message);
  }

  const hashSalt = o.hashSalt ?? site.hash_id_salt ?? '';
  if (typeof hashSalt !== 'string') invalid('hashSalt', hashSalt, 'Use a string.');

  return {
    fixtures,
    accountsFile: path.resolve(o.accounts ?? path.join(fixtures, 'accounts.yaml')),
    dataDir: o.dataDir === undefined ? undefined : path.resolve(o.dataDir),
    seed,
    strict: o.strict ?? false,
    clock: oneOf('clock', o.clock ?? 'virtual', CLOCK_MODES),
    speed,
    startTime,
    profile: (() => {
      try {
        return resolveProfile(o.profile);
      } catch (err) {
        return invalid('profile', o.profile, (err as Error).message);
      }
    })(),
    profileName: typeof o.profile === 'string' ? o.profile : o.profile === undefined ? 'realistic' : 'custom',
    concurrency: {
      io: positiveInt('concurrency.io', o.concurrency?.io ?? 15),
      download: positiveInt('concurrency.download', o.concurrency?.download ?? 15),
    },
    edition: oneOf('edition', o.edition ?? 'pro', EDITIONS),
    version: o.version ?? site.version ?? '4.18.0',
    hashSalt,
    jwtSecret,
    utcOffsetMinutes,
    accessTokenTtl: positiveInt('accessTokenTtl', o.accessTokenTtl ?? site.access_token_ttl ?? 3600),
    refreshTokenTtl: positiveInt('refreshTokenTtl', o.refreshTokenTtl ?? site.refresh_token_ttl ?? 1_209_600),
    debug: o.debug ?? false,
    bodyLimit: positiveInt('bodyLimit', o.bodyLimit ?? 1024 * 1024),
    logLevel: oneOf('logLevel', o.logLevel ?? 'silent', LOG_LEVELS),
    control: o.control ?? true,
    coverage: o.coverage ?? false,
    fetchAllow: o.fetchAllow ?? DEFAULT_FETCH_ALLOW,
    waitForSeeding: (() => {
      const v = o.waitForSeeding ?? site.wait_for_seeding ?? false;
      return typeof v === 'boolean' ? v : invalid('waitForSeeding', v, 'Use true or false.');
    })(),
    cursorPagination: (() => {
      const v = o.cursorPagination ?? site.use_cursor_pagination ?? true;
      return typeof v === 'boolean' ? v : invalid('cursorPagination', v, 'Use true or false.');
    })(),
    controlToken: o.controlToken === undefined || o.controlToken === '' ? undefined : o.controlToken,
    scenario: o.scenario === undefined ? undefined : path.resolve(o.scenario),
    web: webFolder(o.web),
    cors: corsOrigins(o.cors),
    siteConfig: resolveSiteConfig([
      { source: `site settings ${path.join(fixtures, 'site.yaml')}`, root: 'site_config', value: site.site_config },
      { source: 'option', root: 'siteConfig', value: o.siteConfig },
    ]),
  };
}
