/**
 * `--store redis://[user:password@]host[:port][/db]` (or `rediss://`): checked once, as a URL,
 * before anything connects; turned into the client's connection options (an IPv6 literal's
 * brackets removed, escapes decoded) so the client never parses it again. Never printed with its
 * password or query.
 */

export interface StoreConnection {
  readonly socket: { readonly host: string; readonly port: number; readonly tls: boolean }
  readonly username?: string
  readonly password?: string
  readonly database?: number
}

/** The URL with its password and query hidden, fit to print. */
export const redactUrl = (url: string): string => {
  try {
    const u = new URL(url)
    if (u.username === "" && u.password === "" && u.search === "") return url
    const auth = u.username !== "" || u.password !== "" ? "***@" : ""
    const query = u.search !== "" ? "?***" : ""
    return `${u.protocol}//${auth}${u.host}${u.pathname}${query}`
  } catch {
    return url.replace(/\/\/.*@/, "//***@").replace(/\?.*$/, "?***")
  }
}

const decoded = (text: string): string | undefined => {
  try {
    return decodeURIComponent(text)
  } catch {
    return undefined
  }
}

/** The connection a store URL names, or why it names none. */
export const parseStoreUrl = (url: string): StoreConnection | string => {
  const bad = (why: string) => `--store: ${why}; expected redis://host:port, got "${redactUrl(url)}"`
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return bad("not a URL (is the port a number from 1 to 65535?)")
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:")
    return bad(`${u.protocol} is not redis: or rediss:`)
  if (u.hostname === "") return bad("no host")
  const port = u.port === "" ? 6379 : Number(u.port)
  if (port < 1 || port > 65535) return bad("the port must be from 1 to 65535")
  const db = u.pathname.replace(/^\//, "")
  if (db !== "" && !/^\d{1,5}$/.test(db)) return bad("the path may only be a database number (/0)")
  if (u.search !== "" || u.hash !== "") return bad("no query or fragment is read")
  const username = decoded(u.username)
  const password = decoded(u.password)
  if (username === undefined || password === undefined) return bad("a bad % escape in the user or password")
  return {
    socket: { host: u.hostname.replace(/^\[(.*)\]$/, "$1"), port, tls: u.protocol === "rediss:" },
    ...(username !== "" ? { username } : {}),
    ...(password !== "" ? { password } : {}),
    ...(db !== "" ? { database: Number(db) } : {})
  }
}

/** Why a store URL cannot be used, or undefined. */
export const checkStoreUrl = (url: string): string | undefined => {
  const parsed = parseStoreUrl(url)
  return typeof parsed === "string" ? parsed : undefined
}
