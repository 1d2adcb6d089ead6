/** The one sha256 helper: hex digest of a text (content hashes, cache keys, key fingerprints). */
import { hash } from "node:crypto"

export const sha256 = (text: string): string => hash("sha256", text, "hex")
