#!/usr/bin/env node
// Benchmark: our streaming writeZip (dist/codecs/zip.js) against Info-ZIP `zip -6 -r -q` on the
// same tree of files. Usage: npm run build && node bench/archive.mjs [--size-mb 1024] [--runs 3]
// See bench/README.md for what the numbers mean.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { makeTree } from './tree.mjs';

const SELF = fileURLToPath(import.meta.url);
const DIST_ZIP = path.join(path.dirname(SELF), '..', 'dist', 'codecs', 'zip.js');
const MiB = 1024 * 1024;

function parseArgs(argv) {
  const args = { sizeMb: 1024, runs: 3, level: 6, worker: null, src: null, out: null, keep: false, zip64: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`missing value for ${a}`);
      return v;
    };
    if (a === '--size-mb') args.sizeMb = Number(next());
    else if (a === '--runs') args.runs = Number(next());
    else if (a === '--level') args.level = Number(next());
    else if (a === '--worker') args.worker = next();
    else if (a === '--src') args.src = next();
    else if (a === '--out') args.out = next();
    else if (a === '--keep') args.keep = true;
    else if (a === '--no-zip64') args.zip64 = false;
    else if (a === '--help' || a === '-h') {
      console.log('usage: node bench/archive.mjs [--size-mb N (default 1024)] [--runs N (default 3)] [--level 0-9 (default 6)] [--no-zip64] [--keep]');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!(args.sizeMb > 0)) throw new Error('--size-mb must be a positive number');
  if (!(Number.isInteger(args.runs) && args.runs > 0)) throw new Error('--runs must be a positive integer');
  return args;
}

// ---------------------------------------------------------------- worker side

/** Files under `root`, depth first in sorted order, as paths relative to `root`. */
function* walk(root, rel = '') {
  for (const name of fs.readdirSync(path.join(root, rel)).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    const st = fs.statSync(path.join(root, r));
    if (st.isDirectory()) yield* walk(root, r);
    else if (st.isFile()) yield { rel: r, st };
  }
}

async function workerOurs({ src, out, level }) {
  const { writeZip } = await import(pathToFileURL(DIST_ZIP).href);
  // Resident set of an idle node with the module loaded: the floor under our peak.
  const baselineKiB = process.resourceUsage().maxRSS;
  function* entries() {
    for (const { rel, st } of walk(src)) {
      const full = path.join(src, rel);
      yield { name: rel, size: st.size, mtime: st.mtime, open: () => fs.createReadStream(full) };
    }
  }
  const t0 = process.hrtime.bigint();
  const r = await writeZip(entries(), out, { level });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  console.log(JSON.stringify({ ms, size: r.size, entries: r.entries, bytes: r.bytes, peakRssKiB: process.resourceUsage().maxRSS, baselineKiB }));
}

async function workerZip({ src, out, level }) {
  // Relative names from inside src, the same names ours writes. GNU time, when present, gives zip's peak RSS.
  const useTime = fs.existsSync('/usr/bin/time');
  const zipArgs = [`-${level}`, '-r', '-q', out, '.'];
  const [cmd, argv] = useTime ? ['/usr/bin/time', ['-f', 'MAXRSS=%M', 'zip', ...zipArgs]] : ['zip', zipArgs];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, { cwd: src, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`zip failed (${r.status}): ${r.stderr}`);
  const m = /MAXRSS=(\d+)/.exec(r.stderr ?? '');
  console.log(JSON.stringify({ ms, size: fs.statSync(out).size, peakRssKiB: m ? Number(m[1]) : null }));
}

// ---------------------------------------------------------------- driver

function runWorker(kind, src, out, level) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SELF, '--worker', kind, '--src', src, '--out', out, '--level', String(level)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${kind} worker exited with ${code}`));
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop()));
      } catch (err) {
        reject(err);
      }
    });
  });
}

function unzipTest(file) {
  const r = spawnSync('unzip', ['-tq', file], { encoding: 'utf8', maxBuffer: 256 * MiB });
  if (r.error) return 'unzip not installed, not verified';
  return r.status === 0 ? 'OK' : `FAILED (status ${r.status}): ${(r.stdout + r.stderr).slice(0, 500)}`;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (x, d = 1) => (x == null ? 'n/a' : x.toFixed(d));

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.worker === 'ours') return workerOurs(args);
  if (args.worker === 'zip') return workerZip(args);
  if (args.worker) throw new Error(`unknown worker ${args.worker}`);

  if (!fs.existsSync(DIST_ZIP)) {
    console.error(`missing ${path.relative(process.cwd(), DIST_ZIP)}: run \`npm run build\` first`);
    process.exit(2);
  }
  const hasZip = spawnSync('zip', ['-v'], { stdio: 'ignore' }).status === 0;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-bench-'));
  const src = path.join(tmp, 'src');
  try {
    process.stdout.write(`generating ~${args.sizeMb} MiB under ${src} ... `);
    const t0 = process.hrtime.bigint();
    const tree = makeTree(src, args.sizeMb);
    console.log(`${tree.files} files, ${fmt(tree.bytes / MiB)} MiB in ${fmt(Number(process.hrtime.bigint() - t0) / 1e9)} s`);
    console.log(`node ${process.version}, ${os.cpus().length} CPU(s) ${os.cpus()[0]?.model ?? ''}, level ${args.level}, ${args.runs} run(s) per side, alternating`);
    if (!hasZip) console.log('Info-ZIP `zip` is not installed: reporting our numbers only.');

    const sides = hasZip ? ['ours', 'zip'] : ['ours'];
    const results = { ours: [], zip: [] };
    const verified = {};
    for (let run = 1; run <= args.runs; run++) {
      for (const side of sides) {
        const out = path.join(tmp, `${side}.zip`);
        fs.rmSync(out, { force: true });
        const r = await runWorker(side, src, out, args.level);
        results[side].push(r);
        // Verify the first archive of each side (unzip -t reads and inflates everything).
        if (run === 1) verified[side] = unzipTest(out);
        console.log(`  run ${run} ${side.padEnd(4)} ${fmt(r.ms / 1000, 2)} s  ${fmt(tree.bytes / MiB / (r.ms / 1000))} MiB/s  out ${fmt(r.size / MiB)} MiB  peak RSS ${r.peakRssKiB == null ? 'n/a' : fmt(r.peakRssKiB / 1024)} MiB`);
        fs.rmSync(out, { force: true });
      }
    }

    const summary = (side) => {
      const rs = results[side];
      if (!rs.length) return null;
      const ms = median(rs.map((r) => r.ms));
      return {
        mibs: tree.bytes / MiB / (ms / 1000),
        seconds: ms / 1000,
        size: median(rs.map((r) => r.size)),
        rss: rs.every((r) => r.peakRssKiB != null) ? median(rs.map((r) => r.peakRssKiB)) / 1024 : null,
      };
    };
    const ours = summary('ours');
    const zip = summary('zip');
    const base = median(results.ours.map((r) => r.baselineKiB)) / 1024;
    console.log('');
    console.log(`input: ${tree.files} files, ${fmt(tree.bytes / MiB)} MiB (medians of ${args.runs})`);
    console.log(`                 time (s)   MiB/s   output (MiB)   ratio out/in   peak RSS (MiB)`);
    const row = (label, s) =>
      console.log(`  ${label.padEnd(13)} ${fmt(s.seconds, 2).padStart(8)} ${fmt(s.mibs).padStart(7)} ${fmt(s.size / MiB, 2).padStart(14)} ${fmt(s.size / tree.bytes, 3).padStart(14)} ${fmt(s.rss).padStart(16)}`);
    row('writeZip', ours);
    if (zip) row('zip -6 -r -q', zip);
    console.log(`  (writeZip peak RSS includes ~${fmt(base)} MiB of idle node + module)`);
    if (zip) {
      console.log(`ratio ours/zip: throughput ${fmt(ours.mibs / zip.mibs, 2)}x, output size ${fmt(ours.size / zip.size, 4)}x`);
    }
    console.log(`unzip -t: ours ${verified.ours}${zip ? `, zip ${verified.zip}` : ''}`);
    if (verified.ours?.startsWith('FAILED')) process.exitCode = 1;
    if (args.zip64) await zip64Section(tmp, sides, args.level);
  } finally {
    if (args.keep) console.log(`kept ${tmp}`);
    else fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * ZIP64: one sparse file of 4 GiB + 1 MiB (zeros, so it costs no disk), zipped once by each
 * side. Sizes and offsets above 0xffffffff need ZIP64 records; unzip -t checks them.
 */
async function zip64Section(tmp, sides, level) {
  const dir = path.join(tmp, 'zip64');
  fs.mkdirSync(dir);
  const file = path.join(dir, 'huge.bin');
  fs.writeFileSync(file, '');
  fs.truncateSync(file, 4 * 1024 * MiB + MiB);
  const bytes = fs.statSync(file).size;
  console.log('');
  console.log(`ZIP64: one sparse file of ${fmt(bytes / MiB / 1024, 3)} GiB, one run per side`);
  const rates = {};
  for (const side of sides) {
    const out = path.join(tmp, `zip64-${side}.zip`);
    const r = await runWorker(side, dir, out, level);
    rates[side] = bytes / MiB / (r.ms / 1000);
    console.log(`  ${side.padEnd(4)} ${fmt(r.ms / 1000, 2)} s  ${fmt(rates[side])} MiB/s  out ${fmt(r.size / MiB, 2)} MiB  peak RSS ${r.peakRssKiB == null ? 'n/a' : fmt(r.peakRssKiB / 1024)} MiB  unzip -t ${unzipTest(out)}`);
    fs.rmSync(out, { force: true });
  }
  if (rates.zip) console.log(`ratio ours/zip (ZIP64): throughput ${fmt(rates.ours / rates.zip, 2)}x`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
