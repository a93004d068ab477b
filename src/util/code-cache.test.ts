import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { requireWithCodeCache } from './code-cache.js';

describe('requireWithCodeCache', () => {
  let dir: string;
  let file: string;
  let cache: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'code-cache-'));
    file = path.join(dir, 'mod.cjs');
    cache = `${file}.cache`;
    writeFileSync(path.join(dir, 'helper.cjs'), 'module.exports = (n) => n * 2;\n');
    writeFileSync(
      file,
      [
        '#!/usr/bin/env node',
        "const double = require('./helper.cjs');",
        'exports.answer = double(21);',
        'exports.where = { filename: __filename, dirname: __dirname, self: module.exports === exports };',
        "exports.load = () => Promise.resolve().then(() => require('node:path').sep);",
        "exports.text = 'caf\\u00e9';",
      ].join('\n'),
    );
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('runs a CommonJS file with require, module, __filename and __dirname, its #! line dropped', async () => {
    const loaded = requireWithCodeCache(file, cache);
    const mod = loaded.exports as { answer: number; where: unknown; load(): Promise<string>; text: string };
    expect([loaded.cache, mod.answer, mod.where, await mod.load(), mod.text]).toEqual(['none', 42, { filename: file, dirname: dir, self: true }, path.sep, 'café']);
  });

  it('compiles from the cache it saved (accepted)', () => {
    requireWithCodeCache(file, cache).save();
    // The same source under another name: V8's in-memory cache of this process does not know it,
    // so only the saved cache can spare compiling it.
    const copy = path.join(dir, 'copy.cjs');
    writeFileSync(copy, readFileSync(file));
    const again = requireWithCodeCache(copy, cache);
    expect([again.cache, (again.exports as { answer: number }).answer]).toEqual(['accepted', 42]);
    const other = path.join(dir, 'other.cjs');
    writeFileSync(other, readFileSync(file));
    writeFileSync(cache, Buffer.alloc(readFileSync(cache).length, 7));
    expect(requireWithCodeCache(other, cache).cache).toBe('rejected');
  });

  it('ignores a cache that does not fit the source (rejected) and still runs the file', () => {
    requireWithCodeCache(file, cache).save();
    writeFileSync(file, `${readFileSync(file, 'utf8')}\nexports.more = true;`);
    const changed = requireWithCodeCache(file, cache);
    expect([changed.cache, changed.exports]).toMatchObject(['rejected', { answer: 42, more: true }]);
    // (a source this process has not compiled yet: V8 keeps what it compiled in memory too)
    writeFileSync(file, `${readFileSync(file, 'utf8')}\nexports.other = true;`);
    writeFileSync(cache, 'not a code cache');
    expect(requireWithCodeCache(file, cache)).toMatchObject({ cache: 'rejected', exports: { answer: 42, other: true } });
  });

  it('reads UTF-8 and ASCII sources alike', () => {
    writeFileSync(file, "exports.text = 'naïve 中文';");
    expect(requireWithCodeCache(file, cache).exports).toEqual({ text: 'naïve 中文' });
    writeFileSync(file, "exports.text = 'plain';");
    expect(requireWithCodeCache(file, cache).exports).toEqual({ text: 'plain' });
  });

  it('saves atomically, leaving no temporary file; without the cache the file is compiled as usual (none)', () => {
    requireWithCodeCache(file, cache).save();
    expect(readdirSync(dir).sort()).toEqual(['helper.cjs', 'mod.cjs', 'mod.cjs.cache']);
    rmSync(cache);
    expect(requireWithCodeCache(file, cache).cache).toBe('none');
  });
});
