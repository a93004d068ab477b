/**
 * Extraction benchmark: our zip reader (yauzl, as the extract task uses it) writing every entry
 * to disk, against Info-ZIP `unzip` on the same archive, side by side in one run. Prints the
 * throughput ratio and our peak RSS.
 *
 *   npm run build && node bench/extract.mjs --size-mb 1024
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { makeTree } from './tree.mjs';

const SELF = fileURLToPath(import.meta.url);
const DIST = path.join(path.dirname(SELF), '..', 'dist', 'codecs');
const MiB = 1024 * 1024;

function parseArgs(argv) {
  const args = { sizeMb: 1024, runs: 3, worker: null, src: null, out: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === '--size-mb') args.sizeMb = Number(next());
    else if (a === '--runs') args.runs = Number(next());
    else if (a === '--worker') args.worker = next();
    else if (a === '--src') args.src = next();
    else if (a === '--out') args.out = next();
    else if (a === '--help' || a === '-h') {
      console.log('usage: node bench/extract.mjs [--size-mb N (default 1024)] [--runs N (default 3)]');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!(args.sizeMb > 0) || !(Number.isInteger(args.runs) && args.runs > 0)) throw new Error('bad --size-mb or --runs');
  return args;
}

async function workerOurs({ src, out }) {
  const { openZip } = await import(pathToFileURL(path.join(DIST, 'unzip.js')).href);
  const baselineKiB = process.resourceUsage().maxRSS;
  const t0 = process.hrtime.bigint();
  const reader = await openZip(src, {});
  let files = 0;
  let bytes = 0;
  for await (const entry of reader.entries()) {
    const target = path.join(out, entry.name);
    if (!target.startsWith(out + path.sep)) continue;
    if (entry.kind === 'directory') {
      fs.mkdirSync(target, { recursive: true });
      continue;
    }
    if (entry.kind !== 'file') continue;
    fs.mkdirSync(path.dirname(target), { recursive: true });
    await pipeline(await entry.open(), fs.createWriteStream(target));
    files += 1;
    bytes += entry.size;
  }
  await reader.close();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  console.log(JSON.stringify({ ms, files, bytes, peakRssKiB: process.resourceUsage().maxRSS, baselineKiB }));
}

function workerUnzip({ src, out }) {
  const useTime = fs.existsSync('/usr/bin/time');
  const argv = ['-q', '-o', src, '-d', out];
  const [cmd, args] = useTime ? ['/usr/bin/time', ['-f', 'MAXRSS=%M', 'unzip', ...argv]] : ['unzip', argv];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`unzip failed (${r.status}): ${r.stderr}`);
  const m = /MAXRSS=(\d+)/.exec(r.stderr ?? '');
  console.log(JSON.stringify({ ms, peakRssKiB: m ? Number(m[1]) : null }));
}

function runWorker(kind, src, out) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SELF, '--worker', kind, '--src', src, '--out', out], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${kind} worker exited with ${code}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()));
    });
  });
}

/** File count and total bytes under a folder, to check both sides wrote the same tree. */
function measure(dir) {
  let files = 0;
  let bytes = 0;
  for (const d of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (d.isFile()) {
      files += 1;
      bytes += fs.statSync(path.join(d.parentPath, d.name)).size;
    }
  }
  return { files, bytes };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x, d = 1) => (x == null ? 'n/a' : x.toFixed(d));

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.worker === 'ours') return workerOurs(args);
  if (args.worker === 'unzip') return workerUnzip(args);
  if (!fs.existsSync(path.join(DIST, 'unzip.js'))) {
    console.error('missing dist/codecs/unzip.js: run `npm run build` first');
    process.exit(2);
  }
  const hasUnzip = spawnSync('unzip', ['-v'], { stdio: 'ignore' }).status === 0;
  const hasZip = spawnSync('zip', ['-v'], { stdio: 'ignore' }).status === 0;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'extract-bench-'));
  try {
    const src = path.join(tmp, 'src');
    process.stdout.write(`generating ~${args.sizeMb} MiB ... `);
    const tree = makeTree(src, args.sizeMb);
    const archive = path.join(tmp, 'input.zip');
    if (hasZip) {
      const r = spawnSync('zip', ['-6', '-r', '-q', archive, '.'], { cwd: src });
      if (r.status !== 0) throw new Error('zip failed');
    } else {
      const { writeZip } = await import(pathToFileURL(path.join(DIST, 'zip.js')).href);
      const entries = fs
        .readdirSync(src, { recursive: true, withFileTypes: true })
        .filter((d) => d.isFile())
        .map((d) => {
          const full = path.join(d.parentPath, d.name);
          const st = fs.statSync(full);
          return { name: path.relative(src, full), size: st.size, mtime: st.mtime, open: () => fs.createReadStream(full) };
        });
      await writeZip(entries, archive);
    }
    fs.rmSync(src, { recursive: true, force: true });
    console.log(`${tree.files} files, ${fmt(tree.bytes / MiB)} MiB, archive ${fmt(fs.statSync(archive).size / MiB)} MiB`);
    console.log(`node ${process.version}, ${os.cpus().length} CPU(s), ${args.runs} run(s) per side, alternating`);
    if (!hasUnzip) console.log('Info-ZIP `unzip` is not installed: reporting our numbers only.');
    const sides = hasUnzip ? ['ours', 'unzip'] : ['ours'];
    const results = { ours: [], unzip: [] };
    const trees = {};
    for (let run = 1; run <= args.runs; run++) {
      for (const side of sides) {
        const out = path.join(tmp, `out-${side}`);
        fs.rmSync(out, { recursive: true, force: true });
        fs.mkdirSync(out);
        const r = await runWorker(side, archive, out);
        results[side].push(r);
        if (run === 1) trees[side] = measure(out);
        console.log(`  run ${run} ${side.padEnd(5)} ${fmt(r.ms / 1000, 2)} s  ${fmt(tree.bytes / MiB / (r.ms / 1000))} MiB/s  peak RSS ${r.peakRssKiB == null ? 'n/a' : fmt(r.peakRssKiB / 1024)} MiB`);
        fs.rmSync(out, { recursive: true, force: true });
      }
    }
    const rate = (side) => tree.bytes / MiB / (median(results[side].map((r) => r.ms)) / 1000);
    console.log('');
    console.log(`ours:  ${fmt(rate('ours'))} MiB/s, peak RSS ${fmt(median(results.ours.map((r) => r.peakRssKiB)) / 1024)} MiB (idle node + module ~${fmt(median(results.ours.map((r) => r.baselineKiB)) / 1024)} MiB)`);
    if (hasUnzip) {
      console.log(`unzip: ${fmt(rate('unzip'))} MiB/s, peak RSS ${fmt(median(results.unzip.map((r) => r.peakRssKiB ?? 0)) / 1024)} MiB`);
      console.log(`ratio ours/unzip: throughput ${fmt(rate('ours') / rate('unzip'), 2)}x`);
      const same = trees.ours.files === trees.unzip.files && trees.ours.bytes === trees.unzip.bytes;
      console.log(`same tree: ${same ? 'yes' : `NO (ours ${JSON.stringify(trees.ours)}, unzip ${JSON.stringify(trees.unzip)})`}`);
      if (!same) process.exitCode = 1;
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
