/**
 * GET /workflow (spec §6): per-user categories, newest first, cursor pagination.
 */
import { describe, expect, it } from 'vitest';
import { ACCOUNTS, as, testSimulator, UUID_V4 } from '../helpers.js';

const cid = expect.stringMatching(UUID_V4);
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64');

/** Creates `n` archive tasks for an account; returns their ids, oldest first. */
async function archives(agent: Awaited<ReturnType<typeof as>>, n: number, prefix = 'a'): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await agent.archive(['cloudreve://my/notes.txt'], `cloudreve://my/${prefix}${i}.zip`);
    expect(res.code).toBe(0);
    ids.push(res.data.id);
  }
  return ids;
}

describe('GET /workflow', () => {
  it('answers an empty page for a user without tasks: no next_token, no total_items', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const res = await alice.get('/workflow?page_size=10&category=general');
    expect(res.text).toBe('{"code":0,"data":{"tasks":[],"pagination":{"page":0,"page_size":10,"is_cursor":true}},"msg":""}');
  });

  it('pages 12 tasks newest first; next_token is base64 of {"id": last id of the page}', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const ids = await archives(alice, 12);
    const first = await alice.list('general', 10);
    expect(first.tasks.map((t) => t.id)).toEqual(ids.slice(2).reverse());
    expect(first.pagination).toEqual({ page: 0, page_size: 10, next_token: b64({ id: ids[2] }), is_cursor: true });
    expect(Object.keys(first.pagination)).toEqual(['page', 'page_size', 'next_token', 'is_cursor']);
    const second = await alice.list('general', 10, first.pagination.next_token as string);
    expect(second.tasks.map((t) => t.id)).toEqual([ids[1], ids[0]]);
    expect(second.pagination).toEqual({ page: 0, page_size: 10, is_cursor: true });
  });

  it('keeps a stable cursor over 3 pages while new tasks arrive', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const ids = await archives(alice, 25);
    const p1 = await alice.list('general', 10);
    await archives(alice, 3, 'late'); // newer tasks do not shift the pages after the cursor
    const p2 = await alice.list('general', 10, p1.pagination.next_token as string);
    const p3 = await alice.list('general', 10, p2.pagination.next_token as string);
    expect([...p1.tasks, ...p2.tasks, ...p3.tasks].map((t) => t.id)).toEqual([...ids].reverse());
    expect(p3.tasks).toHaveLength(5);
    expect(p3.pagination.next_token).toBeUndefined();
  });

  it('treats an empty next_page_token as the first page', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const ids = await archives(alice, 2);
    const res = await alice.get('/workflow?page_size=25&category=general&next_page_token=');
    expect(res.body.data.tasks.map((t: { id: string }) => t.id)).toEqual([...ids].reverse());
  });

  it.each([
    ['not base64', '!!!'],
    ['base64 without padding', b64({ id: 'x' }).replace(/=+$/, '') + 'A'],
    ['not JSON', Buffer.from('nope').toString('base64')],
    ['a JSON array', b64([1])],
    ['an id that is no task hashid', 'USER'],
    ['an id that is not a string', b64({ id: 5 })],
  ])('answers 50001 "Failed to query tasks" for a next_page_token that is %s', async (_, token) => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const t = token === 'USER' ? b64({ id: sim.ids.encode('user', ACCOUNTS.alice.id) }) : token;
    const res = await alice.get(`/workflow?page_size=10&category=general&next_page_token=${encodeURIComponent(t)}`);
    expect(res.body).toEqual({ code: 50001, msg: 'Failed to query tasks', correlation_id: cid });
  });

  it('shows only the caller’s own tasks, even to an admin', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const admin = await as(sim, 'admin');
    const carol = await as(sim, 'carol');
    const mine = await archives(alice, 2);
    const theirs = await archives(admin, 1);
    expect((await alice.list('general')).tasks.map((t) => t.id)).toEqual([...mine].reverse());
    expect((await admin.list('general')).tasks.map((t) => t.id)).toEqual(theirs);
    expect((await carol.list('general')).tasks).toEqual([]);
  });

  it('never lists archive tasks under downloading or downloaded; downloading reports page_size 32765', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    await archives(alice, 2);
    expect(await alice.list('downloading', 25)).toEqual({ tasks: [], pagination: { page: 0, page_size: 32765, is_cursor: true } });
    await sim.clock.runUntilIdle();
    expect(await alice.list('downloaded', 25)).toEqual({ tasks: [], pagination: { page: 0, page_size: 25, is_cursor: true } });
  });

  it('writes stored rows: whole-second timestamps, where the create response had fractions', async () => {
    const sim = testSimulator({ startTime: '2025-05-20T04:43:28.791Z', utcOffset: '+08:00' });
    const alice = await as(sim, 'alice');
    const created = await alice.archive(['cloudreve://my/notes.txt'], 'cloudreve://my/t.zip');
    expect(created.data.created_at).toBe('2025-05-20T12:43:28.791+08:00');
    const listed = (await alice.list('general')).tasks[0];
    expect(listed.created_at).toBe('2025-05-20T12:43:28+08:00');
  });

  it('lists a freshly queued task without node, phase, duration, resume_time, retries or error', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const { data } = await alice.archive(['cloudreve://my/notes.txt'], 'cloudreve://my/q.zip');
    const res = await alice.get('/workflow?page_size=10&category=general');
    expect(res.body.data.tasks).toEqual([
      {
        created_at: '2025-05-20T04:00:00Z',
        updated_at: '2025-05-20T04:00:00Z',
        id: data.id,
        status: 'queued',
        type: 'create_archive',
        summary: { props: { dst: 'cloudreve://my/q.zip', failed: 0, src_multiple: ['cloudreve://my/notes.txt'] } },
      },
    ]);
  });

  it('writes a listed task’s keys in the server order', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    await alice.archive(['cloudreve://my/missing'], 'cloudreve://my/k.zip');
    await sim.clock.runUntilIdle();
    const res = await alice.get('/workflow?page_size=10&category=general');
    expect(Object.keys(res.body.data.tasks[0])).toEqual([
      'created_at', 'updated_at', 'id', 'status', 'type', 'node', 'summary', 'error', 'error_history', 'duration', 'resume_time', 'retry_count',
    ]);
    expect(Object.keys(res.body.data.tasks[0].node)).toEqual(['id', 'name', 'type', 'capabilities']);
  });
});
