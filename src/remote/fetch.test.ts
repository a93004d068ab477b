import { describe, expect, it } from 'vitest';
import { DEFAULT_FETCH_ALLOW, fetchAllowed, internalTarget } from './fetch.js';

describe('internalTarget (the 4.18 SSRF rule)', () => {
  it.each([
    ['http://127.0.0.1/x', '127.0.0.1'],
    ['http://127.8.9.10:8080/', '127.8.9.10'],
    ['http://0x7f.1/', '127.0.0.1'],
    ['http://10.1.2.3/', '10.1.2.3'],
    ['http://172.16.0.1/', '172.16.0.1'],
    ['http://172.31.255.255/', '172.31.255.255'],
    ['https://192.168.1.1/admin', '192.168.1.1'],
    ['http://169.254.169.254/latest/meta-data', '169.254.169.254'],
    ['http://100.64.0.1/', '100.64.0.1'],
    ['http://0.0.0.0/', '0.0.0.0'],
    ['http://[::1]/', '::1'],
    ['http://[::]/', '::'],
    ['http://[fe80::1]/', 'fe80::1'],
    ['http://[fd00::2]/', 'fd00::2'],
    ['http://[::ffff:127.0.0.1]/', '::ffff:7f00:1'],
    ['http://[::ffff:10.0.0.1]/', '::ffff:a00:1'],
    ['http://localhost:5212/', 'localhost'],
    ['http://LOCALHOST/', 'localhost'],
    ['http://api.localhost/', 'api.localhost'],
  ])('refuses %s', (url, host) => {
    expect(internalTarget(url)).toBe(`host ${JSON.stringify(host)} is an internal address`);
  });

  it.each(['http://8.8.8.8/', 'https://example.com/a', 'http://172.32.0.1/', 'http://[2001:db8::1]/', 'http://[::ffff:8.8.8.8]/', 'magnet:?xt=urn:btih:00', 'ftp://127.0.0.1/', 'not a url', 'http://localhost.example.com/'])(
    'lets %s through',
    (url) => {
      expect(internalTarget(url)).toBeUndefined();
    },
  );
});

describe('internalTarget with what a node lets through (url_validation)', () => {
  it('lets listed host names through, in any case, and nothing else', () => {
    const allow = { hosts: ['Intranet.localhost', ' 10.1.2.3 '] };
    expect(internalTarget('http://intranet.LOCALHOST/a', allow)).toBeUndefined();
    expect(internalTarget('http://10.1.2.3/a', allow)).toBeUndefined();
    expect(internalTarget('http://other.localhost/a', allow)).toBe('host "other.localhost" is an internal address');
    expect(internalTarget('http://10.1.2.4/a', allow)).toBe('host "10.1.2.4" is an internal address');
  });

  it('lets addresses of listed networks through, IPv4-mapped ones included; entries that are no network are ignored', () => {
    const allow = { cidrs: ['10.0.0.0/8', 'fd00::/8', 'nonsense', '192.168.0.0/33', '127.0.0.1', '172.16.0.0/12/1'] };
    expect(internalTarget('http://10.200.0.1/', allow)).toBeUndefined();
    expect(internalTarget('http://[::ffff:10.0.0.1]/', allow)).toBeUndefined();
    expect(internalTarget('http://[fd12::1]/', allow)).toBeUndefined();
    expect(internalTarget('http://192.168.1.1/', allow)).toBe('host "192.168.1.1" is an internal address');
    expect(internalTarget('http://127.0.0.1/', allow)).toBe('host "127.0.0.1" is an internal address');
    expect(internalTarget('http://172.16.0.1/', allow)).toBe('host "172.16.0.1" is an internal address');
    expect(internalTarget('http://localhost/', allow)).toBe('host "localhost" is an internal address');
  });
});

describe('fetchAllowed', () => {
  it('allows http(s) on loopback by default, nothing else', () => {
    expect(fetchAllowed('http://127.0.0.1:9/a', DEFAULT_FETCH_ALLOW)).toBe(true);
    expect(fetchAllowed('https://localhost/a', DEFAULT_FETCH_ALLOW)).toBe(true);
    expect(fetchAllowed('http://[::1]/a', DEFAULT_FETCH_ALLOW)).toBe(true);
    expect(fetchAllowed('http://example.com/a', DEFAULT_FETCH_ALLOW)).toBe(false);
    expect(fetchAllowed('ftp://127.0.0.1/a', DEFAULT_FETCH_ALLOW)).toBe(false);
    expect(fetchAllowed('http://cdn.example.com/a', ['*.example.com'])).toBe(true);
  });
});
