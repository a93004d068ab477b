import { describe, expect, it } from 'vitest';
import { attachmentDisposition, parseRange, sniffContentType } from './content.js';

describe('parseRange (as Go net/http reads Range)', () => {
  it.each([
    ['bytes=2-4', [{ start: 2, end: 4 }]],
    ['bytes=0-0', [{ start: 0, end: 0 }]],
    ['bytes=5-', [{ start: 5, end: 9 }]],
    ['bytes=-3', [{ start: 7, end: 9 }]],
    ['bytes=-30', [{ start: 0, end: 9 }]],
    ['bytes=8-100', [{ start: 8, end: 9 }]],
    ['bytes= 1-2 , 4-5', [{ start: 1, end: 2 }, { start: 4, end: 5 }]],
    ['bytes=1-2,20-30', [{ start: 1, end: 2 }]],
  ])('%s of 10 bytes', (header, want) => {
    expect(parseRange(header, 10)).toEqual(want);
  });

  it.each(['bytes=10-', 'bytes=20-30', 'bytes=-0', 'bytes=10-,12-'])('%s of 10 bytes overlaps nothing', (header) => {
    expect(parseRange(header, 10)).toBe('none');
  });

  it.each(['items=1-2', 'bytes=abc', 'bytes=4-2', 'bytes=a-2', 'bytes=1-b', 'bytes=-x', 'bytes=--1'])('%s is malformed', (header) => {
    expect(parseRange(header, 10)).toBe('invalid');
  });
});

describe('attachmentDisposition', () => {
  it('quotes a printable ASCII name as is', () => {
    expect(attachmentDisposition('a.txt')).toBe('attachment; filename="a.txt"');
    expect(attachmentDisposition('holiday 2024.jpg')).toBe('attachment; filename="holiday 2024.jpg"');
  });

  it('replaces other characters by _ and adds the exact name, query-escaped, in filename*', () => {
    expect(attachmentDisposition('中文.txt')).toBe(`attachment; filename="__.txt"; filename*=UTF-8''%E4%B8%AD%E6%96%87.txt`);
    expect(attachmentDisposition('a b\u00e9.txt')).toBe(`attachment; filename="a b_.txt"; filename*=UTF-8''a+b%C3%A9.txt`);
    expect(attachmentDisposition('tab\there')).toBe(`attachment; filename="tab_here"; filename*=UTF-8''tab%09here`);
  });
});

describe('sniffContentType', () => {
  it.each([
    [Buffer.from('hello world'), 'text/plain; charset=utf-8'],
    [Buffer.alloc(0), 'text/plain; charset=utf-8'],
    [Buffer.from('PK\x03\x04rest', 'latin1'), 'application/zip'],
    [Buffer.from('%PDF-1.7'), 'application/pdf'],
    [Buffer.from('\x89PNG\r\n\x1a\n....', 'latin1'), 'image/png'],
    [Buffer.from('\xff\xd8\xff\xe0', 'latin1'), 'image/jpeg'],
    [Buffer.from('  <!DOCTYPE html><p>'), 'text/html; charset=utf-8'],
    [Buffer.from([0x00, 0x01, 0x02, 0x41]), 'application/octet-stream'],
  ])('%#', (head, type) => {
    expect(sniffContentType(head)).toBe(type);
  });
});
