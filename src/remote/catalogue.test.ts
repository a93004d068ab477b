import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadCatalogue } from './catalogue.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function fixtures(yaml: string | undefined): string {
  const root = mkdtempSync(path.join(tmpdir(), 'catalogue-'));
  dirs.push(root);
  mkdirSync(path.join(root, 'remote', 'files'), { recursive: true });
  writeFileSync(path.join(root, 'remote', 'files', 'a.txt'), 'abc');
  if (yaml !== undefined) writeFileSync(path.join(root, 'remote', 'catalogue.yaml'), yaml);
  return root;
}

describe('loadCatalogue', () => {
  it('reads URL and magnet entries (hashes lower-cased, files resolved)', () => {
    const root = fixtures('- { url: "https://x/a", file: files/a.txt, rate: 10 }\n- { magnet: "urn:btih:ABC", files: [{ name: f, size: 3 }] }\n');
    const c = loadCatalogue(root);
    expect(c.byUrl.get('https://x/a')).toEqual({ file: path.join(root, 'remote', 'files', 'a.txt'), rate: 10 });
    expect(c.byHash.get('abc')).toEqual({ files: [{ name: 'f', size: 3 }] });
  });

  it('is empty without a catalogue file', () => {
    expect(loadCatalogue(fixtures(undefined)).byUrl.size).toBe(0);
  });

  it.each([
    ['- { url: "https://x/a", file: ../../etc/passwd }\n', /entry 0\.file: no file/],
    ['- { url: "https://x/a", size: -1 }\n', /entry 0\.size: expected a whole number of bytes/],
    ['- { size: 1 }\n', /entry 0: give a url or a magnet info hash/],
    ['- { magnet: abc, files: [] }\n', /entry 0\.files: expected a non-empty list/],
    ['url: x\n', /top level: expected a list of entries/],
  ])('refuses %j, naming the file and the entry', (yaml, message) => {
    const root = fixtures(yaml);
    expect(() => loadCatalogue(root)).toThrow(message);
    expect(() => loadCatalogue(root)).toThrow(path.join(root, 'remote', 'catalogue.yaml'));
  });
});
