import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import iconv from 'iconv-lite';
import { ZIP_ENCODINGS, ZIP_ENCODING_NAMES, openZip, zipCharset } from './unzip.js';
import { writeZip } from './zip.js';
import type { ZipEntrySource } from './zip.js';
import type { ArchiveReader } from './archive.js';
import { TOOLS, compressWithTool, dosDateTime, drain, noise, rawZip, readAll } from '../../test/archives.js';
import type { EntryRecord, RawZipEntry } from '../../test/archives.js';

const UTF8 = 0x800;
const UNIX = 3 << 8;

let dir = '';
const readers: ArchiveReader[] = [];
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unzip-test-'));
});
afterEach(async () => {
  for (const r of readers.splice(0)) await r.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function put(name: string, data: Buffer): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, data);
  return file;
}

async function open(file: string, encoding?: string): Promise<ArchiveReader> {
  const r = await openZip(file, encoding === undefined ? {} : { encoding });
  readers.push(r);
  return r;
}

/** Reads a raw zip back with an optional encoding. */
async function listRaw(entries: RawZipEntry[], encoding?: string): Promise<EntryRecord[]> {
  return readAll(await open(put(`z${readers.length}.zip`, rawZip(entries)), encoding));
}

function source(name: string, data: Buffer, mtime: Date): ZipEntrySource {
  return { name, size: data.length, mtime, open: () => Readable.from([data]) };
}

describe('openZip: entries and content', () => {
  it('lists a zip written by writeZip: names, sizes, mtimes, content, in order', async () => {
    const file = path.join(dir, 'a.zip');
    const big = noise(300_000, 'big');
    const t1 = new Date(Date.UTC(2023, 5, 7, 8, 9, 10));
    const t2 = new Date(Date.UTC(2021, 0, 1, 0, 0, 0));
    await writeZip([source('docs/读我.txt', Buffer.from('你好'), t1), source('big.bin', big, t2), source('empty', Buffer.alloc(0), t2)], file);
    const r = await open(file);
    expect(r.format).toBe('zip');
    const list = await readAll(r);
    expect(list.map((e) => [e.name, e.kind, e.size])).toEqual([
      ['docs/读我.txt', 'file', 6],
      ['big.bin', 'file', 300_000],
      ['empty', 'file', 0],
    ]);
    expect(list[0]?.data?.toString()).toBe('你好');
    expect(list[1]?.data?.equals(big)).toBe(true);
    expect(list[2]?.data?.length).toBe(0);
    // yazl writes the extended timestamp: exact seconds, in UTC.
    expect(list[0]?.mtime?.toISOString()).toBe(t1.toISOString());
    expect(list[1]?.mtime?.toISOString()).toBe(t2.toISOString());
  });

  it('DOS timestamps are read as UTC (as the server does)', async () => {
    const when = new Date(Date.UTC(2019, 10, 12, 13, 14, 16));
    const [e] = await listRaw([{ name: 'a', data: Buffer.from('x'), ...dosDateTime(when) }]);
    expect(e?.mtime?.toISOString()).toBe(when.toISOString());
  });

  it('directories by trailing / or \\, by unix mode, by the DOS attribute', async () => {
    const list = await listRaw([
      { name: 'dir/' },
      { name: 'win\\' },
      { name: 'unixdir', madeBy: UNIX | 30, externalAttributes: (0o040755 << 16) >>> 0 },
      { name: 'dosdir', madeBy: 20, externalAttributes: 0x10 },
      { name: 'file.txt', madeBy: UNIX | 30, externalAttributes: (0o100644 << 16) >>> 0, data: Buffer.from('f') },
      { name: 'plain', data: Buffer.from('p') },
    ]);
    expect(list.map((e) => [e.name, e.kind])).toEqual([
      ['dir/', 'directory'],
      ['win\\', 'directory'],
      ['unixdir', 'directory'],
      ['dosdir', 'directory'],
      ['file.txt', 'file'],
      ['plain', 'file'],
    ]);
  });

  it('symlinks from the unix mode (S_IFLNK); their content is not opened as a file', async () => {
    const r = await open(put('l.zip', rawZip([
      { name: 'link', madeBy: UNIX | 30, externalAttributes: (0o120777 << 16) >>> 0, data: Buffer.from('target.txt') },
      // The same bits from a DOS host mean nothing.
      { name: 'notlink', madeBy: 20, externalAttributes: (0o120777 << 16) >>> 0, data: Buffer.from('x') },
    ])));
    const seen: string[] = [];
    for await (const e of r.entries()) {
      seen.push(`${e.name}:${e.kind}`);
      if (e.kind === 'symlink') await expect(e.open()).rejects.toThrow(/symlink, not a file/);
    }
    expect(seen).toEqual(['link:symlink', 'notlink:file']);
  });

  it('names are kept verbatim: leading slash, dot-dot, backslashes', async () => {
    const list = await listRaw([{ name: '/abs.txt', data: Buffer.from('1') }, { name: '../up.txt', data: Buffer.from('2') }, { name: 'a\\b.txt', data: Buffer.from('3') }]);
    expect(list.map((e) => e.name)).toEqual(['/abs.txt', '../up.txt', 'a\\b.txt']);
  });

  it('10 000 tiny entries stream fine', async () => {
    const entries: RawZipEntry[] = Array.from({ length: 10_000 }, (_, i) => ({ name: `d${i % 10}/f${i}.txt`, data: Buffer.from(String(i)) }));
    const r = await open(put('many.zip', rawZip(entries)));
    let count = 0;
    let bytes = 0;
    for await (const e of r.entries()) {
      expect(e.name).toBe(`d${count % 10}/f${count}.txt`);
      bytes += await drain(await e.open());
      count += 1;
    }
    expect(count).toBe(10_000);
    expect(bytes).toBe(entries.reduce((n, e) => n + (e.data?.length ?? 0), 0));
  });

  it('entries() is single use; open() twice rejects', async () => {
    const r = await open(put('a.zip', rawZip([{ name: 'a', data: Buffer.from('a') }])));
    for await (const e of r.entries()) {
      await drain(await e.open());
      await expect(e.open()).rejects.toThrow(/already opened/);
    }
    expect(() => r.entries()).toThrow(/once/);
  });
});

describe('openZip: the server\'s extra compression methods', () => {
  const text = Buffer.from('bzip2, zstd and xz inside a zip\n'.repeat(500));
  const methods: [number, 'bzip2' | 'zstd' | 'xz'][] = [
    [12, 'bzip2'],
    [93, 'zstd'],
    [95, 'xz'],
  ];

  it.each(methods)('method %i (%s) reads back, and a CRC mismatch still errors', async (method, tool) => {
    if (!TOOLS[tool]) return;
    const packed = compressWithTool(tool, text, tool === 'zstd' ? ['-q'] : []);
    const good = await listRaw([{ name: 'a.txt', method, data: text, stored: packed }]);
    expect(good[0]?.data?.equals(text)).toBe(true);
    const r = await open(put(`bad${method}.zip`, rawZip([{ name: 'a.txt', method, data: text, stored: packed, crc: 1 }])));
    for await (const e of r.entries()) await expect(drain(await e.open())).rejects.toThrow(/CRC-32 mismatch/);
  });
});

describe('openZip: name encodings', () => {
  const samples: [string, string][] = [
    ['gbk', '中文目录/简体文件.txt'],
    ['gb18030', '中文𠀀文件.txt'],
    ['shiftjis', '日本語のファイル.txt'],
    ['big5', '繁體中文檔案.txt'],
    ['euckr', '한국어 파일.txt'],
    ['koi8r', 'Русский файл.txt'],
    ['windows1251', 'Українська назва.txt'],
  ];

  it.each(samples)('%s names decode when asked, and are stored as is otherwise', async (encoding, name) => {
    const bytes = iconv.encode(name, zipCharset(encoding) as string);
    expect(bytes.equals(Buffer.from(name, 'utf8'))).toBe(false);
    const entries: RawZipEntry[] = [{ name: bytes, data: Buffer.from('x') }];
    expect((await listRaw(entries, encoding))[0]?.name).toBe(name);
    // No encoding, or an unknown one: the raw bytes, read as UTF-8 (replacement characters).
    expect((await listRaw(entries))[0]?.name).toBe(bytes.toString('utf8'));
    expect((await listRaw(entries, 'klingon'))[0]?.name).toBe(bytes.toString('utf8'));
    expect((await listRaw(entries, 'utf8'))[0]?.name).toBe(bytes.toString('utf8'));
  });

  it('the encoding name is looked up lower-cased (4.18): GBK works', async () => {
    const bytes = iconv.encode('上传文件.txt', 'gbk');
    expect((await listRaw([{ name: bytes }], 'GBK'))[0]?.name).toBe('上传文件.txt');
    expect((await listRaw([{ name: bytes }], 'Gb18030'))[0]?.name).toBe('上传文件.txt');
  });

  it('the UTF-8 flag wins over the encoding', async () => {
    const name = 'résumé 中文.txt';
    const list = await listRaw([{ name: Buffer.from(name, 'utf8'), flags: UTF8, data: Buffer.from('x') }], 'gbk');
    expect(list[0]?.name).toBe(name);
  });

  it('plain ASCII names are never re-decoded, even with utf16le', async () => {
    const list = await listRaw([{ name: 'readme.txt', data: Buffer.from('x') }], 'utf16le');
    expect(list[0]?.name).toBe('readme.txt');
  });

  it('utf16le names decode (ASCII range included, as the bytes hold NULs)', async () => {
    const list = await listRaw([{ name: Buffer.from('a.txt', 'utf16le'), data: Buffer.from('x') }], 'utf16le');
    expect(list[0]?.name).toBe('a.txt');
  });

  it('zipCharset: every server name but iso2022jp (iconv-lite lacks it) and iso8859_8I (4.18 quirk) resolves', () => {
    expect(ZIP_ENCODING_NAMES).toHaveLength(37);
    for (const n of ZIP_ENCODING_NAMES) {
      const cs = zipCharset(n);
      if (n === 'iso2022jp' || n === 'iso8859_8I') expect(cs, n).toBeUndefined();
      else {
        expect(cs, n).toBeDefined();
        expect(iconv.encodingExists(cs as string), n).toBe(true);
      }
    }
    expect(Object.keys(ZIP_ENCODINGS).every((k) => ZIP_ENCODING_NAMES.includes(k))).toBe(true);
    expect(zipCharset('KOI8R')).toBe('koi8r');
    expect(zipCharset('constructor')).toBeUndefined();
    expect(zipCharset('')).toBeUndefined();
    expect(zipCharset('utf8')).toBeUndefined();
  });
});

describe('openZip: damage and encryption', () => {
  it('a CRC mismatch errors on read', async () => {
    const r = await open(put('crc.zip', rawZip([{ name: 'a.txt', data: Buffer.from('hello'), crc: 0x12345678 }])));
    for await (const e of r.entries()) await expect(drain(await e.open())).rejects.toThrow(/CRC-32 mismatch/);
  });

  it('corrupt deflated data errors on read', async () => {
    const file = path.join(dir, 'deflate.zip');
    const text = Buffer.from('The quick brown fox jumps over the lazy dog. '.repeat(2000));
    await writeZip([source('fox.txt', text, new Date(Date.UTC(2024, 0, 1)))], file);
    const bytes = fs.readFileSync(file);
    // The compressed data starts after the 30-byte local header, the name and its extra field.
    const dataStart = 30 + bytes.readUInt16LE(26) + bytes.readUInt16LE(28);
    for (let i = dataStart + 20; i < dataStart + 60; i++) bytes[i] = (bytes[i] as number) ^ 0x5a;
    const r = await open(put('deflate-bad.zip', bytes));
    for await (const e of r.entries()) await expect(drain(await e.open())).rejects.toThrow();
  });

  it('a truncated zip rejects at open; so do garbage and a missing file', async () => {
    const file = path.join(dir, 'full.zip');
    await writeZip([source('a.bin', noise(100_000, 'a'), new Date(Date.UTC(2024, 0, 1)))], file);
    const bytes = fs.readFileSync(file);
    await expect(openZip(put('half.zip', bytes.subarray(0, bytes.length >> 1)), {})).rejects.toThrow(/zip: cannot open archive/);
    await expect(openZip(put('cut.zip', bytes.subarray(0, bytes.length - 10)), {})).rejects.toThrow(/zip: cannot open archive/);
    await expect(openZip(put('garbage.zip', noise(5000, 'g')), {})).rejects.toThrow(/zip: cannot open archive/);
    await expect(openZip(path.join(dir, 'missing.zip'), {})).rejects.toThrow(/ENOENT/);
  });

  it('a damaged central directory makes the iteration throw, cleanly', async () => {
    const bytes = rawZip([{ name: 'a', data: Buffer.from('a') }, { name: 'b', data: Buffer.from('b') }]);
    // Break the second central record's signature.
    const second = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    bytes[second] = 0;
    const r = await open(put('cd.zip', bytes));
    const names: string[] = [];
    await expect((async () => {
      for await (const e of r.entries()) names.push(e.name);
    })()).rejects.toThrow(/central directory/);
    expect(names).toEqual(['a']);
  });

  it('an entry whose data lies past the end of the file rejects at open()', async () => {
    const bytes = rawZip([{ name: 'a', data: Buffer.from('abc') }]);
    // Point the central record's local header offset far away.
    const cd = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    bytes.writeUInt32LE(1_000_000, cd + 42);
    const r = await open(put('off.zip', bytes));
    for await (const e of r.entries()) await expect(e.open()).rejects.toThrow(/zip: cannot read entry 0 "a"/);
  });

  it('an encrypted entry is flagged and open() rejects', async () => {
    const r = await open(put('enc.zip', rawZip([
      { name: 'secret.txt', flags: 0x1, data: Buffer.from('hidden'), stored: Buffer.concat([noise(12, 'hdr'), Buffer.from('hidden')]) },
      { name: 'open.txt', data: Buffer.from('visible') },
    ])));
    const seen: string[] = [];
    for await (const e of r.entries()) {
      seen.push(`${e.name}:${String(e.encrypted ?? false)}`);
      if (e.encrypted) await expect(e.open()).rejects.toThrow(/encrypted/);
      else expect((await drain(await e.open()))).toBe(7);
    }
    expect(seen).toEqual(['secret.txt:true', 'open.txt:false']);
  });

  it('an unsupported compression method (LZMA, 14) rejects at open()', async () => {
    const r = await open(put('m.zip', rawZip([{ name: 'a.lzma', method: 14, data: Buffer.from('abc') }])));
    for await (const e of r.entries()) await expect(e.open()).rejects.toThrow(/compression method 14/);
  });

  it('an abort during a read errors the entry stream', async () => {
    const controller = new AbortController();
    const file = path.join(dir, 'big.zip');
    await writeZip([source('big.bin', noise(3_000_000, 'big'), new Date(Date.UTC(2024, 0, 1)))], file);
    const r = await openZip(file, { signal: controller.signal });
    readers.push(r);
    for await (const e of r.entries()) {
      let n = 0;
      await expect((async () => {
        for await (const c of await e.open()) {
          n += (c as Buffer).length;
          if (n > 100_000) controller.abort(new Error('abort mid-read'));
        }
      })()).rejects.toThrow('abort mid-read');
      break;
    }
  });

  it('an aborted signal stops the iteration', async () => {
    const controller = new AbortController();
    const r = await openZip(put('ab.zip', rawZip([{ name: 'a' }, { name: 'b' }])), { signal: controller.signal });
    readers.push(r);
    const names: string[] = [];
    await expect((async () => {
      for await (const e of r.entries()) {
        names.push(e.name);
        controller.abort(new Error('stop'));
      }
    })()).rejects.toThrow('stop');
    expect(names).toEqual(['a']);
  });
});
