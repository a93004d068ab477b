/**
 * Reset and namespace cost: how long `reset()` of the default world takes with the bundled
 * fixtures, and how long a fresh namespace takes to appear, over many repetitions (medians).
 *
 *   npm run build && node bench/reset.mjs [--runs 200]
 */
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 200;
const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'index.js');
const { createSimulator } = await import(pathToFileURL(dist).href);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p95 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)];

const sim = createSimulator({ clock: 'virtual' });
const resets = [];
for (let i = 0; i < runs; i++) {
  const t = performance.now();
  sim.reset();
  resets.push(performance.now() - t);
}
const spaces = [];
for (let i = 0; i < runs; i++) {
  const t = performance.now();
  sim.namespace(`bench-${i}`).drive; // first use creates the world
  spaces.push(performance.now() - t);
}
await sim.close();
console.log(`reset():         median ${median(resets).toFixed(2)} ms, p95 ${p95(resets).toFixed(2)} ms over ${runs} runs (target: well under 100 ms)`);
console.log(`new namespace:   median ${median(spaces).toFixed(2)} ms, p95 ${p95(spaces).toFixed(2)} ms over ${runs} runs`);
