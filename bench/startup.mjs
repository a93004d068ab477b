#!/usr/bin/env node
// Benchmark: start-up. (1) From spawning a process to its first answered request: the
// simulator's command (`node dist/bin.js`, the bundled CLI with its code cache) against Prism 5
// mocking the same contract and a bare express app, side by side, runs taking turns; and the
// CLI's modules loaded one by one (`node dist/cli.js`), to show what the bundle saves. (2) In-process: `createSimulator()` plus the
// first answered request, and `reset()`, in a fresh process (cold) and once the contract is
// compiled (warm).
//
//   npm run build && node bench/startup.mjs [--runs 5]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
const ROOT = path.join(path.dirname(SELF), '..');
const runsAt = process.argv.indexOf('--runs');
const RUNS = runsAt > 0 ? Number(process.argv[runsAt + 1]) : 5;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function freePort() {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

/** Milliseconds from spawning `args` to the first 200 answer of `url`. */
async function timeToFirstAnswer(args, url) {
  const started = performance.now();
  const child = spawn(process.execPath, args, { stdio: 'ignore', env: { ...process.env, SCARF_ANALYTICS: 'false' } });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited with ${child.exitCode}`);
      try {
        const res = await fetch(url);
        await res.arrayBuffer();
        if (res.status === 200) return performance.now() - started;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 2));
      if (performance.now() - started > 60_000) throw new Error(`${args.join(' ')} did not answer within 60 s`);
    }
  } finally {
    child.kill('SIGKILL');
    await once(child, 'exit').catch(() => {});
  }
}

/** In a fresh process: createSimulator() + first answered request, reset(), cold and warm. */
async function inProcess() {
  const { createSimulator } = await import(pathToFileURL(path.join(ROOT, 'dist', 'index.js')).href);
  const one = async () => {
    const t0 = performance.now();
    const sim = createSimulator({ clock: 'virtual' });
    const created = performance.now() - t0;
    const base = await sim.listen(0, '127.0.0.1');
    const res = await fetch(`${base}/api/v4/site/ping`);
    await res.text();
    const firstAnswer = performance.now() - t0;
    const t1 = performance.now();
    sim.reset();
    const reset = performance.now() - t1;
    await sim.close();
    return { created, firstAnswer, reset };
  };
  const cold = await one();
  const warm = [];
  for (let i = 0; i < 10; i++) warm.push(await one());
  process.stdout.write(JSON.stringify({ cold, warm: { created: median(warm.map((w) => w.created)), firstAnswer: median(warm.map((w) => w.firstAnswer)), reset: median(warm.map((w) => w.reset)) } }));
}

if (process.argv.includes('--in-process')) {
  await inProcess();
} else {
  const prism = path.join(ROOT, 'node_modules', '@stoplight', 'prism-cli', 'dist', 'index.js');
  const contract = path.join(ROOT, 'openapi', 'cloudreve-v4.yaml');
  const bare = `const e=require(${JSON.stringify(path.join(ROOT, 'node_modules', 'express'))});const a=e();a.get('/api/v4/site/ping',(q,r)=>r.json({code:0,data:'4.18.0',msg:''}));a.listen(+process.argv[1],'127.0.0.1')`;
  const targets = {
    sim: (port) => [[path.join(ROOT, 'dist', 'bin.js'), '--port', String(port), '--log-level', 'warn'], `http://127.0.0.1:${port}/api/v4/site/ping`],
    'sim, unbundled': (port) => [[path.join(ROOT, 'dist', 'cli.js'), '--port', String(port), '--log-level', 'warn'], `http://127.0.0.1:${port}/api/v4/site/ping`],
    prism: (port) => [[prism, 'mock', contract, '--port', String(port), '-v', 'silent'], `http://127.0.0.1:${port}/site/ping`],
    express: (port) => [['-e', bare, String(port)], `http://127.0.0.1:${port}/api/v4/site/ping`],
  };
  const times = Object.fromEntries(Object.keys(targets).map((name) => [name, []]));
  for (let i = 0; i < RUNS; i++) {
    for (const [name, make] of Object.entries(targets)) {
      const [args, url] = make(await freePort());
      times[name].push(await timeToFirstAnswer(args, url));
    }
  }
  const child = spawn(process.execPath, [SELF, '--in-process'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  await once(child, 'exit');
  const inproc = JSON.parse(out);

  const ms = (n) => `${n.toFixed(0)} ms`;
  console.log(`Start-up benchmark: ${RUNS} runs each, taking turns, medians; node ${process.version}`);
  console.log('');
  console.log('| process start → first answered request | median | runs |');
  console.log('|---|---:|---|');
  for (const [name, xs] of Object.entries(times)) console.log(`| ${name} | ${ms(median(xs))} | ${xs.map((x) => x.toFixed(0)).join(', ')} |`);
  console.log('');
  console.log('| in-process | cold (fresh process) | warm (contract compiled) |');
  console.log('|---|---:|---:|');
  console.log(`| createSimulator() | ${ms(inproc.cold.created)} | ${ms(inproc.warm.created)} |`);
  console.log(`| createSimulator() → first answer | ${ms(inproc.cold.firstAnswer)} | ${ms(inproc.warm.firstAnswer)} |`);
  console.log(`| reset() | ${ms(inproc.cold.reset)} | ${ms(inproc.warm.reset)} |`);
  const sim = median(times.sim);
  const prismMs = median(times.prism);
  const setup = inproc.warm.created + inproc.warm.reset;
  console.log('');
  console.log(
    `Summary: CLI start to first answer ${ms(sim)} (target ≤ 300 ms: ${sim <= 300 ? 'met' : 'MISSED'}; ${ms(median(times['sim, unbundled']))} unbundled), ${(prismMs / sim).toFixed(1)}× faster than Prism (${ms(prismMs)}); createSimulator() + reset() ${ms(setup)} warm (target ≤ 50 ms: ${setup <= 50 ? 'met' : 'MISSED'}), ${ms(inproc.cold.created + inproc.cold.reset)} cold.`,
  );
}
