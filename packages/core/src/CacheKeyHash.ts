/**
 * The number a cache entry is found by. Keys are sha256 digests in hex, random in every bit: their
 * first bits make a number as good as the key for finding it, and far cheaper to index. Two keys
 * may share a number; whoever finds an entry by its number checks the whole key.
 */

/** A hex key's first 13 digits (52 bits), or FNV-1a of any other text in 52 bits: the database's `kh`. */
export const keyHash = (key: string): number => {
  if (HEX_HEAD.test(key)) return Number.parseInt(key.slice(0, 13), 16)
  let h = 0xcbf29ce484222325n
  for (let i = 0; i < key.length; i++)
    h = BigInt.asUintN(64, (h ^ BigInt(key.charCodeAt(i))) * 0x100000001b3n)
  return Number(h >> 12n)
}
const HEX_HEAD = /^[0-9a-f]{13}/
