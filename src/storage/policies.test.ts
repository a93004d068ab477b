import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BUNDLED_FIXTURES } from '../options.js';
import { createIdCodec } from '../util/ids.js';
import { DEFAULT_POLICY, listStorage, loadPolicies, policyRefuses } from './policies.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
const fixtures = (yaml?: string) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'policies-'));
  dirs.push(dir);
  if (yaml !== undefined) writeFileSync(path.join(dir, 'policies.yaml'), yaml);
  return dir;
};

describe('loadPolicies', () => {
  it('has only the default local policy without a policies file', () => {
    const p = loadPolicies(fixtures());
    expect(p.all).toEqual([DEFAULT_POLICY]);
    expect(p.dto(p.byId(1)!, createIdCodec('this is my salt'))).toEqual({ id: 'laH1', name: 'Default storage policy', type: 'local', max_size: 0 });
  });

  it('reads the bundled policies, with their storage folders', () => {
    const p = loadPolicies(BUNDLED_FIXTURES);
    expect(p.all.map((x) => [x.id, x.name, x.type, Boolean(x.storageDir)])).toEqual([
      [1, 'Default storage policy', 'local', true],
      [2, 'Cold storage', 's3', true],
      [3, 'Small documents', 'local', true],
    ]);
  });

  it.each([
    ['[]', /top level: expected a non-empty list/],
    ['- { id: 2, name: x, type: local }', /policy 1 \(the default policy\) is missing/],
    ['- { id: 1, name: x, type: ftp }', /policy 0\.type: expected one of local/],
    ['- { id: 1, name: x, type: local }\n- { id: 1, name: y, type: local }', /policy 1\.id: 1 is declared twice/],
    ['- { id: 1, name: x, type: local, denied_name_regexp: "(" }', /policy 0\.denied_name_regexp/],
    ['- { id: 0, name: x, type: local }', /policy 0\.id: expected a positive whole number/],
  ])('refuses %j', (yaml, message) => {
    expect(() => loadPolicies(fixtures(yaml))).toThrow(message);
  });
});

describe('policyRefuses', () => {
  const policy = { ...DEFAULT_POLICY, maxSize: 10, deniedSuffix: ['exe'], deniedNameRegexp: '^tmp' };
  it('applies the size limit, the extension lists and the name patterns', () => {
    expect(policyRefuses(policy, 'a.txt', 10)).toBeUndefined();
    expect(policyRefuses(policy, 'a.txt', 11)).toBe('too_large');
    expect(policyRefuses(policy, 'A.EXE', 1)).toBe('name_refused');
    expect(policyRefuses(policy, 'tmp-1.txt', 1)).toBe('name_refused');
    expect(policyRefuses({ ...DEFAULT_POLICY, allowedSuffix: ['jpg'] }, 'a.png', 1)).toBe('name_refused');
    expect(policyRefuses({ ...DEFAULT_POLICY, allowedSuffix: ['jpg'] }, 'a.jpg', 1)).toBeUndefined();
  });
});

describe('listStorage', () => {
  const storage = () => {
    const dir = fixtures();
    const root = path.join(dir, 'storage', '1');
    mkdirSync(path.join(root, 'd', 'e'), { recursive: true });
    writeFileSync(path.join(root, 'd', 'b.txt'), 'bb');
    writeFileSync(path.join(root, 'd', 'a.txt'), 'a');
    writeFileSync(path.join(root, 'd', 'e', 'c.txt'), 'ccc');
    writeFileSync(path.join(root, 'd', 'e', '.keep'), '');
    symlinkSync('/etc/passwd', path.join(root, 'd', 'link'));
    return loadPolicies(dir).byId(1)!;
  };
  const names = (list: ReturnType<typeof listStorage>) => ('error' in list ? list : list.map((o) => `${o.path.join('/')}${o.kind === 'folder' ? '/' : ''}:${o.size}`));

  it('walks folders before what they hold, names in byte order, without links or .keep files', () => {
    expect(names(listStorage(storage(), '/d', true))).toEqual(['a.txt:1', 'b.txt:2', 'e/:0', 'e/c.txt:3']);
  });
  it('lists the folder itself only when not recursive', () => {
    expect(names(listStorage(storage(), 'd/', false))).toEqual(['a.txt:1', 'b.txt:2', 'e/:0']);
  });
  it('cannot climb above the storage root, by .. or through a link; a file lists nothing; odd paths are errors', () => {
    const p = storage();
    const outside = fixtures();
    mkdirSync(path.join(outside, 'inner'));
    writeFileSync(path.join(outside, 'inner', 'secret.txt'), 'no');
    symlinkSync(outside, path.join(p.storageDir!, 'lnk'));
    const missing = (src: string) => ({ error: `failed to walk ${JSON.stringify(src)}: no such file or directory` });
    expect(names(listStorage(p, '../../../d', true))).toEqual(['a.txt:1', 'b.txt:2', 'e/:0', 'e/c.txt:3']);
    expect(listStorage(p, '/lnk/inner', true)).toEqual(missing('/lnk/inner'));
    expect(listStorage(p, '/lnk', true)).toEqual(missing('/lnk'));
    expect(listStorage(p, '/d/link', true)).toEqual(missing('/d/link'));
    expect(listStorage(p, '/nope', true)).toEqual(missing('/nope'));
    expect(listStorage(p, '/d/a.txt', true)).toEqual([]);
    expect(listStorage(p, '/d/a.txt/x', true)).toEqual(missing('/d/a.txt/x'));
    expect(listStorage(p, `/${'x'.repeat(300)}`, true)).toEqual(missing(`/${'x'.repeat(300)}`));
    expect(listStorage(p, '/d\0x', true)).toHaveProperty('error');
    expect(listStorage({ ...DEFAULT_POLICY }, '/', true)).toEqual(missing('/'));
  });
});
