/** Types for the `bencode` package (it ships none): the two calls the simulator uses. */
declare module 'bencode' {
  const bencode: {
    encode(value: unknown): Uint8Array;
    decode(data: Uint8Array): unknown;
  };
  export default bencode;
}
