#!/usr/bin/env node
/**
 * @module cli
 * `cloudreve-sim`: command-line flags and environment variables → options → a listening
 * simulator, with a start-up banner and one log line per request.
 */
import { spawn } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CLOCK_MODES, type ClockMode } from './engine/clock.js';
import { PROFILE_NAMES, type ProfileName } from './engine/profile.js';
import { EDITIONS, LOG_LEVELS, type LogLevel, type SimulatorOptions } from './options.js';
import type { Edition } from './services/context.js';
import { conformanceSummary, writeConformanceReport } from './control/conformance.js';
import { createSimulator, DEFAULT_HOST, DEFAULT_PORT, type Simulator } from './simulator.js';
import type { CodeCacheState } from './util/code-cache.js';

export const HELP = `Usage: cloudreve-sim [options]

Runs a simulated Cloudreve v4 server (Workflow API, sign-in) under /api/v4.

Options (each also read from the environment variable shown):
  --port <n>            port to listen on, 0 = any free port      CLOUDREVE_SIM_PORT (${DEFAULT_PORT})
  --host <addr>         address to listen on                       CLOUDREVE_SIM_HOST (${DEFAULT_HOST})
  --fixtures <dir>      folder with site.yaml and accounts.yaml    CLOUDREVE_SIM_FIXTURES (bundled)
  --accounts <file>     accounts file instead of the fixtures' one CLOUDREVE_SIM_ACCOUNTS
  --data-dir <dir>      where user drives live                     CLOUDREVE_SIM_DATA_DIR (a temporary folder)
  --seed <text>         make ids, secrets and generated data reproducible   CLOUDREVE_SIM_SEED
  --strict              check every response against the contract (500 on mismatch)  CLOUDREVE_SIM_STRICT
  --clock <mode>        ${CLOCK_MODES.join(' | ')}                             CLOUDREVE_SIM_CLOCK (real)
  --speed <x>           simulated time per real time on the real clock      CLOUDREVE_SIM_SPEED (1)
  --profile <name>      ${PROFILE_NAMES.join(' | ')}: how long simulated work takes   CLOUDREVE_SIM_PROFILE (realistic)
  --edition <name>      ${EDITIONS.join(' | ')}                           CLOUDREVE_SIM_EDITION (pro)
  --hash-salt <text>    salt of the public hash ids                CLOUDREVE_SIM_HASH_SALT (site.yaml)
  --jwt-secret <text>   token signing secret                       CLOUDREVE_SIM_JWT_SECRET (random)
  --access-ttl <s>      access-token lifetime in seconds           CLOUDREVE_SIM_ACCESS_TTL (3600)
  --refresh-ttl <s>     refresh-token lifetime in seconds          CLOUDREVE_SIM_REFRESH_TTL (1209600)
  --debug               add raw error text ("error") to error envelopes     CLOUDREVE_SIM_DEBUG
  --scenario <file>     YAML file whose "faults" list is installed at start  CLOUDREVE_SIM_SCENARIO
  --fetch-allow <hosts> comma-separated host patterns fetched for real by remote downloads  CLOUDREVE_SIM_FETCH_ALLOW (loopback)
  --wait-for-seeding    the download node waits for torrents to stop seeding   CLOUDREVE_SIM_WAIT_FOR_SEEDING (site.yaml)
  --control-token <t>   require "Authorization: Bearer <t>" on /__sim     CLOUDREVE_SIM_CONTROL_TOKEN
  --no-control          do not serve the control plane (/__sim)            CLOUDREVE_SIM_NO_CONTROL
  --web <dir>           serve a built web frontend (with index.html) on the API's origin   CLOUDREVE_SIM_WEB
  --cors <origins>      comma-separated origins (or *) allowed to call /api/v4 from a browser   CLOUDREVE_SIM_CORS
  --log-level <level>   ${LOG_LEVELS.join(' | ')}   CLOUDREVE_SIM_LOG_LEVEL (info)
  --coverage            collect behaviour coverage (GET /__sim/conformance)    CLOUDREVE_SIM_COVERAGE
  -h, --help            show this help

Conformance (an SDK's test suite against the simulator):
  cloudreve-sim conformance [--report <dir>] [options] [-- <command> [args...]]
    Starts the simulator collecting coverage, runs <command> with CLOUDREVE_SIM_URL and
    CLOUDREVE_SIM_API set (or waits for Ctrl-C without one), then writes <dir>/conformance.json,
    <dir>/conformance.xml (JUnit) and <dir>/index.html (default dir: conformance-report) and
    exits with the command's exit code. Request lines are not logged unless --log-level says so.
`;

export interface CliConfig {
  help: boolean;
  port: number;
  host: string;
  options: SimulatorOptions;
}

const FLAGS = {
  port: { type: 'string' },
  host: { type: 'string' },
  fixtures: { type: 'string' },
  accounts: { type: 'string' },
  'data-dir': { type: 'string' },
  seed: { type: 'string' },
  strict: { type: 'boolean' },
  clock: { type: 'string' },
  speed: { type: 'string' },
  profile: { type: 'string' },
  edition: { type: 'string' },
  'hash-salt': { type: 'string' },
  'jwt-secret': { type: 'string' },
  'access-ttl': { type: 'string' },
  'refresh-ttl': { type: 'string' },
  debug: { type: 'boolean' },
  scenario: { type: 'string' },
  'fetch-allow': { type: 'string' },
  'wait-for-seeding': { type: 'boolean' },
  'control-token': { type: 'string' },
  'no-control': { type: 'boolean' },
  web: { type: 'string' },
  cors: { type: 'string' },
  'log-level': { type: 'string' },
  coverage: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const envName = (flag: string) => `CLOUDREVE_SIM_${flag.toUpperCase().replace(/-/g, '_')}`;

/** Reads flags, falling back to environment variables. Throws with a usage hint on bad input. */
export function parseCli(argv: string[], env: NodeJS.ProcessEnv = process.env): CliConfig {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options: FLAGS, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new Error(`${(err as Error).message}\nRun cloudreve-sim --help for the options.`);
  }
  const get = (flag: keyof typeof FLAGS): string | undefined => {
    const v = values[flag];
    if (typeof v === 'string') return v;
    return env[envName(flag)] || undefined;
  };
  const bool = (flag: keyof typeof FLAGS): boolean | undefined => {
    if (values[flag] === true) return true;
    const e = env[envName(flag)];
    return e === undefined || e === '' ? undefined : ['1', 'true', 'yes', 'on'].includes(e.toLowerCase());
  };
  const num = (flag: keyof typeof FLAGS, integer: boolean): number | undefined => {
    const text = get(flag);
    if (text === undefined) return undefined;
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
      throw new Error(`Invalid --${flag} ${JSON.stringify(text)}: expected ${integer ? 'a whole number' : 'a number'}.`);
    }
    return n;
  };
  const choice = <T extends string>(flag: keyof typeof FLAGS, allowed: readonly T[]): T | undefined => {
    const v = get(flag);
    if (v !== undefined && !allowed.includes(v as T)) {
      throw new Error(`Invalid --${flag} ${JSON.stringify(v)}: use one of ${allowed.join(', ')}.`);
    }
    return v as T | undefined;
  };

  const port = num('port', true) ?? DEFAULT_PORT;
  if (port < 0 || port > 65535) throw new Error(`Invalid --port ${port}: use 0 to 65535.`);
  const options: SimulatorOptions = {
    clock: choice<ClockMode>('clock', CLOCK_MODES) ?? 'real',
    edition: choice<Edition>('edition', EDITIONS) ?? 'pro',
    logLevel: choice<LogLevel>('log-level', LOG_LEVELS) ?? 'info',
    strict: bool('strict') ?? false,
    debug: bool('debug') ?? false,
    control: !(bool('no-control') ?? false),
  };
  const set = <K extends keyof SimulatorOptions>(key: K, value: SimulatorOptions[K] | undefined) => {
    if (value !== undefined) options[key] = value;
  };
  set('fixtures', get('fixtures'));
  set('accounts', get('accounts'));
  set('dataDir', get('data-dir'));
  set('seed', get('seed'));
  set('speed', num('speed', false));
  set('profile', choice<ProfileName>('profile', PROFILE_NAMES));
  set('hashSalt', get('hash-salt'));
  set('scenario', get('scenario'));
  const allow = get('fetch-allow');
  if (allow !== undefined) options.fetchAllow = allow.split(',').map((h) => h.trim()).filter(Boolean);
  set('waitForSeeding', bool('wait-for-seeding'));
  set('controlToken', get('control-token'));
  set('web', get('web'));
  const cors = get('cors');
  if (cors !== undefined) options.cors = cors.split(',').map((o) => o.trim()).filter(Boolean);
  set('jwtSecret', get('jwt-secret'));
  set('accessTokenTtl', num('access-ttl', true));
  set('refreshTokenTtl', num('refresh-ttl', true));
  set('coverage', bool('coverage'));
  return { help: values.help === true, port, host: get('host') ?? DEFAULT_HOST, options };
}

/** The start-up banner: where the simulator listens and how to sign in. */
export function banner(sim: Simulator, url: string): string {
  const accounts = sim.accounts.users
    .filter((u) => u.status === 'active')
    .map((u) => `    ${u.email.padEnd(26)} ${u.password.padEnd(12)} ${u.group.name}`)
    .join('\n');
  return [
    `Cloudreve Workflow Simulator ${sim.options.version} (${sim.options.edition}, ${sim.options.clock} clock, ${sim.options.profileName} timing)`,
    `  API:        ${url}/api/v4`,
    `  Try:        curl ${url}/api/v4/site/ping`,
    `  Accounts:   email                      password     group`,
    accounts,
    sim.options.control
      ? `  Control:    ${url}/__sim  (contract: ${url}/__sim/openapi.yaml${sim.options.controlToken ? '; needs the control token' : ''})`
      : '  Control:    off',
    ...(sim.options.web ? [`  Web UI:     ${url}/  (from ${sim.options.web})`] : []),
    ...(sim.options.control ? [`  Dashboard:  ${url}/__sim/ui${sim.options.controlToken ? '?token=<control token>' : ''}`] : []),
    ...(sim.options.cors ? [`  CORS:       ${sim.options.cors.join(', ')}`] : []),
    `  Data:       ${sim.dataDir}`,
    '',
  ].join('\n');
}

/** Where the CLI writes its banner and messages (standard output unless told otherwise). */
export type TextOut = { write(text: string): unknown };

/** Starts the simulator as the CLI does and resolves once it listens. */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env, out: TextOut = process.stdout): Promise<Simulator | undefined> {
  const config = parseCli(argv, env);
  if (config.help) {
    out.write(HELP);
    return undefined;
  }
  const sim = createSimulator(config.options);
  const url = await sim.listen(config.port, config.host);
  out.write(banner(sim, url));
  return sim;
}

/**
 * `cloudreve-sim conformance`: the simulator with coverage on, a client's command run against it
 * (or, without one, until SIGINT/SIGTERM), then the report written. Resolves to the exit code:
 * the command's, or 0.
 */
export async function conformanceMain(argv: string[], env: NodeJS.ProcessEnv = process.env, out: TextOut = process.stdout): Promise<number> {
  const dash = argv.indexOf('--');
  const own = dash < 0 ? [...argv] : argv.slice(0, dash);
  const command = dash < 0 ? [] : argv.slice(dash + 1);
  let dir = 'conformance-report';
  const at = own.indexOf('--report');
  if (at >= 0) {
    const given = own[at + 1];
    if (!given || given.startsWith('--')) throw new Error('Invalid --report: give the folder to write the report into.\nRun cloudreve-sim --help for the options.');
    dir = given;
    own.splice(at, 2);
  }
  const config = parseCli(own, env);
  if (config.help) {
    out.write(HELP);
    return 0;
  }
  if (!own.includes('--log-level') && !env[envName('log-level')]) config.options.logLevel = 'warn'; // the client's output stays readable
  const sim = createSimulator({ ...config.options, coverage: true });
  let code = 0;
  try {
    const url = await sim.listen(config.port, config.host);
    out.write(banner(sim, url));
    if (command.length > 0) {
      out.write(`Running: ${command.join(' ')}\n`);
      const child = spawn(command[0]!, command.slice(1), { stdio: 'inherit', env: { ...env, CLOUDREVE_SIM_URL: url, CLOUDREVE_SIM_API: `${url}/api/v4` } });
      code = await new Promise<number>((resolve) => {
        child.once('error', (err) => {
          out.write(`cloudreve-sim: could not run ${command[0]}: ${err.message}\n`);
          resolve(127);
        });
        child.once('exit', (status, signal) => resolve(status ?? (signal ? 128 : 1)));
      });
    } else {
      out.write('Collecting coverage; stop with Ctrl-C to write the report.\n');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
    }
    const report = sim.conformance();
    const files = writeConformanceReport(report, dir);
    out.write(`${conformanceSummary(report)}\nReport: ${files.json}, ${files.junit}, ${files.html}\n`);
  } finally {
    await sim.close();
  }
  return code;
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

/**
 * What the `cloudreve-sim` command does with its arguments: `conformance …` runs a client's
 * suite and exits with its code; anything else starts the simulator until SIGINT or SIGTERM.
 * Errors are printed as one line and exit with 1. `codeCache` says how the launcher loaded the
 * CLI (see `cli-launch`); it is logged at debug level.
 */
export function run(argv: string[], codeCache: CodeCacheState = 'none'): void {
  const fail = (err: Error) => {
    process.stderr.write(`cloudreve-sim: ${err.message}\n`);
    process.exit(1);
  };
  if (argv[0] === 'conformance') {
    conformanceMain(argv.slice(1)).then((code) => process.exit(code), fail);
    return;
  }
  main(argv).then((sim) => {
    if (!sim) return;
    sim.logger.debug({ codeCache }, 'cli loaded');
    const stop = () => {
      sim.close().then(() => process.exit(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  }, fail);
}

if (isEntryPoint()) run(process.argv.slice(2));
