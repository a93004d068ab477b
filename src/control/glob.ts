/** @module control/glob — `*` (any run of characters) and `?` (one character) patterns for paths and URIs. */

/** Compiles a glob into an anchored RegExp; every other character matches itself. */
export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 's');
}

/** Whether `text` matches `glob` (undefined matches everything). */
export function globMatch(glob: string | undefined, text: string): boolean {
  return glob === undefined || globToRegExp(glob).test(text);
}
