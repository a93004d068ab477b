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

export function createIdCodec(salt: string): IdCodec {
  const hashids = new Hashids(salt, 0);
  return {
    encode: (type, id) => hashids.encode([id, IdType[type]]),
    decode(type, text) {
      let parts: ReturnType<Hashids['decode']>;
      try {
        parts = hashids.decode(text);
      } catch {
        return undefined; // characters outside the alphabet
      }
      if (parts.length !== 2 || Number(parts[1]) !== IdType[type]) return undefined;
      const id = Number(parts[0]);
      if (!Number.isSafeInteger(id) || hashids.encode([id, IdType[type]]) !== text) return undefined;
      return id;
    },
  };
}
