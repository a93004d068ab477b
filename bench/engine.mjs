#!/usr/bin/env node
// Benchmark: the task engine on its own (dist/engine). (1) 10 000 tasks through their whole
// lifecycle (queued → three phases with suspending between them → completed) on the virtual
// clock: wall time of runUntilIdle. (2) 10 000 tasks suspended for an hour on the real clock:
// the CPU the process uses while they wait (one wall timer for all of them, so about none).
//
//   npm run build && node bench/engine.mjs [--tasks 10000] [--idle-seconds 5]
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const TASKS = arg('--tasks', 10_000);
const IDLE_SECONDS = arg('--idle-seconds', 5);

const load = (rel) => import(pathToFileURL(path.join(ROOT, 'dist', rel)).href);
const { createClock } = await load('engine/clock.js');
const { createEngine } = await load('engine/engine.js');
const { PROFILES } = await load('engine/profile.js');
const { pino } = await import('pino');

/** Three phases, each a simulated second of work: the shape of create_archive without its I/O. */
const threePhases = {
  type: 'create_archive',
  queue: 'io',
  phases: ['', 'compress_files', 'upload_archive'],
  progressKeys: {},
  usesNode: true,
  steps: {
    '': async () => ({ goto: 'compress_files', costMs: 0 }),
    compress_files: async () => ({ goto: 'upload_archive', costMs: 1000 }),
    upload_archive: async () => ({ complete: true, costMs: 1000 }),
  },
};

/** Waits an hour at its first iteration (a download polling a slow job). */
const waiting = {
  type: 'remote_download',
  queue: 'download',
  phases: [''],
  progressKeys: {},
  usesNode: true,
  steps: { '': async () => ({ waitMs: 3_600_000, costMs: 0 }) },
};

const engineOn = (clock, workflows) =>
  createEngine({ clock, profile: PROFILES.realistic, concurrency: { io: 15, download: 15 }, workflows, services: {}, logger: pino({ level: 'silent' }), nodeId: 1 });

// (1) Lifecycles on the virtual clock.
const virtual = createClock({ mode: 'virtual', start: Date.UTC(2025, 4, 20), loopLimit: 100 * TASKS });
const engine = engineOn(virtual, [threePhases]);
const t0 = performance.now();
const tasks = [];
for (let i = 0; i < TASKS; i++) tasks.push(engine.create('create_archive', 1, { dst: `cloudreve://my/${i}.zip` }));
const created = performance.now() - t0;
const simulated = (await virtual.runUntilIdle()) - Date.UTC(2025, 4, 20); // it answers the new now
const lifecycle = performance.now() - t0;
const completed = tasks.filter((t) => t.status === 'completed').length;
engine.dispose();

// (2) Suspended tasks on the real clock.
const real = createClock({ mode: 'real' });
const sleeper = engineOn(real, [waiting]);
const waiters = [];
for (let i = 0; i < TASKS; i++) waiters.push(sleeper.create('remote_download', 1, {}));
// Let every task reach `suspending` (pick-up delays, then the first iteration).
const deadline = performance.now() + 60_000;
while (waiters.some((t) => t.status !== 'suspending')) {
  if (performance.now() > deadline) throw new Error('tasks did not all reach suspending within 60 s');
  await new Promise((r) => setTimeout(r, 100));
}
const cpu0 = process.cpuUsage();
const w0 = performance.now();
await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
const cpu = process.cpuUsage(cpu0);
const wall = performance.now() - w0;
const cpuShare = (cpu.user + cpu.system) / 1000 / wall;
sleeper.dispose();
real.dispose?.();

console.log(`Engine benchmark: ${TASKS} tasks; node ${process.version}`);
console.log('');
console.log('| case | result |');
console.log('|---|---|');
console.log(`| create ${TASKS} tasks | ${created.toFixed(0)} ms |`);
console.log(`| their whole lifecycles on the virtual clock (runUntilIdle) | ${lifecycle.toFixed(0)} ms wall for ${(simulated / 1000).toFixed(0)} s simulated; ${completed} completed |`);
console.log(`| ${TASKS} tasks suspended on the real clock, ${IDLE_SECONDS} s | ${((cpu.user + cpu.system) / 1000).toFixed(1)} ms CPU (${(cpuShare * 100).toFixed(2)} % of one core) |`);
console.log('');
console.log(
  `Summary: ${TASKS} lifecycles in ${(lifecycle / 1000).toFixed(2)} s (target < 2 s: ${lifecycle < 2000 && completed === TASKS ? 'met' : 'MISSED'}); suspended tasks cost ${(cpuShare * 100).toFixed(2)} % of a core (target ≈ 0: ${cpuShare < 0.01 ? 'met' : 'MISSED'}).`,
);
process.exit(0);
