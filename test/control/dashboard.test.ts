/**
 * Every task of a world (GET /__sim/tasks, `sim.tasks()`) and the live dashboard page
 * (GET /__sim/ui): its content, its policy, its script, and the control token in its URL.
 */
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { Script } from 'node:vm';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { pino } from 'pino';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { loadContract } from '../../src/contract/index.js';
import { CONTROL_CONTRACT_FILE } from '../../src/control/routes.js';
import { ACCOUNTS, testSimulator } from '../helpers.js';
import { ctl, NAMESPACE_HEADER, user } from './helpers.js';

/** The TaskInfo schema of openapi/control.yaml. */
function taskInfoValidator() {
  const doc = loadContract(CONTROL_CONTRACT_FILE) as unknown as { components: unknown };
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  ajv.addSchema({ $id: 'control', components: doc.components });
  return ajv.getSchema('control#/components/schemas/TaskInfo')!;
}

const archiveProps = (src: string, dst: string) => ({ dst, failed: 0, src_multiple: [src] });

describe('GET /__sim/tasks', () => {
  it('answers an empty list for a fresh world', async () => {
    const sim = testSimulator();
    const res = await ctl(sim).get('/tasks');
    expect([res.status, res.body]).toEqual([200, { namespace: 'default', tasks: [] }]);
    expect(sim.tasks()).toEqual([]);
  });

  it('lists the tasks of every user, newest first, with owner, status, phase, props, errors, retries, live progress and times', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    const carol = await user(sim, 'carol');
    const admin = await user(sim, 'admin');
    const a = await alice.archive(['cloudreve://my/notes.txt'], 'cloudreve://my/n.zip');
    await sim.clock.advance(1_000);
    const c = await carol.archive(['cloudreve://my/hello.txt'], 'cloudreve://my/h.zip', 'fault=fail; message="boom"; critical=true');
    const dl = await admin.post('/workflow/download', { src: ['https://example.com/file.bin'], dst: 'cloudreve://my' });
    const d = dl.body.data[0].id as string;
    await sim.clock.advance(6_000);

    const res = await ctl(sim).get('/tasks');
    expect(res.status).toBe(200);
    const owner = (who: 'alice' | 'carol' | 'admin') => ({ id: sim.ids.encode('user', ACCOUNTS[who].id), email: ACCOUNTS[who].email });
    const download = {
      name: 'file.bin',
      state: 'completed',
      total: 1148568,
      downloaded: 1148568,
      download_speed: 0,
      uploaded: 0,
      upload_speed: 0,
      files: [{ index: 1, name: 'file.bin', size: 1148568, progress: 1, selected: true }],
    };
    expect(res.body).toEqual({
      namespace: 'default',
      tasks: [
        {
          id: d,
          owner: owner('admin'),
          type: 'remote_download',
          status: 'processing',
          phase: 'transfer',
          props: { download, dst: 'cloudreve://my', failed: 0, src: '', src_str: 'https://example.com/file.bin' },
          error: null,
          error_history: [],
          retry_count: 0,
          progress: {
            upload: { total: 1148568, current: 0, identifier: '' },
            upload_count: { total: 1, current: 0, identifier: '' },
            upload_single_0: { total: 1148568, current: 0, identifier: 'cloudreve://my/file.bin' },
          },
          created_at: '2025-05-20T04:00:01.000Z',
          updated_at: '2025-05-20T04:00:07.000Z',
        },
        {
          id: c,
          owner: owner('carol'),
          type: 'create_archive',
          status: 'error',
          phase: '',
          props: archiveProps('cloudreve://my/hello.txt', 'cloudreve://my/h.zip'),
          error: 'boom (non-retryable error)',
          error_history: [],
          retry_count: 0,
          progress: {},
          created_at: '2025-05-20T04:00:01.000Z',
          updated_at: '2025-05-20T04:00:04.000Z',
        },
        {
          id: a,
          owner: owner('alice'),
          type: 'create_archive',
          status: 'suspending',
          phase: 'upload_archive',
          props: archiveProps('cloudreve://my/notes.txt', 'cloudreve://my/n.zip'),
          error: null,
          error_history: [],
          retry_count: 0,
          progress: {},
          created_at: '2025-05-20T04:00:00.000Z',
          updated_at: '2025-05-20T04:00:07.000Z',
        },
      ],
    });
    // Key order as documented.
    expect(Object.keys(res.body.tasks[0])).toEqual([
      'id', 'owner', 'type', 'status', 'phase', 'props', 'error', 'error_history', 'retry_count', 'progress', 'created_at', 'updated_at',
    ]);
    const valid = taskInfoValidator();
    for (const t of res.body.tasks) expect(valid(t), JSON.stringify(valid.errors)).toBe(true);
    // The same list in-process.
    expect(sim.tasks()).toEqual(res.body.tasks);
    expect(sim.tasks(1)).toEqual(res.body.tasks.slice(0, 1));
  });

  it('shows retried failures in error_history and retry_count while the task goes on', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    const id = await alice.archive(['cloudreve://my/notes.txt'], 'cloudreve://my/n.zip', 'fault=fail; message="disk full"; times=1');
    await sim.clock.advance(3_000);
    const res = await ctl(sim).get('/tasks');
    expect(res.body.tasks).toEqual([
      expect.objectContaining({ id, status: 'suspending', phase: '', error: null, error_history: ['disk full'], retry_count: 1 }),
    ]);
    await sim.clock.runUntilIdle();
    expect((await ctl(sim).get('/tasks')).body.tasks).toEqual([
      expect.objectContaining({ id, status: 'completed', error: null, error_history: ['disk full'], retry_count: 1, progress: {} }),
    ]);
  });

  it('keeps only the newest `limit` tasks, and refuses a bad limit or an unknown parameter (400)', async () => {
    const sim = testSimulator();
    const alice = await user(sim, 'alice');
    const ids = [];
    for (const n of [1, 2, 3]) ids.push(await alice.archive(['cloudreve://my/notes.txt'], `cloudreve://my/${n}.zip`));
    expect((await ctl(sim).get('/tasks?limit=2')).body.tasks.map((t: { id: string }) => t.id)).toEqual([ids[2], ids[1]]);
    expect((await ctl(sim).get('/tasks?limit=10')).body.tasks).toHaveLength(3);
    for (const q of ['limit=0', 'limit=x', 'user=alice']) {
      const res = await ctl(sim).get(`/tasks?${q}`);
      expect([q, res.status, res.body]).toEqual([q, 400, { error: expect.any(String) }]);
    }
  });

  it('acts on the world named by X-Sim-Namespace, and starts empty again after a reset', async () => {
    const sim = testSimulator();
    const inA = await user(sim, 'carol', 'a');
    const id = await inA.archive(['cloudreve://my/hello.txt'], 'cloudreve://my/h.zip');
    expect((await ctl(sim).get('/tasks')).body).toEqual({ namespace: 'default', tasks: [] });
    const a = await ctl(sim, 'a').get('/tasks');
    expect([a.body.namespace, a.body.tasks.map((t: { id: string; owner: { email: string } }) => [t.id, t.owner.email])]).toEqual([
      'a',
      [[id, ACCOUNTS.carol.email]],
    ]);
    expect(sim.namespace('a').tasks()).toEqual(a.body.tasks);
    await ctl(sim, 'a').post('/reset');
    expect((await ctl(sim, 'a').get('/tasks')).body).toEqual({ namespace: 'a', tasks: [] });
  });
});

/** The page's one inline script. */
const scriptOf = (html: string) => /<script>([\s\S]*?)<\/script>/.exec(html)![1]!;

describe('GET /__sim/ui', () => {
  it('serves one self-contained HTML page: the tasks table, the clock controls and the reset button', async () => {
    const sim = testSimulator();
    const res = await ctl(sim).get('/ui');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    const html = res.text;
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<table id="tasks">');
    for (const th of ['task', 'owner', 'status', 'phase', 'progress', 'error', 'props', 'created', 'updated']) expect(html).toContain(`<th>${th}</th>`);
    for (const id of ['advance-ms', 'advance', 'run-until-idle', 'speed', 'set-speed', 'freeze', 'resume', 'reset', 'clock-now', 'events']) {
      expect(html).toContain(`id="${id}"`);
    }
    // What it calls: the control plane only, relative to where it is served.
    const script = scriptOf(html);
    for (const call of ["'/tasks?limit=500'", "'/clock'", "'/events'", "'/clock/advance'", "'/clock/speed'", "'/clock/freeze'", "'/clock/resume'", "'/reset'"]) {
      expect(script).toContain(call);
    }
    expect(html).not.toMatch(/(?:src|href)\s*=\s*["']?(?:https?:)?\/\//i);
    expect(html).not.toMatch(/url\(\s*["']?(?:https?:)?\/\//i);
    expect(html.match(/<script\b/g)).toHaveLength(1);
  });

  it('has a script that parses, and a Content-Security-Policy allowing exactly that script and requests to its own origin', async () => {
    const sim = testSimulator();
    const res = await ctl(sim).get('/ui');
    const script = scriptOf(res.text);
    expect(() => new Script(script, { filename: 'dashboard.js' })).not.toThrow();
    const hash = createHash('sha256').update(script, 'utf8').digest('base64');
    expect(res.headers['content-security-policy']).toBe(
      `default-src 'none'; script-src 'sha256-${hash}'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    );
  });

  it('is listed in the served control contract, with GET /tasks', async () => {
    const sim = testSimulator();
    const text = (await ctl(sim).get('/openapi.yaml').buffer(true)).text ?? '';
    expect(text).toContain('operationId: getDashboard');
    expect(text).toContain('operationId: listAllTasks');
  });
});

describe('the control token and the dashboard', () => {
  const refused = { error: 'This control plane needs Authorization: Bearer <control token>.' };

  it('needs the token for the page, given as a bearer header or as ?token= (the page then sends it as a header)', async () => {
    const sim = testSimulator({ controlToken: 's3cret' });
    const app = request(sim.app);
    for (const t of [app.get('/__sim/ui'), app.get('/__sim/ui?token=wrong'), app.get('/__sim/ui').set('Authorization', 'Bearer wrong')]) {
      const res = await t;
      expect([res.status, res.body]).toEqual([401, refused]);
    }
    for (const t of [app.get('/__sim/ui?token=s3cret'), app.get('/__sim/ui?token=s3cret&namespace=ci-1'), app.get('/__sim/ui').set('Authorization', 'Bearer s3cret')]) {
      const res = await t;
      expect([res.status, res.headers['content-type']]).toEqual([200, 'text/html; charset=utf-8']);
    }
    expect(scriptOf((await app.get('/__sim/ui?token=s3cret')).text)).toContain("h.Authorization = 'Bearer ' + token");
  });

  it('accepts ?token= on GET /ui and GET /events only: every other route still needs the header', async () => {
    const sim = testSimulator({ controlToken: 's3cret' });
    const app = request(sim.app);
    for (const t of [
      app.get('/__sim/tasks?token=s3cret'),
      app.get('/__sim/clock?token=s3cret'),
      app.post('/__sim/reset?token=s3cret'),
      app.post('/__sim/clock/advance?token=s3cret').send({ ms: 1 }),
      app.post('/__sim/ui?token=s3cret'),
    ]) {
      const res = await t;
      expect([res.status, res.body]).toEqual([401, refused]);
    }
    expect((await app.get('/__sim/tasks').set('Authorization', 'Bearer s3cret')).body).toEqual({ namespace: 'default', tasks: [] });

    const url = await sim.listen(0);
    const stop = new AbortController();
    try {
      const wrong = await fetch(`${url}/__sim/events?token=nope`, { signal: stop.signal });
      expect([wrong.status, await wrong.json()]).toEqual([401, refused]);
      const res = await fetch(`${url}/__sim/events?token=s3cret`, { signal: stop.signal });
      expect([res.status, res.headers.get('content-type')]).toEqual([200, 'text/event-stream']);
      const first = await res.body!.getReader().read();
      expect(new TextDecoder().decode(first.value)).toBe(': events of namespace default\n\n');
    } finally {
      stop.abort();
    }
  });

  it('keeps a token given in the query out of the request log', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const sim = testSimulator({ controlToken: 's3cret', logger: pino({ level: 'info' }, sink) });
    expect((await request(sim.app).get('/__sim/ui?namespace=x&token=s3cret')).status).toBe(200);
    const logged = lines.map((l) => JSON.parse(l) as { url?: string }).filter((l) => l.url !== undefined);
    expect(logged.map((l) => l.url)).toEqual(['/__sim/ui?namespace=x&token=[redacted]']);
    expect(lines.join('')).not.toContain('s3cret');
  });

  it('serves no page with the control plane off', async () => {
    const sim = testSimulator({ control: false });
    const res = await request(sim.app).get('/__sim/ui');
    expect([res.status, res.text]).toEqual([404, '404 page not found']);
  });
});

describe('the namespace header on the page', () => {
  it('is what the page sends for ?namespace=', async () => {
    const sim = testSimulator();
    const script = scriptOf((await ctl(sim).get('/ui?namespace=ci-7')).text);
    expect(script).toContain(`h['${NAMESPACE_HEADER}'] = namespace`);
  });
});

describe('the control plane under /api/__sim (beside a frontend’s service worker)', () => {
  it('serves the dashboard and the same operations as /__sim', async () => {
    const sim = testSimulator();
    const page = await request(sim.app).get('/api/__sim/ui');
    expect([page.status, page.headers['content-type']]).toEqual([200, 'text/html; charset=utf-8']);
    expect(page.text).toBe((await request(sim.app).get('/__sim/ui')).text);
    expect((await request(sim.app).get('/api/__sim/tasks')).body).toEqual((await request(sim.app).get('/__sim/tasks')).body);
    expect((await request(sim.app).get('/api/__sim/clock')).body).toEqual((await request(sim.app).get('/__sim/clock')).body);
  });

  it('is absent, like /__sim, when the control plane is off', async () => {
    const sim = testSimulator({ control: false });
    const res = await request(sim.app).get('/api/__sim/ui');
    expect([res.status, res.text]).toEqual([404, '404 page not found']);
  });
});
