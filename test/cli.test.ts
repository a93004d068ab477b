/**
 * The cloudreve-sim command line: flags, environment variables, help, banner, serving.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { banner, HELP, main, parseCli } from '../src/cli.js';
import { testSimulator } from './helpers.js';

describe('parseCli', () => {
  it('defaults to port 5212 on 127.0.0.1, the real clock, the pro edition and info logs', () => {
    expect(parseCli([], {})).toEqual({
      help: false,
      port: 5212,
      host: '127.0.0.1',
      options: { clock: 'real', edition: 'pro', logLevel: 'info', strict: false, debug: false, control: true },
    });
  });

  it('reads every flag', () => {
    const argv = [
      '--port', '8080', '--host', '0.0.0.0', '--fixtures', 'fx', '--accounts', 'a.yaml', '--data-dir', 'data',
      '--seed', 's', '--strict', '--clock', 'virtual', '--speed', '2.5', '--profile', 'fast', '--edition', 'community',
      '--hash-salt', 'salt', '--jwt-secret', 'k', '--access-ttl', '600', '--refresh-ttl', '7200', '--debug', '--log-level', 'warn',
      '--scenario', 'faults.yaml', '--control-token', 'ct', '--no-control', '--fetch-allow', 'example.org, *.test',
      '--wait-for-seeding', '--web', 'dist', '--cors', 'http://localhost:5173, https://ui.test', '--coverage',
    ];
    expect(parseCli(argv, {})).toEqual({
      help: false,
      port: 8080,
      host: '0.0.0.0',
      options: {
        clock: 'virtual', edition: 'community', logLevel: 'warn', strict: true, debug: true, control: false,
        scenario: 'faults.yaml', controlToken: 'ct', fetchAllow: ['example.org', '*.test'], waitForSeeding: true,
        fixtures: 'fx', accounts: 'a.yaml', dataDir: 'data', seed: 's', speed: 2.5, profile: 'fast', hashSalt: 'salt', jwtSecret: 'k',
        accessTokenTtl: 600, refreshTokenTtl: 7200, web: 'dist', cors: ['http://localhost:5173', 'https://ui.test'], coverage: true,
      },
    });
  });

  it('falls back to CLOUDREVE_SIM_* environment variables, flags winning', () => {
    const env = {
      CLOUDREVE_SIM_PORT: '9000', CLOUDREVE_SIM_CLOCK: 'virtual', CLOUDREVE_SIM_STRICT: 'true', CLOUDREVE_SIM_SEED: 'e', CLOUDREVE_SIM_DATA_DIR: 'd',
      CLOUDREVE_SIM_WAIT_FOR_SEEDING: '1', CLOUDREVE_SIM_WEB: 'web/dist', CLOUDREVE_SIM_CORS: '*',
    };
    const config = parseCli(['--port', '9001'], env);
    expect(config.port).toBe(9001);
    expect(config.options).toMatchObject({ clock: 'virtual', strict: true, seed: 'e', dataDir: 'd', waitForSeeding: true, web: 'web/dist', cors: ['*'] });
    expect(parseCli(['--web', 'other', '--cors', 'http://a.test'], env).options).toMatchObject({ web: 'other', cors: ['http://a.test'] });
  });

  it.each([
    [['--port', 'abc'], /Invalid --port "abc": expected a whole number/],
    [['--port', '70000'], /Invalid --port 70000: use 0 to 65535/],
    [['--clock', 'fake'], /Invalid --clock "fake": use one of virtual, real/],
    [['--edition', 'x'], /Invalid --edition "x": use one of community, pro/],
    [['--speed', 'fast'], /Invalid --speed "fast": expected a number/],
    [['--profile', 'slow'], /Invalid --profile "slow": use one of realistic, fast, instant/],
    [['--nope'], /Unknown option '--nope'[\s\S]*cloudreve-sim --help/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseCli(argv, {})).toThrow(message);
  });

  it('recognizes --help and -h', () => {
    expect(parseCli(['--help'], {}).help).toBe(true);
    expect(parseCli(['-h'], {}).help).toBe(true);
  });
});

describe('main', () => {
  it('prints the help without starting anything', async () => {
    let out = '';
    const sim = await main(['--help'], {}, { write: (s: string) => (out += s) } as never);
    expect(sim).toBeUndefined();
    expect(out).toBe(HELP);
    for (const flag of ['--port', '--host', '--fixtures', '--data-dir', '--seed', '--strict', '--clock', '--speed', '--web', '--cors', '--help']) {
      expect(HELP).toContain(flag);
    }
  });

  it('starts a simulator that serves the API and prints the banner with the URL and accounts', async () => {
    let out = '';
    const sim = await main(['--port', '0', '--log-level', 'silent', '--clock', 'virtual'], {}, { write: (s: string) => (out += s) } as never);
    try {
      expect(sim).toBeDefined();
      const url = sim!.url!;
      expect(out).toContain(`API:        ${url}/api/v4`);
      expect(out).toContain('admin@cloudreve.org        admin');
      expect(out).toContain('user@cloudreve.org         userpass');
      expect(out).toContain('alice@cloudreve.org        alicepass');
      const res = await fetch(`${url}/api/v4/session/token`, {
        method: 'POST',
        body: JSON.stringify({ email: 'admin@cloudreve.org', password: 'admin' }),
      });
      expect(((await res.json()) as { code: number }).code).toBe(0);
    } finally {
      await sim?.close();
    }
  });
});

describe('banner', () => {
  it('names the dashboard, and the web UI and CORS origins when they are on', () => {
    const web = mkdtempSync(path.join(tmpdir(), 'sim-web-'));
    writeFileSync(path.join(web, 'index.html'), '<title>{siteName}</title>');
    onTestFinished(() => rmSync(web, { recursive: true, force: true }));
    const sim = testSimulator({ web, cors: 'http://localhost:5173', controlToken: 't' });
    const text = banner(sim, 'http://127.0.0.1:5212');
    expect(text).toContain(`  Web UI:     http://127.0.0.1:5212/  (from ${sim.options.web})\n`);
    expect(text).toContain('  Dashboard:  http://127.0.0.1:5212/__sim/ui?token=<control token>\n');
    expect(text).toContain('  CORS:       http://localhost:5173\n');
    const plain = banner(testSimulator(), 'http://127.0.0.1:5212');
    expect(plain).toContain('  Dashboard:  http://127.0.0.1:5212/__sim/ui\n');
    expect(plain).not.toContain('Web UI:');
    expect(plain).not.toContain('CORS:');
  });

  it('lists only accounts that can sign in', () => {
    const sim = testSimulator();
    const text = banner(sim, 'http://127.0.0.1:5212');
    expect(text).toContain('http://127.0.0.1:5212/api/v4');
    expect(text).not.toContain('banned@cloudreve.org');
    expect(text).not.toContain('inactive@cloudreve.org');
  });
});
