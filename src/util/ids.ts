/**
 * @module util/ids
 * Public ids: hashids of the pair [numeric id, object type] under the site salt, with the
 * default alphabet and minimum length 0 (spec §1.6).
 */
import Hashids from 'hashids';

/** Object type numbers used inside hash ids. */
export const IdType = {
  share: 0,
  user: 1,
  file: 2,
  folder: 3,
  tag: 4,
  policy: 5,
  sourceLink: 6,
  group: 7,
  entity: 8,
  auditLog: 9,
  node: 10,
  task: 11,
  webdav: 12,
  payment: 13,
} as const;

export type IdTypeName = keyof typeof IdType;

export interface IdCodec {
  encode(type: IdTypeName, id: number): string;
  /** The numeric id, or undefined when `text` is not the canonical hashid of an object of `type`. */
  decode(type: IdTypeName, text: string): number | undefined;
}

/** How many encodings and decodings of one type a codec remembers (hashids is costly; answers repeat the same ids). */
const MEMO_LIMIT = 100_000;

export function createIdCodec(salt: string): IdCodec {
  const hashids = new Hashids(salt, 0);
  // Per type, so that looking an id up builds no key (a list answer encodes a dozen ids).
  const encoded = new Map<IdTypeName, Map<number, string>>();
  const decoded = new Map<IdTypeName, Map<string, number | undefined>>();
  const memoOf = <K, V>(memos: Map<IdTypeName, Map<K, V>>, type: IdTypeName): Map<K, V> => {
    let memo = memos.get(type);
    if (!memo) memos.set(type, (memo = new Map()));
    return memo;
  };
  const remember = <K, V>(memo: Map<K, V>, key: K, value: V): V => {
    if (memo.size >= MEMO_LIMIT) memo.clear();
    memo.set(key, value);
    return value;
  };
  const encode = (type: IdTypeName, id: number): string => {
    const memo = memoOf(encoded, type);
    return memo.get(id) ?? remember(memo, id, hashids.encode([id, IdType[type]]));
  };
  const decodeOnce = (type: IdTypeName, text: string): number | undefined => {
    let parts: ReturnType<Hashids['decode']>;
    try {
      parts = hashids.decode(text);
    } catch {
      return undefined; // characters outside the alphabet
    }
    if (parts.length !== 2 || Number(parts[1]) !== IdType[type]) return undefined;
    const id = Number(parts[0]);
    if (!Number.isSafeInteger(id) || encode(type, id) !== text) return undefined;
    return id;
  };
  return {
    encode,
    decode(type, text) {
      const memo = memoOf(decoded, type);
      return memo.has(text) ? memo.get(text) : remember(memo, text, decodeOnce(type, text));
    },
  };
}
