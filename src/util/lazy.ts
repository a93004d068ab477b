/**
 * @module util/lazy
 * Modules that start-up does not need (the archive codecs, tar, the torrent decoder, faker, and
 * jose until the first sign-in) are loaded on first use and kept: a simulator that never touches
 * an archive never pays for them.
 */

/** `load` called once, on the first call; later calls share its promise. */
export function lazy<T>(load: () => Promise<T>): () => Promise<T> {
  const held: { promise?: Promise<T> } = {};
  return () => (held.promise ??= load());
}
