/**
 * The `cloudreve-sim` command as the build leaves it: `dist/bin.js` loading the bundled CLI
 * (`dist/bundle/cli.cjs`) with its code cache. The rest of the suite runs the sources; this file
 * checks that the bundle behaves the same where bundling could change something: files found
 * from the package root, the libraries patched at start, packages and modules loaded on first
 * use (jose, tar, 7-Zip's wasm engine, the archive codecs), the control plane, and the command's
 * exits. `npm test` builds first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HELP } from '../src/cli.js';
import { ACCOUNTS } from './helpers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(ROOT, 'dist', 'bin.js');
const BUNDLE = path.join(ROOT, 'dist', 'bundle', 'cli.cjs');

/** Runs the command to its end: exit code, standard output and error. */
async function runBin(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = collect(child);
  const [code] = await once(child, 'exit');
  return { code, ...out };
}

function collect(child: ChildProcess): { stdout: string; stderr: string } {
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (c: Buffer) => (out.stdout += c));
  child.stderr!.on('data', (c: Buffer) => (out.stderr += c));
  return out;
}

describe('the built command (dist/bin.js, the bundled CLI)', () => {
  let child: ChildProcess;
  let out: { stdout: string; stderr: string };
  let url: string;
  let api: ReturnType<typeof request>;
  let auth: string;

  beforeAll(async () => {
    if (!existsSync(BIN) || !existsSync(BUNDLE)) throw new Error('dist/bin.js or dist/bundle/cli.cjs is missing: run npm run build');
    child = spawn(process.execPath, [BIN, '--port', '0', '--clock', 'virtual', '--log-level', 'debug'], { stdio: ['ignore', 'pipe', 'pipe'] });
    out = collect(child);
    // The banner names the address once the server listens.
    for (;;) {
      const found = /API: +(http:\/\/127\.0\.0\.1:\d+)\/api\/v4/.exec(out.stdout);
      if (found) {
        url = found[1]!;
        break;
      }
      if (child.exitCode !== null) throw new Error(`the command exited with ${child.exitCode}: ${out.stderr}`);
      await once(child.stdout!, 'data');
    }
    api = request(url);
    const { email, password } = ACCOUNTS.alice;
    // Signing in loads jose on first use (an ES module, outside the bundle).
    const signedIn = await api.post('/api/v4/session/token').send({ email, password });
    expect(signedIn.body.code, JSON.stringify(signedIn.body)).toBe(0);
    auth = `Bearer ${signedIn.body.data.token.access_token}`;
  });

  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  it('answers with the real server envelope, compiled from the code cache the build wrote', async () => {
    const ping = await api.get('/api/v4/site/ping');
    expect([ping.status, ping.body]).toEqual([200, { code: 0, data: '4.18.0-pro', msg: '' }]);
    const loaded = out.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg: string; codeCache?: string })
      .find((line) => line.msg === 'cli loaded');
    expect(loaded?.codeCache).toBe('accepted');
  });

  it('validates requests against the contract', async () => {
    const res = await api.post('/api/v4/workflow/archive').set('Authorization', auth).send({ src: 'not a list', dst: 'cloudreve://my/a.zip' });
    expect([res.status, res.body.code]).toEqual([200, 40001]);
  });

  it('creates a zip and extracts tar.gz and 7z archives (the codecs and 7-Zip load on first use)', async () => {
    const post = async (p: string, body: object) => {
      const res = await api.post(`/api/v4${p}`).set('Authorization', auth).send(body);
      expect(res.body.code, JSON.stringify(res.body)).toBe(0);
      return res.body.data as { id: string };
    };
    const made = await post('/workflow/archive', { src: ['cloudreve://my/docs'], dst: 'cloudreve://my/docs.zip' });
    const tgz = await post('/workflow/extract', { src: ['cloudreve://my/archives/nested.tar.gz'], dst: 'cloudreve://my/extracted' });
    const sz = await post('/workflow/extract', { src: ['cloudreve://my/archives/sample.7z'], dst: 'cloudreve://my/Downloads' });
    const idle = await request(url).post('/__sim/clock/run-until-idle').send({});
    expect(idle.status).toBe(200);
    const list = await api.get('/api/v4/workflow?page_size=10&category=general').set('Authorization', auth);
    const status = Object.fromEntries((list.body.data.tasks as Array<{ id: string; status: string }>).map((t) => [t.id, t.status]));
    expect([status[made.id], status[tgz.id], status[sz.id]]).toEqual(['completed', 'completed', 'completed']);
    const names = async (uri: string) =>
      ((await api.get(`/api/v4/file?uri=${encodeURIComponent(uri)}`).set('Authorization', auth)).body.data.files as Array<{ name: string }>).map((f) => f.name).sort();
    expect(await names('cloudreve://my/extracted/project')).toEqual(['README.md', 'empty', 'src', '中文']);
    expect(await names('cloudreve://my/Downloads')).toEqual(['docs', 'empty', '中文']);
    expect(await names('cloudreve://my')).toContain('docs.zip');
  });

  it('serves the control plane: its contract and the dashboard (read from the package)', async () => {
    const contract = await request(url).get('/__sim/openapi.yaml');
    expect([contract.status, contract.text.startsWith('openapi: 3.1')]).toEqual([200, true]);
    const ui = await request(url).get('/__sim/ui');
    expect([ui.status, ui.headers['content-type'], ui.text.startsWith('<!doctype html>')]).toEqual([200, 'text/html; charset=utf-8', true]);
  });

  it('stops on SIGINT with exit code 0 and removes its data folder', async () => {
    const data = /Data: +(\S+)/.exec(out.stdout)![1]!;
    expect(existsSync(data)).toBe(true);
    child.kill('SIGINT');
    const [code] = await once(child, 'exit');
    expect([code, existsSync(data)]).toEqual([0, false]);
  });
});

describe('the built command: help, errors and conformance', () => {
  it('prints the help and exits with 0', async () => {
    expect(await runBin(['--help'])).toEqual({ code: 0, stdout: HELP, stderr: '' });
  });

  it('names a bad option in one line and exits with 1', async () => {
    const { code, stdout, stderr } = await runBin(['--nope']);
    expect([code, stdout, stderr]).toEqual([1, '', "cloudreve-sim: Unknown option '--nope'\nRun cloudreve-sim --help for the options.\n"]);
  });

  it('runs a conformance command, writes the report and exits with its code', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bundle-conformance-'));
    try {
      const { code, stdout } = await runBin(['conformance', '--report', dir, '--port', '0', '--', process.execPath, '-e', 'process.exit(3)']);
      expect([code, stdout.includes(`Report: ${path.join(dir, 'conformance.json')}`)]).toEqual([3, true]);
      expect(readdirSync(dir).sort()).toEqual(['conformance.json', 'conformance.xml', 'index.html']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
