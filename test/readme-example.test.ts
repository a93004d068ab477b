/**
 * The README's in-process example, as written there (only the import path differs).
 */
import request from 'supertest';
import { afterAll, beforeEach, expect, it } from 'vitest';
import { createSimulator } from '../src/index.js';

const sim = createSimulator({ clock: 'virtual', seed: 'test', strict: true });
afterAll(() => sim.close());
beforeEach(() => sim.reset()); // or a fresh sim.namespace(name) per test

it('archives docs', async () => {
  const { access_token } = await sim.mintToken('alice@cloudreve.org');
  const res = await request(sim.app)
    .post('/api/v4/workflow/archive')
    .set('Authorization', `Bearer ${access_token}`)
    .send({ src: ['cloudreve://my/docs'], dst: 'cloudreve://my/docs.zip' });
  expect(res.body.code).toBe(0);
  await sim.clock.advance(5_000); // 5 simulated seconds: compressing
  await sim.clock.runUntilIdle(); // …or run every task to its end
  expect(sim.drive.stat(3, ['docs.zip'])?.kind).toBe('file'); // alice is user 3
  expect(sim.journal.count({ method: 'POST', path: '/api/v4/workflow/archive' })).toBe(1);
});

it('starts each test from the fixtures again', async () => {
  expect(sim.drive.stat(3, ['docs.zip'])).toBeUndefined();
  expect(sim.journal.count()).toBe(0);
});
