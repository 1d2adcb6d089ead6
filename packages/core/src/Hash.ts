/** The one sha256 helper: hex digest of a text (content hashes, cache keys, key fingerprints). */
import { createHash } from "node:crypto"

export const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex")
