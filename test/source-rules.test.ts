/**
 * Design rules checked on the source: one clock (no wall-clock reads or timers outside
 * engine/clock.ts), no Math.random, and no module-level mutable state in src/.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sources(full);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.gen.ts') ? [full] : [];
  });
}

const files = sources(SRC).map((f) => [path.relative(SRC, f), readFileSync(f, 'utf8')] as const);

describe('source rules', () => {
  it.each(files.filter(([f]) => f !== path.join('engine', 'clock.ts')))('%s reads time and schedules only through the clock', (_, text) => {
    expect(text).not.toMatch(/Date\.now\(|new Date\(\)|setTimeout\(|setInterval\(|setImmediate\(/);
  });

  it.each(files)('%s never uses Math.random', (_, text) => {
    expect(text).not.toMatch(/Math\.random\(/);
  });

  it.each(files)('%s keeps no mutable module-level variables', (_, text) => {
    expect(text).not.toMatch(/^(export )?(let|var) /m);
  });
});
