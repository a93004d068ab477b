#!/usr/bin/env node
// Benchmark: HTTP throughput and latency of the simulator against its peers, side by side in
// one run — Prism 5 mocking the same contract (openapi/cloudreve-v4.yaml), a bare express 5 app
// answering a fixed body (the ceiling of our own stack; served by `app.listen`, and again by the
// server the simulator runs in) and a bare node:http server (the platform's limit) — with
// autocannon on loopback, the same connections and duration for each.
//
//   npm run build && node bench/http.mjs [--duration 5] [--rounds 3] [--connections 10] [--tasks 1000]
//
// Each server runs in its own child process; all are up at once and take turns under load, round
// after round, so slow spells of a noisy machine fall on all of them; the report shows medians.
// autocannon runs in this process. See bench/README.md.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
const ROOT = path.join(path.dirname(SELF), '..');
const CONTRACT = path.join(ROOT, 'openapi', 'cloudreve-v4.yaml');
const PRISM = path.join(ROOT, 'node_modules', '@stoplight', 'prism-cli', 'dist', 'index.js');

const ARCHIVE_BODY = JSON.stringify({ src: ['cloudreve://my/hello.txt'], dst: 'cloudreve://my/bench/out.zip' });

function parseArgs(argv) {
  const args = { duration: 5, rounds: 3, connections: 10, tasks: 1000, only: null, serve: null, port: 0, bodies: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`missing value for ${a}`);
      return v;
    };
    if (a === '--duration') args.duration = Number(next());
    else if (a === '--connections') args.connections = Number(next());
    else if (a === '--rounds') args.rounds = Number(next());
    else if (a === '--tasks') args.tasks = Number(next());
    else if (a === '--only') args.only = next().split(',');
    else if (a === '--serve') args.serve = next();
    else if (a === '--port') args.port = Number(next());
    else if (a === '--bodies') args.bodies = next();
    else if (a === '--help' || a === '-h') {
      console.log('usage: node bench/http.mjs [--duration s (5)] [--rounds n (3)] [--connections n (10)] [--tasks n (1000)] [--only sim,prism,express,express-app-server,raw]');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!(args.duration > 0)) throw new Error('--duration must be a positive number of seconds');
  if (!(Number.isInteger(args.connections) && args.connections > 0)) throw new Error('--connections must be a positive integer');
  return args;
}

// ---------------------------------------------------------------------------- the servers (child side)

/** The simulator as a user runs it, logging off (as the peers), with `tasks` tasks stored for the admin. */
async function serveSimulator(port, tasks) {
  const { createSimulator } = await import(pathToFileURL(path.join(ROOT, 'dist', 'index.js')).href);
  // The virtual clock keeps every task queued: the store holds them, nothing runs meanwhile.
  const sim = createSimulator({ clock: 'virtual', seed: 'bench', logLevel: 'silent' });
  const base = await sim.listen(port, '127.0.0.1');
  const post = (p, body, headers = {}) => fetch(`${base}/api/v4${p}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) }).then((r) => r.json());
  const signIn = await post('/session/token', { email: 'admin@cloudreve.org', password: 'admin' });
  const auth = { Authorization: `Bearer ${signIn.data.token.access_token}` };
  let taskId;
  for (let i = 0; i < tasks; i++) {
    const res = await post('/workflow/archive', { src: ['cloudreve://my/hello.txt'], dst: `cloudreve://my/seed/${i}.zip` }, auth);
    if (res.code !== 0) throw new Error(`seeding task ${i} failed: ${JSON.stringify(res)}`);
    taskId ??= res.data.id;
  }
  return { base, authorization: auth.Authorization, taskId };
}

/**
 * A bare express 5 app answering each route with a fixed body: served by `app.listen` (as
 * express apps usually are), or (`appServer`) by the server the simulator runs its app in,
 * whose requests and responses are built on the app's prototypes (dist/http/server.js).
 */
async function serveExpress(port, bodies, appServer = false) {
  const { default: express } = await import('express');
  const app = express();
  const send = (body) => (_req, res) => res.type('application/json').send(body);
  app.get('/api/v4/workflow', send(bodies.list));
  app.get('/api/v4/workflow/progress/:id', send(bodies.progress));
  app.post('/api/v4/workflow/archive', send(bodies.archive));
  const serve = appServer ? (await import(pathToFileURL(path.join(ROOT, 'dist', 'http', 'server.js')).href)).createAppServer(app) : app;
  const server = serve.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return { base: `http://127.0.0.1:${server.address().port}` };
}

/** A bare node:http server answering each route with a fixed body. */
async function serveRaw(port, bodies) {
  const server = createServer((req, res) => {
    const done = (body) => {
      res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (req.method === 'GET' && req.url.startsWith('/api/v4/workflow/progress/')) return done(bodies.progress);
    if (req.method === 'GET' && req.url.startsWith('/api/v4/workflow')) return done(bodies.list);
    if (req.method === 'POST' && req.url === '/api/v4/workflow/archive') {
      req.resume();
      return req.on('end', () => done(bodies.archive));
    }
    res.writeHead(404).end();
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return { base: `http://127.0.0.1:${server.address().port}` };
}

// ---------------------------------------------------------------------------- the run (parent side)

/** Starts a child and waits for the line that says it is ready; resolves to its process and what it printed. */
async function start(command, args, ready, env = {}) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stderr.on('data', (c) => (err += c));
  const info = await new Promise((resolve, reject) => {
    child.stdout.on('data', (c) => {
      out += c;
      const found = ready(out);
      if (found) resolve(found);
    });
    child.on('exit', (code) => reject(new Error(`${command} ${args.join(' ')} exited with ${code} before it was ready:\n${err || out}`)));
  });
  return { child, info };
}

async function stop(child) {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

const freePort = async () => {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
};

/** The value below which the share `q` of the sorted `xs` falls (nearest rank). */
const quantile = (xs, q) => xs[Math.min(xs.length - 1, Math.max(0, Math.ceil(q * xs.length) - 1))];

/** What each run spends warming up before its responses count. */
const WARM_UP_MS = 1000;

/**
 * One autocannon run, of which the first second warms up and does not count. The warm-up uses
 * the connections the measurement then uses: the first second on fresh connections is slow on
 * every server here (a run that started its own connections after a separate warm-up showed
 * most of a fast server's p99 in it). Latencies come from each response's own time (autocannon
 * measures it with `process.hrtime`): its histogram keeps whole milliseconds only, which at
 * these speeds leaves p99 at 1, 2 or 3 ms and lets one step decide a ratio.
 */
async function measure(autocannon, { url, method, headers, body }, opts) {
  const times = [];
  const start = performance.now();
  const from = start + WARM_UP_MS;
  let end = start;
  const r = await new Promise((resolve, reject) => {
    const instance = autocannon(
      { url, method, headers, body, connections: opts.connections, duration: WARM_UP_MS / 1000 + opts.duration, pipelining: 1 },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    instance.on('response', (_client, _status, _bytes, ms) => {
      const now = performance.now();
      if (now < from) return;
      times.push(ms);
      end = now;
    });
  });
  const sorted = Float64Array.from(times).sort();
  return { rps: times.length / ((end - from) / 1000), p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), errors: r.errors + r.timeouts + r.non2xx, total: times.length };
}

/** Checks one answer before measuring: a successful envelope. */
async function probe({ url, method, headers, body }) {
  const res = await fetch(url, { method, headers, body });
  const text = await res.text();
  let code;
  try {
    code = JSON.parse(text).code;
  } catch {
    code = undefined;
  }
  if (res.status !== 200 || code !== 0) throw new Error(`${method} ${url} answered ${res.status} ${text.slice(0, 200)}`);
  return text;
}

/** Starts a peer and resolves to its child process and the URL prefix of the API. */
async function startPeer(target, bodies) {
  const port = await freePort();
  if (target === 'prism') {
    // Prism prints nothing at `-v silent`: poll until it answers. It serves the contract's paths without the server's /api/v4.
    const child = spawn(process.execPath, [PRISM, 'mock', CONTRACT, '--port', String(port), '--host', '127.0.0.1', '-v', 'silent'], { stdio: 'ignore', env: { ...process.env, SCARF_ANALYTICS: 'false' } });
    const prefix = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      try {
        await fetch(`${prefix}/site/ping`);
        return { child, prefix };
      } catch {
        if (i > 600 || child.exitCode !== null) throw new Error('Prism did not start');
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
  const s = await start(process.execPath, [SELF, '--serve', target, '--port', String(port), '--bodies', Buffer.from(JSON.stringify(bodies)).toString('base64')], readyLine);
  return { child: s.child, prefix: `${s.info.base}/api/v4` };
}

const readyLine = (out) => {
  const m = /READY (.*)\n/.exec(out);
  return m ? JSON.parse(m[1]) : undefined;
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(opts) {
  const { default: autocannon } = await import('autocannon');
  const targets = opts.only ?? ['sim', 'prism', 'express', 'express-app-server', 'raw'];
  const endpoints = ['GET /workflow', 'GET /workflow/progress/{id}', 'POST /workflow/archive'];
  console.log(
    `HTTP benchmark: ${opts.connections} connections, ${opts.rounds} rounds of ${opts.duration} s per endpoint and server (each after a 1 s warm-up on the same connections, servers taking turns), medians; ${opts.tasks} stored tasks; node ${process.version}, ${(await import('node:os')).cpus().length} CPUs`,
  );

  // The simulator first: its answers become the fixed bodies of the bare servers.
  const sim = await start(process.execPath, [SELF, '--serve', 'sim', '--port', String(await freePort()), '--tasks', String(opts.tasks)], readyLine);
  const { base, authorization, taskId } = sim.info;
  const json = { 'Content-Type': 'application/json' };
  const requestsOf = (prefix) => ({
    'GET /workflow': { url: `${prefix}/workflow?page_size=10&category=general`, method: 'GET', headers: { Authorization: authorization } },
    'GET /workflow/progress/{id}': { url: `${prefix}/workflow/progress/${taskId}`, method: 'GET', headers: { Authorization: authorization } },
    'POST /workflow/archive': { url: `${prefix}/workflow/archive`, method: 'POST', headers: { Authorization: authorization, ...json }, body: ARCHIVE_BODY },
  });
  const servers = { sim: { child: sim.child, requests: requestsOf(`${base}/api/v4`) } };
  const bodies = {};
  for (const [key, e] of [['list', 'GET /workflow'], ['progress', 'GET /workflow/progress/{id}'], ['archive', 'POST /workflow/archive']]) bodies[key] = await probe(servers.sim.requests[e]);
  try {
    // Every server is up at once (idle when not measured), so the rounds can take turns.
    for (const t of targets.filter((t) => t !== 'sim')) {
      const peer = await startPeer(t, bodies);
      servers[t] = { child: peer.child, requests: requestsOf(peer.prefix) };
    }
    const runs = {};
    for (const e of endpoints) {
      for (const t of targets) {
        await probe(servers[t].requests[e]);
        (runs[t] ??= {})[e] = [];
      }
      for (let round = 0; round < opts.rounds; round++) {
        for (const t of targets) runs[t][e].push(await measure(autocannon, servers[t].requests[e], opts));
      }
    }
    const results = {};
    for (const t of targets) {
      results[t] = {};
      for (const e of endpoints) {
        const rs = runs[t][e];
        results[t][e] = { rps: median(rs.map((r) => r.rps)), p50: median(rs.map((r) => r.p50)), p99: median(rs.map((r) => r.p99)), errors: rs.reduce((n, r) => n + r.errors, 0) };
      }
    }
    report(results, endpoints, targets);
  } finally {
    for (const s of Object.values(servers)) await stop(s.child);
  }
}

function report(results, endpoints, targets) {
  const fmt = (n, d = 0) => (n === undefined ? '-' : n.toFixed(d));
  const ratio = (a, b) => (a && b ? `${(a / b).toFixed(2)}×` : '-');
  console.log('');
  console.log(`| endpoint | ${targets.map((t) => `${t} req/s | ${t} p50/p99 ms`).join(' | ')} | sim/prism | sim/express | sim/express-app-server | sim/raw | p99 sim/prism |`);
  console.log(`|---|${targets.map(() => '---:|---:').join('|')}|---:|---:|---:|---:|---:|`);
  const verdicts = [];
  for (const e of endpoints) {
    const cells = targets.map((t) => {
      const r = results[t]?.[e];
      return r ? `${fmt(r.rps)}${r.errors ? ` (${r.errors} errors)` : ''} | ${fmt(r.p50, 2)}/${fmt(r.p99, 2)}` : '- | -';
    });
    const s = results.sim?.[e];
    const p = results.prism?.[e];
    const x = results.express?.[e];
    const a = results['express-app-server']?.[e];
    const w = results.raw?.[e];
    console.log(`| ${e} | ${cells.join(' | ')} | ${ratio(s?.rps, p?.rps)} | ${ratio(s?.rps, x?.rps)} | ${ratio(s?.rps, a?.rps)} | ${ratio(s?.rps, w?.rps)} | ${ratio(s?.p99, p?.p99)} |`);
    if (s && p) {
      const get = e.startsWith('GET');
      const wantPrism = get ? 3 : 2;
      verdicts.push(`${e}: sim/prism ${(s.rps / p.rps).toFixed(2)}× (target ≥ ${wantPrism}×) ${s.rps / p.rps >= wantPrism ? 'met' : 'MISSED'}`);
      if (get && x) verdicts.push(`${e}: sim/express ${((100 * s.rps) / x.rps).toFixed(0)} % (target ≥ 60 %) ${s.rps / x.rps >= 0.6 ? 'met' : 'MISSED'}`);
      verdicts.push(`${e}: p99 sim/prism ${(s.p99 / p.p99).toFixed(2)} (target ≤ 0.33) ${s.p99 <= p.p99 / 3 ? 'met' : 'MISSED'}`);
    }
  }
  console.log('');
  for (const v of verdicts) console.log(`- ${v}`);
  const missed = verdicts.filter((v) => v.endsWith('MISSED')).length;
  console.log('');
  console.log(`Summary: ${verdicts.length - missed} of ${verdicts.length} targets met${missed ? `, ${missed} missed` : ''}.`);
}

// ---------------------------------------------------------------------------- entry

if (process.argv.includes('--serve')) {
  const args = parseArgs(process.argv.slice(2));
  const bodies = args.bodies ? JSON.parse(Buffer.from(args.bodies, 'base64').toString('utf8')) : undefined;
  const info =
    args.serve === 'sim'
      ? await serveSimulator(args.port, args.tasks)
      : args.serve === 'express' || args.serve === 'express-app-server'
        ? await serveExpress(args.port, bodies, args.serve === 'express-app-server')
        : await serveRaw(args.port, bodies);
  process.stdout.write(`READY ${JSON.stringify(info)}\n`);
} else {
  await main(parseArgs(process.argv.slice(2)));
}
