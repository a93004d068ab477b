import { describe, expect, it } from 'vitest';
import { goCleanPath, goEscapePath } from './trailing-slash.js';

describe("Go's path handling for redirects", () => {
  it.each([
    ['', '.'],
    ['/', '/'],
    ['/a//b/./c/..', '/a/b'],
    ['/a/b/', '/a/b'],
    ['/../a', '/a'],
    ['a/', 'a'],
    ['./', '.'],
  ])('path.Clean(%j) = %j', (input, output) => {
    expect(goCleanPath(input)).toBe(output);
  });

  it('escapes what a path may not hold and leaves unreserved and path-safe bytes', () => {
    expect(goEscapePath("/a-_.~$&+,:;=@/b !'()*?#%é")).toBe('/a-_.~$&+,:;=@/b%20%21%27%28%29%2A%3F%23%25%C3%A9');
  });
});
