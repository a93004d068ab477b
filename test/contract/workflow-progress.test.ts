/**
 * GET /workflow/progress/:id (spec §7): the live progress map, `{}` otherwise, never an error
 * past the id check.
 */
import { describe, expect, it } from 'vitest';
import { as, testSimulator } from '../helpers.js';

const EMPTY = { code: 0, data: {}, msg: '' };

describe('GET /workflow/progress/:id', () => {
  it('answers {} for a valid task hashid that was never created', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    expect((await alice.get(`/workflow/progress/${sim.ids.encode('task', 99)}`)).text).toBe('{"code":0,"data":{},"msg":""}');
  });

  it('answers {} while queued, between phases, and once completed', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const { data } = await alice.archive(['cloudreve://my/docs'], 'cloudreve://my/p.zip');
    const progress = async () => (await alice.get(`/workflow/progress/${data.id}`)).body;
    expect(await progress()).toEqual(EMPTY); // queued
    await sim.clock.advance(3_500); // suspending before compress_files
    expect(await progress()).toEqual(EMPTY);
    await sim.clock.advance(3_500); // 7 s: suspending before upload_archive: compress keys are gone
    expect(await progress()).toEqual(EMPTY);
    await sim.clock.runUntilIdle();
    expect(await progress()).toEqual(EMPTY);
  });

  it('reports archive_count and archive_size with total 0, growing with simulated time, during compress_files', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    // docs holds 4 files, 65 bytes; compress_files runs from 5.5 s to 7 s.
    const { data } = await alice.archive(['cloudreve://my/docs'], 'cloudreve://my/p.zip');
    const progress = async () => (await alice.get(`/workflow/progress/${data.id}`)).body;
    await sim.clock.advance(5_500);
    expect(await progress()).toEqual({
      code: 0,
      data: { archive_count: { total: 0, current: 0, identifier: '' }, archive_size: { total: 0, current: 0, identifier: '' } },
      msg: '',
    });
    await sim.clock.advance(750); // half-way
    expect((await progress()).data).toEqual({
      archive_count: { total: 0, current: 2, identifier: '' },
      archive_size: { total: 0, current: 32, identifier: '' },
    });
    await sim.clock.advance(749);
    expect((await progress()).data.archive_count.current).toBe(3);
  });

  it('reports upload with the archive size as total during upload_archive', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const { data } = await alice.archive(['cloudreve://my/docs'], 'cloudreve://my/p.zip');
    await sim.clock.advance(9_000 + 750); // upload_archive runs from 9 s to 10.5 s
    const body = (await alice.get(`/workflow/progress/${data.id}`)).body;
    expect(Object.keys(body.data)).toEqual(['upload']);
    const { total, current, identifier } = body.data.upload;
    expect(identifier).toBe('');
    expect(total).toBeGreaterThan(0);
    expect(current).toBe(Math.floor(total / 2));
  });

  it('answers {} to another user, and the live map to an admin', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const carol = await as(sim, 'carol');
    const admin = await as(sim, 'admin');
    const { data } = await alice.archive(['cloudreve://my/docs'], 'cloudreve://my/p.zip');
    await sim.clock.advance(6_000);
    expect((await carol.get(`/workflow/progress/${data.id}`)).body).toEqual(EMPTY);
    expect(Object.keys((await admin.get(`/workflow/progress/${data.id}`)).body.data)).toEqual(['archive_count', 'archive_size']);
  });
});
