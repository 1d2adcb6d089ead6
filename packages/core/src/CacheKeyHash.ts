/**
 * The number a cache entry is found by: 52 bits of a hash of its whole key, far cheaper to index
 * than the key's text. Two keys may share a number; whoever finds an entry by its number checks
 * the whole key. The whole key is hashed, not its first digits: a caller's keys need not be
 * digests (zero-padded counters would all share their first digits).
 */

/** Two 32-bit FNV-1a hashes of the text (different primes), each mixed (murmur3's finalizer), as 32 + 20 bits. */
export const keyHash = (key: string): number => {
  let a = 0x811c9dc5
  let b = 0x9747b28c
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i)
    a = Math.imul(a ^ c, 0x01000193)
    b = Math.imul(b ^ c, 0x5bd1e995)
  }
  return (mix(a) >>> 0) * 0x100000 + (mix(b) >>> 12)
}

const mix = (h: number): number => {
  let x = h ^ (h >>> 16)
  x = Math.imul(x, 0x85ebca6b)
  x ^= x >>> 13
  x = Math.imul(x, 0xc2b2ae35)
  return x ^ (x >>> 16)
}
