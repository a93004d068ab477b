import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { writeZip } from './zip.js';
import type { ZipEntrySource } from './zip.js';

const UNZIP = '/usr/bin/unzip';
const HAS_UNZIP = fs.existsSync(UNZIP);
const SLOW = process.env['CLOUDREVE_SIM_SLOW_TESTS'] === '1';
const UTF8_FLAG = 1 << 11;

let dir = '';
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zip-test-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Deterministic incompressible bytes (SHA-256 in counter mode). */
function noise(length: number, seed: string): Buffer {
  const blocks: Buffer[] = [];
  for (let i = 0; blocks.length * 32 < length; i++) blocks.push(createHash('sha256').update(`${seed}:${i}`).digest());
  return Buffer.concat(blocks).subarray(0, length);
}

/** A source over an in-memory buffer, served in several chunks so streaming is exercised. */
function bufferEntry(name: string, data: Buffer, mtime = new Date(2024, 4, 17, 10, 20, 31)): ZipEntrySource {
  return {
    name,
    size: data.length,
    mtime,
    open: () => {
      const chunks: Buffer[] = [];
      for (let i = 0; i < data.length; i += 16_384) chunks.push(data.subarray(i, i + 16_384));
      return Readable.from(chunks);
    },
  };
}

interface ReadEntry {
  name: string;
  utf8: boolean;
  method: number;
  size: number;
  mtime: Date;
  dosMtime: Date;
  data: Buffer | undefined;
}

/**
 * Reads an archive back with yauzl. decodeStrings:false because yauzl's automatic name
 * validation rejects names starting with '/' ("absolute path"), which we must keep verbatim;
 * names are decoded as UTF-8 by hand after checking the UTF-8 flag.
 */
async function readZip(file: string, opts: { skipData?: boolean } = {}): Promise<ReadEntry[]> {
  const zip = await yauzl.openPromise(file, {
    lazyEntries: true,
    strictFileNames: false,
    validateEntrySizes: true,
    decodeStrings: false,
  });
  const out: ReadEntry[] = [];
  try {
    for await (const entry of zip.eachEntry()) {
      let data: Buffer | undefined;
      if (!opts.skipData) {
        const chunks: Buffer[] = [];
        for await (const chunk of await zip.openReadStreamPromise(entry)) chunks.push(chunk as Buffer);
        data = Buffer.concat(chunks);
      }
      out.push({
        name: (entry.fileName as unknown as Buffer).toString('utf8'),
        utf8: (entry.generalPurposeBitFlag & UTF8_FLAG) !== 0,
        method: entry.compressionMethod,
        size: entry.uncompressedSize,
        mtime: entry.getLastModDate(),
        dosMtime: entry.getLastModDate({ forceDosFormat: true }),
        data,
      });
    }
  } finally {
    zip.close();
  }
  return out;
}

/** `unzip -t`: exit status and output; skipped (null) when Info-ZIP is not installed. */
function unzipTest(file: string): { status: number | null; output: string } | null {
  if (!HAS_UNZIP) return null;
  const r = spawnSync(UNZIP, ['-t', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

function expectUnzipOk(file: string): void {
  const r = unzipTest(file);
  if (r) {
    expect(r.output).toContain('No errors detected');
    expect(r.status).toBe(0);
  }
}

describe('writeZip', () => {
  it('round-trips every entry byte for byte, in order, with exact names and the UTF-8 flag', async () => {
    const diskFile = path.join(dir, 'on-disk.bin');
    const diskData = noise(70_000, 'disk');
    fs.writeFileSync(diskFile, diskData);
    const contents: [string, Buffer][] = [
      ['a.txt', Buffer.from('hello zip\n'.repeat(1000))],
      ['docs/sub/b.txt', Buffer.from('nested file\n')],
      ['/notes.txt', Buffer.from('leading slash kept\n')],
      ['empty.txt', Buffer.alloc(0)],
      ['中文.txt', Buffer.from('中文内容\n')],
      ['Ünïcødé/ß.txt', Buffer.from('straße\n')],
      ['random.bin', noise(300_000, 'random')],
    ];
    const sources: ZipEntrySource[] = contents.map(([name, data]) => bufferEntry(name, data));
    sources.push({ name: 'disk/on-disk.bin', size: diskData.length, mtime: new Date(2023, 0, 1), open: () => fs.createReadStream(diskFile) });
    const out = path.join(dir, 'out.zip');

    const result = await writeZip(sources, out);

    const expected = [...contents, ['disk/on-disk.bin', diskData] as [string, Buffer]];
    const totalBytes = expected.reduce((n, [, d]) => n + d.length, 0);
    expect(result).toEqual({ entries: expected.length, bytes: totalBytes, size: fs.statSync(out).size });
    const read = await readZip(out);
    expect(read.map((e) => e.name)).toEqual(expected.map(([n]) => n));
    for (const [i, [, data]] of expected.entries()) {
      const entry = read[i]!;
      expect(entry.data!.equals(data), entry.name).toBe(true);
      expect(entry.size).toBe(data.length);
      expect(entry.utf8).toBe(true);
      expect(entry.method).toBe(8);
    }
    expectUnzipOk(out);
  });

  it('keeps a leading-slash name that yauzl, decoding names itself, refuses as an absolute path', async () => {
    const out = path.join(dir, 'slash.zip');
    await writeZip([bufferEntry('/notes.txt', Buffer.from('x'))], out);
    // The raw name bytes are exactly what we were given.
    expect((await readZip(out)).map((e) => e.name)).toEqual(['/notes.txt']);
    const zip = await yauzl.openPromise(out, { lazyEntries: true, decodeStrings: true });
    try {
      await expect(zip.eachEntry().next()).rejects.toThrow(/absolute path/);
    } finally {
      zip.close();
    }
  });

  it('stores names yazl itself would rewrite or refuse (backslash, "..") verbatim', async () => {
    const names = ['dir\\win.txt', '../up.txt', 'C:/drive.txt'];
    const out = path.join(dir, 'verbatim.zip');
    await writeZip(names.map((n) => bufferEntry(n, Buffer.from(n))), out);
    const read = await readZip(out);
    expect(read.map((e) => e.name)).toEqual(names);
    expect(read.map((e) => e.data!.toString())).toEqual(names);
  });

  it('reads back with yauzl decodeStrings:true when no name starts with "/"', async () => {
    const out = path.join(dir, 'decoded.zip');
    await writeZip([bufferEntry('中文.txt', Buffer.from('a')), bufferEntry('Ünïcødé/ß.txt', Buffer.from('b'))], out);
    const zip = await yauzl.openPromise(out, { lazyEntries: true, strictFileNames: false, validateEntrySizes: true, decodeStrings: true });
    const names: string[] = [];
    try {
      for await (const entry of zip.eachEntry()) names.push(entry.fileName);
    } finally {
      zip.close();
    }
    expect(names).toEqual(['中文.txt', 'Ünïcødé/ß.txt']);
  });

  it('preserves mtimes: to the second via the UT extra field, to 2 seconds in the DOS fields', async () => {
    const mtimes = [new Date(2024, 4, 17, 10, 20, 31, 900), new Date(2001, 11, 31, 23, 59, 58), new Date(2030, 0, 1, 0, 0, 1)];
    const out = path.join(dir, 'mtime.zip');
    await writeZip(
      mtimes.map((m, i) => bufferEntry(`f${i}.txt`, Buffer.from(`${i}`), m)),
      out,
    );
    const read = await readZip(out);
    for (const [i, m] of mtimes.entries()) {
      const entry = read[i]!;
      expect(entry.mtime.getTime()).toBe(Math.floor(m.getTime() / 1000) * 1000);
      // DOS time is local time with even seconds (rounded down).
      const dos = new Date(m.getFullYear(), m.getMonth(), m.getDate(), m.getHours(), m.getMinutes(), m.getSeconds() - (m.getSeconds() % 2));
      expect(entry.dosMtime.getTime()).toBe(dos.getTime());
      expect(Math.abs(entry.dosMtime.getTime() - m.getTime())).toBeLessThan(2000);
    }
  });

  it('writes a valid empty archive for zero entries', async () => {
    const out = path.join(dir, 'empty.zip');
    const result = await writeZip([], out);
    // Nothing but the 22-byte End of Central Directory record.
    expect(fs.readFileSync(out)).toEqual(Buffer.from([0x50, 0x4b, 0x05, 0x06, ...new Array<number>(18).fill(0)]));
    expect(result).toEqual({ entries: 0, bytes: 0, size: 22 });
    expect(await readZip(out)).toEqual([]);
    const r = unzipTest(out);
    // Info-ZIP treats an empty archive as a warning (status 1), not an error.
    if (r) expect(r.output).toContain('zipfile is empty');
  });

  it('accepts async iterables and opens each source only when its turn comes', async () => {
    let open = 0;
    let maxOpen = 0;
    const opened: string[] = [];
    const source = (name: string, data: Buffer): ZipEntrySource => ({
      ...bufferEntry(name, data),
      open: () => {
        opened.push(name);
        open += 1;
        maxOpen = Math.max(maxOpen, open);
        const s = Readable.from([data]);
        s.once('close', () => (open -= 1));
        return s;
      },
    });
    async function* gen(): AsyncGenerator<ZipEntrySource> {
      for (let i = 0; i < 20; i++) {
        // Lazy: nothing ahead of us has been opened yet.
        expect(opened.length).toBeLessThanOrEqual(i);
        yield source(`f${i}.bin`, noise(50_000 + i, `f${i}`));
      }
    }
    const out = path.join(dir, 'lazy.zip');
    const result = await writeZip(gen(), out);
    expect(result.entries).toBe(20);
    expect(opened).toEqual(Array.from({ length: 20 }, (_, i) => `f${i}.bin`));
    expect(maxOpen).toBe(1);
    expect((await readZip(out, { skipData: true })).length).toBe(20);
    expectUnzipOk(out);
  });

  it('reports running totals after each entry', async () => {
    const sizes = [10, 0, 5000, 123];
    const progress: { entries: number; bytes: number }[] = [];
    const out = path.join(dir, 'progress.zip');
    const result = await writeZip(
      sizes.map((n, i) => bufferEntry(`p${i}`, Buffer.alloc(n, 0x61))),
      out,
      { onProgress: (p) => progress.push({ ...p }) },
    );
    expect(progress).toEqual([
      { entries: 1, bytes: 10 },
      { entries: 2, bytes: 10 },
      { entries: 3, bytes: 5010 },
      { entries: 4, bytes: 5133 },
    ]);
    expect(result).toMatchObject({ entries: 4, bytes: 5133 });
  });

  it('writes valid archives at level 0 (stored) and level 9', async () => {
    const data = [Buffer.from('compressible text '.repeat(5000)), noise(40_000, 'lv')];
    const sizes: number[] = [];
    for (const level of [0, 9]) {
      const out = path.join(dir, `level${level}.zip`);
      const result = await writeZip(
        data.map((d, i) => bufferEntry(`l${i}`, d)),
        out,
        { level },
      );
      sizes.push(result.size);
      const read = await readZip(out);
      expect(read.map((e) => e.method)).toEqual(level === 0 ? [0, 0] : [8, 8]);
      for (const [i, d] of data.entries()) expect(read[i]!.data!.equals(d)).toBe(true);
      expectUnzipOk(out);
    }
    expect(sizes[1]!).toBeLessThan(sizes[0]!);
  });

  it('rejects a bad level before creating anything', async () => {
    const out = path.join(dir, 'bad.zip');
    await expect(writeZip([], out, { level: 10 })).rejects.toThrow(RangeError);
    await expect(writeZip([], out, { level: 1.5 })).rejects.toThrow(RangeError);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('rejects with a source stream error and removes the partial file', async () => {
    const boom = new Error('disk on fire');
    const failing: ZipEntrySource = {
      name: 'bad.bin',
      size: 1_000_000,
      mtime: new Date(2024, 0, 1),
      open: () => {
        let sent = false;
        return new Readable({
          read() {
            if (!sent) {
              sent = true;
              this.push(noise(100_000, 'bad'));
            } else {
              this.destroy(boom);
            }
          },
        });
      },
    };
    const out = path.join(dir, 'err.zip');
    await expect(writeZip([bufferEntry('ok.txt', noise(200_000, 'ok')), failing, bufferEntry('never.txt', Buffer.from('x'))], out)).rejects.toBe(boom);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('rejects when open() throws, and removes the partial file', async () => {
    const boom = new Error('cannot open');
    const out = path.join(dir, 'throw.zip');
    const throwing: ZipEntrySource = { name: 'x', size: 1, mtime: new Date(2024, 0, 1), open: () => { throw boom; } };
    await expect(writeZip([bufferEntry('a', Buffer.from('a')), throwing], out)).rejects.toBe(boom);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('rejects when a stream is shorter or longer than its declared size', async () => {
    for (const actual of [3, 5]) {
      const out = path.join(dir, `mismatch${actual}.zip`);
      const entry = { ...bufferEntry('m.txt', Buffer.alloc(actual, 0x41)), size: 4 };
      await expect(writeZip([entry], out)).rejects.toThrow(/unexpected number of bytes/);
      expect(fs.existsSync(out)).toBe(false);
    }
  });

  it('rejects a source that closes without ending', async () => {
    const out = path.join(dir, 'premature.zip');
    const entry: ZipEntrySource = {
      name: 'p.txt',
      size: 10,
      mtime: new Date(2024, 0, 1),
      open: () =>
        new Readable({
          read() {
            this.destroy();
          },
        }),
    };
    await expect(writeZip([entry], out)).rejects.toThrow(/premature close/i);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('rejects invalid entries (empty name, bad size) and removes the partial file', async () => {
    const out = path.join(dir, 'invalid.zip');
    await expect(writeZip([bufferEntry('ok', Buffer.from('1')), bufferEntry('', Buffer.from('x'))], out)).rejects.toThrow(TypeError);
    expect(fs.existsSync(out)).toBe(false);
    await expect(writeZip([{ ...bufferEntry('neg', Buffer.alloc(0)), size: -1 }], out)).rejects.toThrow(RangeError);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('rejects when the output cannot be written', async () => {
    const out = path.join(dir, 'no-such-dir', 'out.zip');
    await expect(writeZip([bufferEntry('a', Buffer.from('a'))], out)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('aborts mid-stream: rejects with the reason, destroys the source, removes the file', async () => {
    const controller = new AbortController();
    const reason = new Error('user cancelled');
    let source: Readable | undefined;
    let reads = 0;
    const endless: ZipEntrySource = {
      name: 'endless.bin',
      size: 1 << 30,
      mtime: new Date(2024, 0, 1),
      open: () => {
        source = new Readable({
          read() {
            reads += 1;
            // Abort from inside the read loop: deterministic, no timers.
            if (reads === 3) controller.abort(reason);
            this.push(Buffer.alloc(65_536, 0x7a));
          },
        });
        return source;
      },
    };
    const out = path.join(dir, 'abort.zip');
    await expect(writeZip([bufferEntry('first', Buffer.from('1')), endless], out, { signal: controller.signal })).rejects.toBe(reason);
    expect(fs.existsSync(out)).toBe(false);
    expect(source?.destroyed).toBe(true);
  });

  it('aborts between entries and stops pulling from the iterable', async () => {
    const controller = new AbortController();
    let pulled = 0;
    function* gen(): Generator<ZipEntrySource> {
      for (let i = 0; i < 10; i++) {
        pulled += 1;
        yield bufferEntry(`e${i}`, Buffer.from(`${i}`));
      }
    }
    const out = path.join(dir, 'abort2.zip');
    const run = writeZip(gen(), out, {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.entries === 2) controller.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(pulled).toBe(2);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('rejects at once for an already-aborted signal without opening anything', async () => {
    const out = path.join(dir, 'pre.zip');
    let opened = false;
    const entry = { ...bufferEntry('a', Buffer.from('a')), open: () => ((opened = true), Readable.from([])) };
    await expect(writeZip([entry], out, { signal: AbortSignal.abort(new Error('early')) })).rejects.toThrow('early');
    expect(opened).toBe(false);
    expect(fs.existsSync(out)).toBe(false);
  });

  it.runIf(SLOW)(
    'writes ZIP64 for a 4 GiB + 1 MiB sparse file (CLOUDREVE_SIM_SLOW_TESTS=1)',
    async () => {
      const big = path.join(dir, 'big.bin');
      const size = 4 * 1024 ** 3 + 1024 ** 2;
      fs.writeFileSync(big, '');
      fs.truncateSync(big, size);
      const out = path.join(dir, 'big.zip');
      const rssBefore = process.memoryUsage().rss;
      const result = await writeZip(
        [
          bufferEntry('before.txt', Buffer.from('before')),
          { name: 'big.bin', size, mtime: new Date(2024, 0, 1), open: () => fs.createReadStream(big, { highWaterMark: 1 << 20 }) },
          bufferEntry('after.txt', Buffer.from('after')),
        ],
        out,
      );
      expect(result.entries).toBe(3);
      expect(result.bytes).toBe(size + 11);
      // Streaming: the peak resident set grows by far less than the 4 GiB that went through.
      const peakGrowth = process.resourceUsage().maxRSS * 1024 - rssBefore;
      expect(peakGrowth).toBeLessThan(256 * 1024 ** 2);
      const read = await readZip(out, { skipData: true });
      expect(read.map((e) => e.name)).toEqual(['before.txt', 'big.bin', 'after.txt']);
      expect(read[1]!.size).toBe(size);
      expect(read[1]!.size).toBeGreaterThan(0xffffffff);
      expectUnzipOk(out);
    },
    10 * 60 * 1000,
  );
});
