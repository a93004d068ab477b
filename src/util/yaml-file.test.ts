import path from 'node:path';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT, parseYaml, readYamlFile, twinOf } from './yaml-file.js';

describe('twinOf', () => {
  it('mirrors a package file under twins/, beside the compiled modules', () => {
    const twin = twinOf(path.join(PACKAGE_ROOT, 'fixtures', 'site.yaml'))!;
    expect(path.relative(PACKAGE_ROOT, twin).split(path.sep).slice(-3)).toEqual(['twins', 'fixtures', 'site.yaml.json']);
  });

  it('has none for a file outside the package (a user’s fixtures are always parsed)', () => {
    expect(twinOf(path.join(tmpdir(), 'site.yaml'))).toBeUndefined();
    expect(twinOf(path.join(PACKAGE_ROOT, '..', 'elsewhere', 'site.yaml'))).toBeUndefined();
  });
});

describe('readYamlFile', () => {
  it('reads a bundled file to the same value as parsing its YAML', async () => {
    const { readFileSync } = await import('node:fs');
    const file = path.join(PACKAGE_ROOT, 'fixtures', 'accounts.yaml');
    expect(readYamlFile(file)).toEqual(parseYaml(readFileSync(file, 'utf8')));
  });

  it('throws the reading error for a missing file', () => {
    expect(() => readYamlFile(path.join(tmpdir(), 'no-such-file.yaml'))).toThrow(/ENOENT/);
  });
});
