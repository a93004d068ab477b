/**
 * POST /workflow/reloacte (Pro, spec §12): moves files' content to another storage policy.
 * Phases "" → transfer → finish; a completed task keeps phase `finish`. The policy of a file
 * shows in the control plane's drive read (GET /__sim/drive).
 */
import { readFileSync } from 'node:fs';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { ACCOUNTS, as, testSimulator, UUID_V4 } from '../helpers.js';

const cid = expect.stringMatching(UUID_V4);
const ADMIN = ACCOUNTS.admin.id;
const ALICE = ACCOUNTS.alice.id;
type Sim = ReturnType<typeof testSimulator>;

/** The policy id (hash) of the file at `path` in a user's drive, read over the control plane. */
async function policyOf(sim: Sim, user: number, path: string): Promise<string | undefined> {
  const res = await request(sim.app).get('/__sim/drive').query({ user: String(user), path });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.policy?.id;
}

describe('POST /workflow/reloacte: editions and checks', () => {
  it('is a plain-text 404 in the community edition (with or without a token), and /workflow/relocate is one in pro', async () => {
    const community = testSimulator({ edition: 'community' });
    const alice = await as(community, 'alice');
    const res = await alice.post('/workflow/reloacte', { src: ['cloudreve://my/docs'], dst_policy_id: community.ids.encode('policy', 2) });
    expect([res.status, res.headers['content-type'], res.text]).toEqual([404, 'text/plain', '404 page not found']);
    const anonymous = await request(community.app).post('/api/v4/workflow/reloacte').set('Authorization', 'Bearer garbage').send({});
    expect([anonymous.status, anonymous.text]).toEqual([404, '404 page not found']);
    const pro = testSimulator({ edition: 'pro' });
    const bob = await as(pro, 'alice');
    const wrong = await bob.post('/workflow/relocate', { src: ['cloudreve://my/docs'], dst_policy_id: pro.ids.encode('policy', 2) });
    expect([wrong.status, wrong.text]).toEqual([404, '404 page not found']);
  });

  it.each([
    [{}, { code: 40001, msg: 'Src cannot be empty' }],
    [{ src: 'cloudreve://my/docs', dst_policy_id: 'x' }, { code: 40001, msg: 'JSON marshall error' }],
    [{ src: ['cloudreve://my/docs'] }, { code: 40001, msg: 'DstPolicyID cannot be empty' }],
  ])('binds %j', async (b, expected) => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    expect((await alice.post('/workflow/reloacte', b)).body).toEqual(expected);
  });

  it('answers 40001 for no sources, a policy id that is no policy hash id, and a policy that does not exist', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const post = (b: unknown) => alice.post('/workflow/reloacte', b);
    expect((await post({ src: [], dst_policy_id: sim.ids.encode('policy', 2) })).body).toEqual({ code: 40001, msg: 'No source files', correlation_id: cid });
    expect((await post({ src: ['cloudreve://my/docs'], dst_policy_id: sim.ids.encode('user', 2) })).body).toEqual({ code: 40001, msg: 'unknown policy id', correlation_id: cid });
    expect((await post({ src: ['cloudreve://my/docs'], dst_policy_id: sim.ids.encode('policy', 42) })).body).toEqual({ code: 40001, msg: 'unknown policy id', correlation_id: cid });
    expect((await alice.list('general')).tasks).toEqual([]);
  });

  it('takes the seed page’s request as written (its policy id belongs to another server), and runs it with our ids', async () => {
    const sim = testSimulator();
    const admin = await as(sim, 'admin');
    const seed = '{\n    "src": [\n        "cloudreve://my/1/test_folder",\n        "cloudreve://my/1/cloudreve.exe"\n    ],\n    "dst_policy_id": "J7uV"\n}';
    const send = (text: string) => admin.postText('/workflow/reloacte', text);
    expect((await send(seed)).body).toEqual({ code: 40001, msg: 'unknown policy id', correlation_id: cid });
    const policy = sim.ids.encode('policy', 2);
    const res = await send(seed.replace('"J7uV"', JSON.stringify(policy)));
    expect(res.body).toEqual({
      code: 0,
      data: {
        created_at: '2025-05-20T04:00:00Z',
        updated_at: '2025-05-20T04:00:00Z',
        id: sim.ids.encode('task', 1),
        status: 'queued',
        type: 'relocate',
        summary: { props: { dst_policy_id: policy, failed: 0, src_multiple: ['cloudreve://my/1/test_folder', 'cloudreve://my/1/cloudreve.exe'] } },
      },
      msg: '',
    });
    await sim.clock.runUntilIdle();
    const t = await admin.task(res.body.data.id);
    expect(t).toMatchObject({ status: 'completed', summary: { phase: 'finish', props: { failed: 0 } }, node: { type: 'master' } });
    for (const p of ['/1/test_folder/a.txt', '/1/test_folder/sub/b.txt', '/1/cloudreve.exe']) expect(await policyOf(sim, ADMIN, p)).toBe(policy);
    expect(await policyOf(sim, ADMIN, '/hello.txt')).toBe(sim.ids.encode('policy', 1));
  });
});

describe('relocate: the run', () => {
  it('goes "" → transfer → finish → completed, shows progress relocate, changes the policy and keeps the bytes', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const before = readFileSync(sim.drive.diskPath(ALICE, ['docs', 'a.txt']));
    const node = sim.drive.stat(ALICE, ['docs', 'a.txt'])!;
    const id = (await alice.post('/workflow/reloacte', { src: ['cloudreve://my/docs'], dst_policy_id: sim.ids.encode('policy', 2) })).body.data.id;
    const phases: string[] = [];
    const progress: unknown[] = [];
    await sim.clock.runUntil(async () => {
      const t = await alice.task(id);
      if (t.summary.phase && phases.at(-1) !== t.summary.phase) phases.push(t.summary.phase);
      const p = (await alice.get(`/workflow/progress/${id}`)).body.data;
      if (p.relocate) progress.push(p.relocate);
      return t.status === 'completed';
    });
    expect(phases).toEqual(['transfer', 'finish']);
    const files = sim.drive.children(ALICE, ['docs'])!.length; // docs holds files only
    expect(progress[0]).toEqual({ total: expect.any(Number), current: expect.any(Number), identifier: '' });
    expect(progress.every((p) => (p as { total: number }).total === files)).toBe(true);
    expect(await policyOf(sim, ALICE, '/docs/a.txt')).toBe(sim.ids.encode('policy', 2));
    expect(readFileSync(sim.drive.diskPath(ALICE, ['docs', 'a.txt'])).equals(before)).toBe(true);
    expect(sim.drive.stat(ALICE, ['docs', 'a.txt'])).toMatchObject({ id: node.id, size: node.size, updatedAt: node.updatedAt });
    expect(await alice.task(id)).toMatchObject({ status: 'completed', summary: { phase: 'finish', props: { failed: 0 } } });
  });

  it('skips files already on the target policy (relocating twice moves nothing the second time)', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const dst_policy_id = sim.ids.encode('policy', 2);
    await alice.post('/workflow/reloacte', { src: ['cloudreve://my/docs'], dst_policy_id });
    await sim.clock.runUntilIdle();
    const id = (await alice.post('/workflow/reloacte', { src: ['cloudreve://my/docs'], dst_policy_id })).body.data.id;
    let total: number | undefined;
    await sim.clock.runUntil(async () => {
      const p = (await alice.get(`/workflow/progress/${id}`)).body.data;
      if (p.relocate) total = p.relocate.total;
      return (await alice.task(id)).status === 'completed';
    });
    expect(total).toBe(0);
  });

  it('counts in failed the files the target policy refuses (size, extension), and leaves them where they were', async () => {
    const sim = testSimulator();
    const admin = await as(sim, 'admin');
    // Policy 3 refuses .exe and files over 64 KiB.
    const id = (await admin.post('/workflow/reloacte', { src: ['cloudreve://my/1'], dst_policy_id: sim.ids.encode('policy', 3) })).body.data.id;
    await sim.clock.runUntilIdle();
    expect(await admin.task(id)).toMatchObject({ status: 'completed', summary: { phase: 'finish', props: { failed: 1 } } });
    expect(await policyOf(sim, ADMIN, '/1/cloudreve.exe')).toBe(sim.ids.encode('policy', 1));
    expect(await policyOf(sim, ADMIN, '/1/test_folder/a.txt')).toBe(sim.ids.encode('policy', 3));
  });

  it('fails for a source that is missing (retryable, then error) or that does not parse (critical)', async () => {
    const sim = testSimulator({ profile: 'fast' });
    const alice = await as(sim, 'alice');
    const dst_policy_id = sim.ids.encode('policy', 2);
    const missing = (await alice.post('/workflow/reloacte', { src: ['cloudreve://my/nope'], dst_policy_id })).body.data.id;
    const bad = (await alice.post('/workflow/reloacte', { src: ['not a uri'], dst_policy_id })).body.data.id;
    const other = (await alice.post('/workflow/reloacte', { src: [`cloudreve://${sim.ids.encode('user', ADMIN)}@my/hello.txt`], dst_policy_id })).body.data.id;
    await sim.clock.runUntilIdle();
    expect(await alice.task(missing)).toMatchObject({ status: 'error', retry_count: 5, error: 'failed to get file cloudreve://my/nope: Path not exist' });
    expect(await alice.task(bad)).toMatchObject({ status: 'error', error: 'failed to create uri from strings: invalid uri "not a uri" (non-retryable error)' });
    expect(await alice.task(other)).toMatchObject({ status: 'error', error: `failed to get file cloudreve://${sim.ids.encode('user', ADMIN)}@my/hello.txt: Permission denied` });
    expect(await policyOf(sim, ADMIN, '/hello.txt')).toBe(sim.ids.encode('policy', 1));
  });
});

describe('control plane: drive and policies', () => {
  it('reads an object with its policy and children, and lists the policies', async () => {
    const sim = testSimulator();
    const res = await request(sim.app).get('/__sim/drive').query({ user: 'alice@cloudreve.org', path: '/docs' });
    expect(res.body).toMatchObject({ name: 'docs', kind: 'folder', size: 0, id: expect.any(String) });
    expect(res.body.policy).toBeUndefined();
    expect(res.body.children[0]).toMatchObject({ kind: 'file', policy: { id: sim.ids.encode('policy', 1), name: 'Default storage policy', type: 'local', max_size: 0 } });
    expect((await request(sim.app).get('/__sim/drive').query({ user: 'nobody@x', path: '/' })).status).toBe(404);
    expect((await request(sim.app).get('/__sim/drive').query({ user: '3', path: '/nope' })).body).toEqual({ error: 'No object at "/nope" in the drive of alice@cloudreve.org.' });
    const policies = (await request(sim.app).get('/__sim/policies')).body.policies;
    expect(policies).toEqual([
      { id: sim.ids.encode('policy', 1), name: 'Default storage policy', type: 'local', max_size: 0 },
      { id: sim.ids.encode('policy', 2), name: 'Cold storage', type: 's3', max_size: 0 },
      { id: sim.ids.encode('policy', 3), name: 'Small documents', denied_suffix: ['exe', 'iso'], type: 'local', max_size: 65536 },
    ]);
    expect(Object.keys(policies[2])).toEqual(['id', 'name', 'denied_suffix', 'type', 'max_size']);
  });
});

describe('preferred_node_id: Pro validates it against the cluster (the master only), falling back silently', () => {
  const SRC = { archive: { src: ['cloudreve://my/notes.txt'], dst: 'cloudreve://my/n.zip' }, extract: { src: ['cloudreve://my/archives/utf8.zip'], dst: 'cloudreve://my/extracted' }, download: { src: ['https://example.com/x/p.bin'], dst: 'cloudreve://my/Downloads' } };
  const nodeOf = async (edition: 'pro' | 'community', kind: keyof typeof SRC, preferred: (sim: Sim) => string) => {
    const sim = testSimulator({ edition });
    const alice = await as(sim, 'alice');
    const made = await alice.post(`/workflow/${kind}`, { ...SRC[kind], preferred_node_id: preferred(sim) });
    expect(made.body.code, JSON.stringify(made.body)).toBe(0);
    const id = Array.isArray(made.body.data) ? made.body.data[0].id : made.body.data.id;
    await sim.clock.runUntilIdle();
    const t = await alice.task(id, kind === 'download' ? 'downloaded' : 'general');
    expect(t.status).toBe('completed');
    return { node: t.node, sim };
  };
  const master = (sim: Sim, caps: string) => ({ id: sim.ids.encode('node', 1), name: 'Master', type: 'master', capabilities: caps });

  it.each(['archive', 'extract', 'download'] as const)('%s: runs on the master when the request names it', async (kind) => {
    const { node, sim } = await nodeOf('pro', kind, (s) => s.ids.encode('node', 1));
    expect(node).toEqual(master(sim, 'Hg=='));
  });

  it.each([
    ['archive', 'an unknown node', (s: Sim) => s.ids.encode('node', 7)],
    ['extract', 'a hash id of another kind', (s: Sim) => s.ids.encode('user', 2)],
    ['download', 'the docs’ example id', () => 'm9uO'],
  ] as const)('%s: falls back to the master for %s (no error)', async (kind, _, preferred) => {
    const { node, sim } = await nodeOf('pro', kind, preferred);
    expect(node).toEqual(master(sim, 'Hg=='));
  });

  it.each(['archive', 'extract', 'download'] as const)('%s: the community edition accepts and ignores it', async (kind) => {
    const { node, sim } = await nodeOf('community', kind, () => 'm9uO');
    expect(node).toEqual(master(sim, 'Dg=='));
  });
});
