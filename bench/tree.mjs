/**
 * The benchmarks' data set: a tree of about N MiB of files of mixed size and compressibility,
 * the same on every run (a fixed seed for the text, crypto bytes for the incompressible part).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const MiB = 1024 * 1024;

// ---------------------------------------------------------------- data set

/** Cheap deterministic generator for the text files (xorshift32); the random files use crypto. */
function xorshift(seed) {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

const WORDS = 'file folder share upload download archive extract policy node task queue user group thumbnail preview webdav directlink metadata entity version'.split(' ');

/** Log-like text: repetitive structure with varying fields, compresses roughly like real logs. */
function textChunk(rand, bytes) {
  const lines = [];
  let n = 0;
  while (n < bytes) {
    const r = rand();
    const line = `2025-05-${String(1 + (r % 28)).padStart(2, '0')}T${String(r % 24).padStart(2, '0')}:${String((r >>> 5) % 60).padStart(2, '0')}:${String((r >>> 11) % 60).padStart(2, '0')}Z INFO ${WORDS[r % WORDS.length]} ${WORDS[(r >>> 8) % WORDS.length]} id=${(r >>> 3).toString(36)} size=${r % 100000} status=${r % 7 === 0 ? 404 : 200}\n`;
    lines.push(line);
    n += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

function writeFileChunked(file, size, kind, rand) {
  const fd = fs.openSync(file, 'w');
  try {
    for (let left = size; left > 0; ) {
      const n = Math.min(left, 4 * MiB);
      fs.writeSync(fd, kind === 'random' ? randomBytes(n) : textChunk(rand, n));
      left -= n;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * ~sizeMb MiB of files: 15% as ~1,000s of small files (1-64 KiB), 25% as medium files (1-8 MiB),
 * 60% as four large files; within each group about half the bytes are random (incompressible)
 * and half log-like text.
 */
export function makeTree(root, sizeMb) {
  const total = Math.round(sizeMb * MiB);
  const rand = xorshift(0x9e3779b9);
  let files = 0;
  let bytes = 0;
  const put = (rel, size, kind) => {
    const full = path.join(root, rel);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    writeFileChunked(full, size, kind, rand);
    files += 1;
    bytes += size;
  };
  const kindOf = (i) => (i % 2 === 0 ? 'text' : 'random');
  // Small files, spread over nested directories.
  for (let i = 0, used = 0; used < total * 0.15; i++) {
    const size = 1024 + (rand() % (63 * 1024));
    put(`small/d${i % 16}/s${i % 7}/f${i}.${kindOf(i) === 'text' ? 'log' : 'bin'}`, size, kindOf(i));
    used += size;
  }
  for (let i = 0, used = 0; used < total * 0.25; i++) {
    const size = MiB + (rand() % (7 * MiB));
    put(`medium/m${i}.${kindOf(i) === 'text' ? 'log' : 'bin'}`, size, kindOf(i));
    used += size;
  }
  const large = Math.max(1, Math.floor((total - bytes) / 4));
  for (let i = 0; i < 4; i++) put(`large/l${i}.${kindOf(i) === 'text' ? 'log' : 'bin'}`, large, kindOf(i));
  return { files, bytes };
}

