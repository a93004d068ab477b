#!/usr/bin/env node
// Soak: the simulator on the real clock (realistic timing, sped up) with 1 000 tasks in flight
// for 10 minutes — archives, extractions and remote downloads, replaced as they finish — and
// clients polling progress and the task list all along. Reports whether every task reached a
// terminal state and how the heap (after a collection) moved.
//
//   npm run build && node bench/soak.mjs [--minutes 10] [--in-flight 1000] [--speed 20]
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
if (typeof global.gc !== 'function') {
  // Heap readings need a collection first: run again with it exposed.
  const r = spawnSync(process.execPath, ['--expose-gc', SELF, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const ROOT = path.join(path.dirname(SELF), '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const MINUTES = arg('--minutes', 10);
const IN_FLIGHT = arg('--in-flight', 1000);
const SPEED = arg('--speed', 20);
const TERMINAL = new Set(['completed', 'error', 'canceled']);

const { createSimulator } = await import(pathToFileURL(path.join(ROOT, 'dist', 'index.js')).href);
const sim = createSimulator({ clock: 'real', speed: SPEED, profile: 'realistic', logLevel: 'silent', concurrency: { io: 15, download: 15 } });
const base = await sim.listen(0, '127.0.0.1');
const call = async (method, p, body, token) => {
  const res = await fetch(`${base}/api/v4${p}`, { method, headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) }, body: body === undefined ? undefined : JSON.stringify(body) });
  return res.json();
};
const signIn = async () => (await call('POST', '/session/token', { email: 'admin@cloudreve.org', password: 'admin' })).data.token.access_token;
let token = await signIn();
let tokenAt = performance.now();

const live = new Map(); // task id → type
const seen = new Map(); // task id → last status
let made = 0;
let requests = 0;
let failures = 0;

/** One new task of the next kind, in a folder of its own. */
async function create() {
  const n = made++;
  const kind = n % 3;
  const folder = `cloudreve://my/soak/${n}`;
  await call('POST', '/file/create', { type: 'folder', uri: folder, err_on_conflict: true }, token);
  const res =
    kind === 0
      ? await call('POST', '/workflow/archive', { src: ['cloudreve://my/hello.txt', 'cloudreve://my/docs'], dst: `${folder}/a.zip` }, token)
      : kind === 1
        ? await call('POST', '/workflow/extract', { src: ['cloudreve://my/archives/utf8.zip'], dst: folder }, token)
        : await call('POST', '/workflow/download', { src: ['https://example.com/fixtures/hello.txt'], dst: folder }, token);
  requests += 2;
  const task = Array.isArray(res.data) ? res.data[0] : res.data;
  if (res.code !== 0 || !task) {
    failures++;
    return;
  }
  live.set(task.id, task.type);
  seen.set(task.id, task.status);
}

/** Reads every task back through the list (all three categories) and forgets the finished ones. */
async function sweep() {
  for (const category of ['general', 'downloading', 'downloaded']) {
    let next;
    do {
      const res = await call('GET', `/workflow?page_size=100&category=${category}${next ? `&next_page_token=${encodeURIComponent(next)}` : ''}`, undefined, token);
      requests++;
      if (res.code !== 0) {
        failures++;
        break;
      }
      for (const t of res.data.tasks) {
        seen.set(t.id, t.status);
        if (TERMINAL.has(t.status)) live.delete(t.id);
      }
      next = res.data.pagination.next_token;
    } while (next);
  }
}

const heap = [];
const sample = () => {
  global.gc();
  heap.push({ at: performance.now(), mb: process.memoryUsage().heapUsed / 2 ** 20, tasks: seen.size });
};

const started = performance.now();
const endAt = started + MINUTES * 60_000;
sample();
let nextSample = performance.now() + 10_000;
let polls = 0;
while (performance.now() < endAt) {
  if (performance.now() - tokenAt > 30 * 60_000 / SPEED) {
    token = await signIn(); // tokens expire on the (sped-up) simulated clock
    tokenAt = performance.now();
  }
  while (live.size < IN_FLIGHT) await create();
  // Steady polling: progress of a few live tasks, then a sweep of the lists.
  for (const id of [...live.keys()].slice(0, 20)) {
    const res = await call('GET', `/workflow/progress/${id}`, undefined, token);
    requests++;
    polls++;
    if (res.code !== 0) failures++;
  }
  await sweep();
  if (performance.now() >= nextSample) {
    sample();
    nextSample += 10_000;
  }
}
// Let everything in flight finish (the simulated minutes pass SPEED times faster).
const drainBy = performance.now() + 5 * 60_000;
while (live.size > 0 && performance.now() < drainBy) {
  await new Promise((r) => setTimeout(r, 500));
  await sweep();
}
sample();
await sim.close();

const statuses = {};
for (const s of seen.values()) statuses[s] = (statuses[s] ?? 0) + 1;
const stuck = [...seen.values()].filter((s) => !TERMINAL.has(s)).length;
// From a third of the run on: by then the journal (bounded) is full, and what still grows is
// the task history and the files the tasks made, which the simulator keeps on purpose.
const first = heap[Math.floor(heap.length / 3)] ?? heap[0];
const last = heap[heap.length - 1];
const perTask = ((last.mb - first.mb) * 1024) / Math.max(1, last.tasks - first.tasks);
console.log(`Soak: ${MINUTES} min on the real clock ×${SPEED}, ${IN_FLIGHT} tasks in flight; node ${process.version}`);
console.log('');
console.log('| measure | value |');
console.log('|---|---|');
console.log(`| tasks created | ${made} (${failures} failed requests of ${requests + polls}) |`);
console.log(`| final statuses | ${Object.entries(statuses).map(([k, v]) => `${k} ${v}`).join(', ')} |`);
console.log(`| heap after GC: a third into the run → end | ${first.mb.toFixed(1)} MiB → ${last.mb.toFixed(1)} MiB (max ${Math.max(...heap.map((h) => h.mb)).toFixed(1)} MiB) |`);
console.log(`| heap per task added meanwhile (the task and the files it made stay) | ${perTask.toFixed(2)} KiB |`);
console.log('');
console.log(`Summary: ${stuck === 0 ? 'every task reached a terminal state' : `${stuck} tasks did not finish`}; heap ${perTask < 8 ? 'flat' : 'GROWING'} (${perTask.toFixed(2)} KiB per stored task, the task history itself).`);
process.exit(stuck === 0 && failures === 0 ? 0 : 1);
