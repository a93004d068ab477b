import { describe, it, expect } from 'vitest';
import { buildUri, escapeSegment, isLegalName, joinInside, parseUri } from './uri.js';

/** Shorthand: the effective path of a URI, or undefined when it does not parse. */
const pathOf = (text: string): string | undefined => parseUri(text)?.path;

describe('parseUri', () => {
  it('parses a plain my URI into fs, path and segments', () => {
    expect(parseUri('cloudreve://my/docs/a.txt')).toEqual({
      fs: 'my',
      knownFs: true,
      path: '/docs/a.txt',
      segments: ['docs', 'a.txt'],
    });
  });

  it('accepts the scheme in any case', () => {
    expect(parseUri('CloudReve://my/a')?.path).toBe('/a');
    expect(parseUri('CLOUDREVE://my/a')?.fs).toBe('my');
  });

  it('lower-cases the host to get the fs', () => {
    expect(parseUri('cloudreve://MY/x')).toMatchObject({ fs: 'my', knownFs: true, path: '/x' });
    expect(parseUri('cloudreve://Shared_With_Me/x')?.fs).toBe('shared_with_me');
  });

  it('knows the four file systems', () => {
    for (const fs of ['my', 'share', 'trash', 'shared_with_me']) {
      expect(parseUri(`cloudreve://${fs}/x`)).toMatchObject({ fs, knownFs: true });
    }
  });

  it('keeps an unknown host as fs with knownFs false', () => {
    expect(parseUri('cloudreve://foo/a.zip')).toEqual({
      fs: 'foo',
      knownFs: false,
      path: '/a.zip',
      segments: ['a.zip'],
    });
    expect(parseUri('cloudreve://nofs/x')?.knownFs).toBe(false);
  });

  it('treats cloudreve://my and cloudreve://my/ as the root', () => {
    expect(parseUri('cloudreve://my')).toEqual({ fs: 'my', knownFs: true, path: '/', segments: [] });
    expect(parseUri('cloudreve://my/')).toEqual({ fs: 'my', knownFs: true, path: '/', segments: [] });
    expect(pathOf('cloudreve://my//')).toBe('/');
  });

  it('drops one trailing slash', () => {
    expect(parseUri('cloudreve://my/docs/')).toMatchObject({ path: '/docs', segments: ['docs'] });
  });

  it('cleans the path: dot segments, doubled slashes, never above the root', () => {
    expect(pathOf('cloudreve://my/a/../../b')).toBe('/b');
    expect(pathOf('cloudreve://my/./x//y/')).toBe('/x/y');
    expect(pathOf('cloudreve://my/..')).toBe('/');
    expect(pathOf('cloudreve://my/a/b/..')).toBe('/a');
    expect(pathOf('cloudreve://my/%2E%2E/a')).toBe('/a');
  });

  it('percent-decodes the path', () => {
    expect(pathOf('cloudreve://my/a%20b/c%25d')).toBe('/a b/c%d');
    expect(pathOf('cloudreve://my/%e4%b8%ad')).toBe('/中');
  });

  it('allows raw spaces in the path', () => {
    expect(parseUri('cloudreve://my/my docs/a b.txt')).toMatchObject({
      path: '/my docs/a b.txt',
      segments: ['my docs', 'a b.txt'],
    });
  });

  it('keeps + as a literal plus sign', () => {
    expect(pathOf('cloudreve://my/a+b.txt')).toBe('/a+b.txt');
    expect(pathOf('cloudreve://my/a%2Bb.txt')).toBe('/a+b.txt');
  });

  it('decodes escaped and raw non-ASCII names alike', () => {
    expect(parseUri('cloudreve://my/%E4%B8%AD%E6%96%87.txt')).toMatchObject({
      path: '/中文.txt',
      segments: ['中文.txt'],
    });
    expect(pathOf('cloudreve://my/中文.txt')).toBe('/中文.txt');
  });

  it('ignores a fragment after #', () => {
    expect(pathOf('cloudreve://my/a.txt#frag')).toBe('/a.txt');
    expect(pathOf('cloudreve://my/a#b/c')).toBe('/a');
    expect(pathOf('cloudreve://my#x')).toBe('/');
    expect(pathOf('cloudreve://my/a%23b')).toBe('/a#b');
  });

  it('ignores the query', () => {
    expect(pathOf('cloudreve://my/docs?name=x&type=1')).toBe('/docs');
    expect(parseUri('cloudreve://my?name=a')).toMatchObject({ fs: 'my', path: '/' });
    expect(pathOf('cloudreve://my/a%3Fb')).toBe('/a?b');
  });

  it('decodes %2F to "/" before splitting, so it separates segments', () => {
    // The server works on Go's decoded URL.Path, so an escaped slash is a real separator.
    expect(parseUri('cloudreve://my/a%2Fb')).toMatchObject({ path: '/a/b', segments: ['a', 'b'] });
    expect(pathOf('cloudreve://my/a%2F..%2Fb')).toBe('/b');
  });

  it('reads the id part before @', () => {
    expect(parseUri('cloudreve://lpua@my/%2F')).toEqual({
      fs: 'my',
      knownFs: true,
      id: 'lpua',
      path: '/',
      segments: [],
    });
    expect(parseUri('cloudreve://lpua@my/%2Fa%2Fb')).toMatchObject({ id: 'lpua', path: '/a/b' });
    expect(parseUri('cloudreve://lpua@my/x')).toMatchObject({ id: 'lpua', path: '/x' });
  });

  it('leaves id and password undefined when there is no id part', () => {
    const uri = parseUri('cloudreve://my/x');
    expect(uri?.id).toBeUndefined();
    expect(uri?.password).toBeUndefined();
    expect(uri && 'id' in uri).toBe(false);
  });

  it('splits a share password after the first ":" of the id part', () => {
    expect(parseUri('cloudreve://abc:pw@share/x')).toEqual({
      fs: 'share',
      knownFs: true,
      id: 'abc',
      password: 'pw',
      path: '/x',
      segments: ['x'],
    });
    expect(parseUri('cloudreve://abc@share')).toMatchObject({ id: 'abc', path: '/' });
    expect(parseUri('cloudreve://abc@share')?.password).toBeUndefined();
    expect(parseUri('cloudreve://abc:p:q@share')).toMatchObject({ id: 'abc', password: 'p:q' });
  });

  it('reports an empty id or password as undefined', () => {
    expect(parseUri('cloudreve://@my/x')).toEqual({ fs: 'my', knownFs: true, path: '/x', segments: ['x'] });
    expect(parseUri('cloudreve://abc:@share')).toMatchObject({ id: 'abc', fs: 'share' });
    expect(parseUri('cloudreve://abc:@share')?.password).toBeUndefined();
  });

  it('percent-decodes the id and password and splits at the last @', () => {
    expect(parseUri('cloudreve://a%20b:p%40w@share')).toMatchObject({ id: 'a b', password: 'p@w' });
    expect(parseUri('cloudreve://a@b@share/x')).toMatchObject({ id: 'a@b', fs: 'share' });
  });

  it('rejects anything that is not a cloudreve URI', () => {
    for (const text of ['/docs', 'docs', 'http://x/y', 'https://my/a', 'notauri', '', 'cloudreve:/my', 'cloudreve:my/a', 'my/a', '//my/a']) {
      expect(parseUri(text), text).toBeUndefined();
    }
  });

  it('rejects a URI without a host', () => {
    expect(parseUri('cloudreve://')).toBeUndefined();
    expect(parseUri('cloudreve:///x')).toBeUndefined();
    expect(parseUri('cloudreve://abc@/x')).toBeUndefined();
    expect(parseUri('cloudreve://?x=1')).toBeUndefined();
  });

  it('rejects an invalid or truncated percent escape anywhere', () => {
    expect(parseUri('cloudreve://my/%zz')).toBeUndefined();
    expect(parseUri('cloudreve://my/a%4')).toBeUndefined();
    expect(parseUri('cloudreve://my/a%')).toBeUndefined();
    expect(parseUri('cloudreve://my/%g0.txt')).toBeUndefined();
    expect(parseUri('cloudreve://a%zz@my/x')).toBeUndefined();
    expect(parseUri('cloudreve://my/a#%zz')).toBeUndefined();
  });

  it('does not check escapes in the ignored query', () => {
    expect(pathOf('cloudreve://my/a?q=%zz')).toBe('/a');
  });

  it('rejects escapes that do not decode to UTF-8', () => {
    expect(parseUri('cloudreve://my/%FF')).toBeUndefined();
    expect(parseUri('cloudreve://my/%E4%B8')).toBeUndefined();
  });

  it('rejects NUL bytes, which can never name a file', () => {
    expect(parseUri('cloudreve://my/a%00b')).toBeUndefined();
    expect(parseUri('cloudreve://my/a\u0000b')).toBeUndefined();
  });

  it('rejects raw control characters, as Go url.Parse does', () => {
    expect(parseUri('cloudreve://my/a\tb')).toBeUndefined();
    expect(parseUri('cloudreve://my/a\nb')).toBeUndefined();
    expect(parseUri('cloudreve://my/a\u007fb')).toBeUndefined();
    expect(pathOf('cloudreve://my/a%09b')).toBe('/a\tb');
  });

  it('rejects hosts and id parts with characters Go url.Parse refuses', () => {
    expect(parseUri('cloudreve://m y/x')).toBeUndefined();
    expect(parseUri('cloudreve://my{/x')).toBeUndefined();
    expect(parseUri('cloudreve://my:abc/x')).toBeUndefined();
    expect(parseUri('cloudreve://%6Dy/x')).toBeUndefined();
    expect(parseUri('cloudreve://a b@my/x')).toBeUndefined();
  });

  it('keeps a numeric port as part of the (then unknown) fs', () => {
    expect(parseUri('cloudreve://my:80/x')).toMatchObject({ fs: 'my:80', knownFs: false, path: '/x' });
  });

  it('never throws, whatever the input', () => {
    const inputs: unknown[] = ['cloudreve://my/\ud800', 'cloudreve://[', 'cloudreve://[::1]/x', '%', '\u0000', null, 42];
    for (const input of inputs) expect(() => parseUri(input as string)).not.toThrow();
    expect(parseUri(null as unknown as string)).toBeUndefined();
  });
});

describe('escapeSegment', () => {
  it('escapes a space as %20', () => {
    expect(escapeSegment('a b')).toBe('a%20b');
  });

  it('escapes non-ASCII as upper-case UTF-8 hex', () => {
    expect(escapeSegment('中')).toBe('%E4%B8%AD');
    expect(escapeSegment('中文.txt')).toBe('%E4%B8%AD%E6%96%87.txt');
    expect(escapeSegment('😀')).toBe('%F0%9F%98%80');
  });

  it("leaves A-Z a-z 0-9 - _ . ! ~ * ' ( ) unchanged", () => {
    expect(escapeSegment("!~*'()")).toBe("!~*'()");
    expect(escapeSegment('AZaz09-_.')).toBe('AZaz09-_.');
  });

  it('escapes %, / and the other reserved characters', () => {
    expect(escapeSegment('%')).toBe('%25');
    expect(escapeSegment('/')).toBe('%2F');
    expect(escapeSegment('+#?&=:;@,$')).toBe('%2B%23%3F%26%3D%3A%3B%40%2C%24');
    expect(escapeSegment('"<>\\|^`{}[]')).toBe('%22%3C%3E%5C%7C%5E%60%7B%7D%5B%5D');
  });

  it('agrees with encodeURIComponent on every printable ASCII character and sample Unicode', () => {
    let ascii = '';
    for (let c = 0x20; c < 0x7f; c++) ascii += String.fromCharCode(c);
    for (const text of [ascii, 'Ünïcödé 中文 😀', '']) {
      expect(escapeSegment(text)).toBe(encodeURIComponent(text));
    }
  });

  it('does not throw on a lone surrogate (escaped as U+FFFD)', () => {
    expect(escapeSegment('a\ud800')).toBe('a%EF%BF%BD');
  });
});

describe('buildUri', () => {
  it('builds cloudreve://fs/seg1/seg2 with each segment escaped', () => {
    expect(buildUri('my', ['docs', 'a b.txt'])).toBe('cloudreve://my/docs/a%20b.txt');
    expect(buildUri('my', ['中文.txt'])).toBe('cloudreve://my/%E4%B8%AD%E6%96%87.txt');
  });

  it('gives the root without a trailing slash', () => {
    expect(buildUri('my', [])).toBe('cloudreve://my');
    expect(buildUri('my', [], 'lpua')).toBe('cloudreve://lpua@my');
  });

  it('puts the id before @ and omits an empty id', () => {
    expect(buildUri('my', ['x'], 'lpua')).toBe('cloudreve://lpua@my/x');
    expect(buildUri('my', ['x'], '')).toBe('cloudreve://my/x');
  });

  it("builds import's dst: the whole path escaped as one segment", () => {
    expect(buildUri('my', ['/'], 'lpua')).toBe('cloudreve://lpua@my/%2F');
    expect(buildUri('my', ['/a/b'], 'lpua')).toBe('cloudreve://lpua@my/%2Fa%2Fb');
    expect(buildUri('my', ['x'], 'lpua')).toBe('cloudreve://lpua@my/x');
    expect(parseUri(buildUri('my', ['/a/b'], 'lpua'))).toMatchObject({ id: 'lpua', path: '/a/b' });
  });

  it('keeps ":" in the id so a share password can be passed along', () => {
    expect(buildUri('share', ['x'], 'abc:pw')).toBe('cloudreve://abc:pw@share/x');
    expect(parseUri(buildUri('share', ['x'], 'abc:pw'))).toMatchObject({ id: 'abc', password: 'pw', path: '/x' });
  });

  it('round-trips legal names through parseUri', () => {
    const names = ['a b.txt', '100%.txt', 'a+b', 'x#y', 'q?', "it's (1)!", '中文.txt', '😀', '~*-_.', '...', ' lead', 'a;b=c&d', '[x]', 'é'];
    for (const name of names) {
      const uri = parseUri(buildUri('my', ['dir', name]));
      expect(uri, name).toMatchObject({ fs: 'my', path: `/dir/${name}`, segments: ['dir', name] });
    }
    expect(parseUri(buildUri('trash', []))).toMatchObject({ fs: 'trash', path: '/', segments: [] });
    expect(parseUri(buildUri('share', ['a', 'b'], 'Xy9'))).toMatchObject({ fs: 'share', id: 'Xy9', segments: ['a', 'b'] });
  });
});

describe('joinInside', () => {
  const base = ['out2'];

  it('joins a plain relative path under base', () => {
    expect(joinInside(base, 'ok.txt')).toEqual(['out2', 'ok.txt']);
    expect(joinInside(base, 'x/1.txt')).toEqual(['out2', 'x', '1.txt']);
    expect(joinInside([], 'a/b')).toEqual(['a', 'b']);
  });

  it('rejects ../evil.txt (zip-slip)', () => {
    expect(joinInside(base, '../evil.txt')).toBeUndefined();
    expect(joinInside([], '../evil.txt')).toEqual(['evil.txt']);
  });

  it('rejects a path that climbs out after going in', () => {
    expect(joinInside(base, 'a/../../x')).toBeUndefined();
    expect(joinInside(['a', 'b'], 'c/../../../x')).toBeUndefined();
  });

  it('resolves . and inner .. segments', () => {
    expect(joinInside(base, 'x/./y')).toEqual(['out2', 'x', 'y']);
    expect(joinInside(base, 'a/../b')).toEqual(['out2', 'b']);
    expect(joinInside(base, 'a//b/')).toEqual(['out2', 'a', 'b']);
  });

  it('judges only the final result, like the server prefix check', () => {
    expect(joinInside(base, '../out2/x')).toEqual(['out2', 'x']);
    expect(joinInside(['out'], '../out2/x')).toBeUndefined();
  });

  it('treats an absolute path as relative to base (leading slashes ignored)', () => {
    expect(joinInside(base, '/x')).toEqual(['out2', 'x']);
    expect(joinInside(base, '//x/y')).toEqual(['out2', 'x', 'y']);
  });

  it('treats backslashes as separators', () => {
    expect(joinInside(base, 'x\\y.txt')).toEqual(['out2', 'x', 'y.txt']);
    expect(joinInside(base, '..\\evil.txt')).toBeUndefined();
    expect(joinInside(base, '\\abs\\z')).toEqual(['out2', 'abs', 'z']);
  });

  it('rejects a result equal to base, which names nothing inside it', () => {
    expect(joinInside(base, '')).toBeUndefined();
    expect(joinInside(base, 'a/..')).toBeUndefined();
    expect(joinInside(base, '.')).toBeUndefined();
  });

  it('does not alter the base array', () => {
    const b = ['a', 'b'];
    joinInside(b, '../../x');
    joinInside(b, 'c');
    expect(b).toEqual(['a', 'b']);
  });
});

describe('isLegalName', () => {
  it('accepts ordinary names', () => {
    for (const name of ['a.txt', 'my docs', '中文.txt', '...', '.hidden', 'a+b', "it's (1)!", '#1', '100%']) {
      expect(isLegalName(name), name).toBe(true);
    }
  });

  it('rejects the empty name', () => {
    expect(isLegalName('')).toBe(false);
  });

  it('rejects exactly "." and ".."', () => {
    expect(isLegalName('.')).toBe(false);
    expect(isLegalName('..')).toBe(false);
  });

  it('accepts 255 bytes and rejects 256 bytes', () => {
    expect(isLegalName('a'.repeat(255))).toBe(true);
    expect(isLegalName('a'.repeat(256))).toBe(false);
  });

  it('counts multibyte names in UTF-8 bytes, not characters', () => {
    expect(isLegalName('中'.repeat(85))).toBe(true); // 255 bytes
    expect(isLegalName('中'.repeat(86))).toBe(false); // 258 bytes, 86 characters
    expect(isLegalName('中'.repeat(85) + 'a')).toBe(false); // 256 bytes
    expect(isLegalName('😀'.repeat(63) + 'abc')).toBe(true); // 255 bytes
    expect(isLegalName('😀'.repeat(64))).toBe(false); // 256 bytes
  });

  it('rejects each of \\ / : * ? " < > |', () => {
    for (const char of ['\\', '/', ':', '*', '?', '"', '<', '>', '|']) {
      expect(isLegalName(`a${char}b`), char).toBe(false);
      expect(isLegalName(char), char).toBe(false);
    }
  });
});
