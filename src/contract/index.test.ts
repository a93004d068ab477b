import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readContract } from './index.js';

const dir = mkdtempSync(path.join(tmpdir(), 'contract-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readContract', () => {
  const yaml = path.join(dir, 'api.yaml');
  const twin = path.join(dir, 'api.json');
  writeFileSync(yaml, 'openapi: 3.1.0\ninfo: { title: from yaml }\n');

  it('reads the YAML when the build wrote no JSON twin', () => {
    expect(readContract(yaml, path.join(dir, 'none.json'))).toEqual({ openapi: '3.1.0', info: { title: 'from yaml' } });
  });

  it('reads the JSON twin when it is as new as the YAML, and the YAML when the twin is older', () => {
    writeFileSync(twin, JSON.stringify({ openapi: '3.1.0', info: { title: 'from json' } }));
    utimesSync(yaml, 1000, 1000);
    utimesSync(twin, 2000, 2000);
    expect(readContract(yaml, twin).info).toEqual({ title: 'from json' });
    utimesSync(twin, 500, 500); // the YAML was edited after the build
    expect(readContract(yaml, twin).info).toEqual({ title: 'from yaml' });
  });
});
