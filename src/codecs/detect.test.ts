import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { Readable } from 'node:stream';
import * as tar from 'tar';
import { detectFormat, isTarHeader } from './detect.js';
import { writeZip } from './zip.js';
import { TAR_END, TOOLS, compressWithTool, noise, rawZip, tarEntry } from '../../test/archives.js';

let dir = '';
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'detect-test-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Writes bytes to a file in the temp dir and returns its path. */
function put(name: string, data: Buffer): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, data);
  return file;
}

/** A small plain tar with one text file. */
function plainTar(): Buffer {
  return Buffer.concat([tarEntry({ path: 'hello.txt', type: 'File' }, Buffer.from('hello world\n')), TAR_END]);
}

const TEXT = Buffer.from('just some text, not an archive at all\n'.repeat(40));

describe('detectFormat: by content', () => {
  it('zip (local header), and an empty zip (end record only)', async () => {
    const file = path.join(dir, 'a.bin');
    await writeZip([{ name: 'a.txt', size: 1, mtime: new Date(Date.UTC(2024, 0, 1)), open: () => Readable.from([Buffer.from('a')]) }], file);
    expect(await detectFormat(file, 'a.bin')).toEqual({ format: 'zip' });
    expect(await detectFormat(put('empty', rawZip([])), 'empty')).toEqual({ format: 'zip' });
  });

  it('7z and rar (v4 and v5) by magic', async () => {
    expect(await detectFormat(put('x', Buffer.from([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0, 4, ...noise(40, '7z')])), 'x')).toEqual({ format: '7z' });
    expect(await detectFormat(put('r4', Buffer.concat([Buffer.from('Rar!\x1a\x07\x00', 'latin1'), noise(40, 'r4')])), 'r4')).toEqual({ format: 'rar' });
    expect(await detectFormat(put('r5', Buffer.concat([Buffer.from('Rar!\x1a\x07\x01\x00', 'latin1'), noise(40, 'r5')])), 'r5')).toEqual({ format: 'rar' });
  });

  it('plain tar: ustar magic, and an old v7 header by its checksum', async () => {
    expect(await detectFormat(put('t', plainTar()), 't')).toEqual({ format: 'tar' });
    const v7 = plainTar();
    v7.fill(0, 257, 265); // no "ustar"
    v7.fill(0x20, 148, 156);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += v7[i] as number;
    v7.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    expect(isTarHeader(v7)).toBe(true);
    expect(await detectFormat(put('v7', v7), 'v7')).toEqual({ format: 'tar' });
    v7[0] = 0x41; // checksum now wrong
    expect(await detectFormat(put('v7bad', v7), 'v7bad')).toBeUndefined();
  });

  it('tar.gz by content whatever the name; a .gz alone is compressedOnly', async () => {
    const tgz = zlib.gzipSync(plainTar());
    expect(await detectFormat(put('a', tgz), 'blob')).toEqual({ format: 'tar.gz' });
    expect(await detectFormat(put('b.zip', tgz), 'b.zip')).toEqual({ format: 'tar.gz' });
    expect(await detectFormat(put('c.gz', zlib.gzipSync(TEXT)), 'c.gz')).toEqual({ compressedOnly: '.gz' });
    // Shorter than one tar block once decompressed.
    expect(await detectFormat(put('d.gz', zlib.gzipSync(Buffer.from('hi'))), 'd.gz')).toEqual({ compressedOnly: '.gz' });
  });

  it('tar created by the tar package with gzip', async () => {
    fs.writeFileSync(path.join(dir, 'f.txt'), 'content');
    const file = path.join(dir, 'out.tgz');
    await tar.create({ gzip: true, file, cwd: dir }, ['f.txt']);
    expect(await detectFormat(file, 'out.tgz')).toEqual({ format: 'tar.gz' });
  });

  it('a gzip too damaged to decompress: the name decides between tar.gz and .gz', async () => {
    const cut = zlib.gzipSync(Buffer.concat([plainTar(), noise(4096, 'x')])).subarray(0, 12);
    expect(await detectFormat(put('a.tar.gz', cut), 'a.tar.gz')).toEqual({ format: 'tar.gz' });
    expect(await detectFormat(put('a.tgz', cut), 'A.TGZ')).toEqual({ format: 'tar.gz' });
    expect(await detectFormat(put('a.gz', cut), 'a.gz')).toEqual({ compressedOnly: '.gz' });
  });

  it.runIf(TOOLS.bzip2)('tar.bz2 and .bz2', async () => {
    expect(await detectFormat(put('a', compressWithTool('bzip2', plainTar())), 'a')).toEqual({ format: 'tar.bz2' });
    expect(await detectFormat(put('b', compressWithTool('bzip2', TEXT)), 'b.bz2')).toEqual({ compressedOnly: '.bz2' });
  });

  it.runIf(TOOLS.xz)('tar.xz and .xz', async () => {
    expect(await detectFormat(put('a', compressWithTool('xz', plainTar())), 'a')).toEqual({ format: 'tar.xz' });
    expect(await detectFormat(put('b', compressWithTool('xz', TEXT)), 'b.xz')).toEqual({ compressedOnly: '.xz' });
  });

  it.runIf(TOOLS.zstd)('tar.zst and .zst', async () => {
    expect(await detectFormat(put('a', compressWithTool('zstd', plainTar(), ['-q'])), 'a')).toEqual({ format: 'tar.zst' });
    expect(await detectFormat(put('b', compressWithTool('zstd', TEXT, ['-q'])), 'b.zst')).toEqual({ compressedOnly: '.zst' });
  });

  it.runIf(TOOLS.lz4)('tar.lz4 and .lz4', async () => {
    expect(await detectFormat(put('a', compressWithTool('lz4', plainTar(), ['-q'])), 'a')).toEqual({ format: 'tar.lz4' });
    expect(await detectFormat(put('b', compressWithTool('lz4', TEXT, ['-q'])), 'b.lz4')).toEqual({ compressedOnly: '.lz4' });
  });

  it('bzip2 magic needs a block-size digit', async () => {
    expect(await detectFormat(put('bz', Buffer.from('BZhello, this is text')), 'bz')).toBeUndefined();
  });
});

describe('detectFormat: brotli by name', () => {
  it('.tar.br and .tbr are tried as brotli; the same bytes under another name are not', async () => {
    const tbr = zlib.brotliCompressSync(plainTar());
    expect(await detectFormat(put('a.tar.br', tbr), 'a.tar.br')).toEqual({ format: 'tar.br' });
    expect(await detectFormat(put('a.tbr', tbr), 'A.TBR')).toEqual({ format: 'tar.br' });
    expect(await detectFormat(put('a.bin', tbr), 'a.bin')).toBeUndefined();
  });

  it('tar package brotli output', async () => {
    fs.writeFileSync(path.join(dir, 'f.txt'), 'content');
    const file = path.join(dir, 'out.tar.br');
    await tar.create({ brotli: true, file, cwd: dir }, ['f.txt']);
    expect(await detectFormat(file, 'out.tar.br')).toEqual({ format: 'tar.br' });
  });

  it('brotli that is not a tar is compressedOnly; garbage named .br is nothing', async () => {
    expect(await detectFormat(put('a.br', zlib.brotliCompressSync(TEXT)), 'a.br')).toEqual({ compressedOnly: '.br' });
    expect(await detectFormat(put('g.tar.br', noise(2000, 'g')), 'g.tar.br')).toBeUndefined();
  });
});

describe('detectFormat: zip name hint, garbage', () => {
  it('a .zip name on content that is no zip is not a zip', async () => {
    expect(await detectFormat(put('fake.zip', noise(5000, 'fake')), 'fake.zip')).toBeUndefined();
    expect(await detectFormat(put('text.zip', TEXT), 'text.zip')).toBeUndefined();
  });

  it('a .zip name finds a zip behind prepended bytes (self-extractor); without the name it does not', async () => {
    const sfx = Buffer.concat([Buffer.from('MZ'), noise(3000, 'stub'), rawZip([{ name: 'a.txt', data: Buffer.from('a') }])]);
    expect(await detectFormat(put('setup.zip', sfx), 'Setup.ZIP')).toEqual({ format: 'zip' });
    expect(await detectFormat(put('setup.exe', sfx), 'setup.exe')).toBeUndefined();
  });

  it('garbage, text, an empty file: undefined', async () => {
    expect(await detectFormat(put('g', noise(10_000, 'garbage')), 'g')).toBeUndefined();
    expect(await detectFormat(put('t.txt', TEXT), 't.txt')).toBeUndefined();
    expect(await detectFormat(put('e', Buffer.alloc(0)), 'e')).toBeUndefined();
    expect(await detectFormat(put('z', Buffer.alloc(4096)), 'z.tar')).toBeUndefined();
  });

  it('a missing file rejects', async () => {
    await expect(detectFormat(path.join(dir, 'nope'), 'nope.zip')).rejects.toThrow(/ENOENT/);
  });
});
