/** `--store` URLs: checked as URLs before anything connects, and turned into the client's options. */
import { parseStoreUrl } from "@tollgate/runner/store/StoreUrl"
import { describe, expect, it } from "vitest"

describe("store URLs", () => {
  it("host, port, database, credentials (decoded) and TLS; an IPv6 literal without its brackets", () => {
    expect(parseStoreUrl("redis://127.0.0.1:6380/2")).toEqual({
      socket: { host: "127.0.0.1", port: 6380, tls: false },
      database: 2
    })
    expect(parseStoreUrl("rediss://me:p%40ss@cache.example")).toEqual({
      socket: { host: "cache.example", port: 6379, tls: true },
      username: "me",
      password: "p@ss"
    })
    expect(parseStoreUrl("redis://[::1]:6379")).toEqual({ socket: { host: "::1", port: 6379, tls: false } })
  })

  it.each([
    ["redis://h:99999", /not a URL \(is the port a number from 1 to 65535\?\)/],
    ["redis://h:0", /the port must be from 1 to 65535/],
    ["redis://h:abc", /not a URL/],
    ["redis://h:6379/some/path", /the path may only be a database number/],
    ["redis://u:%zz@h:6379", /a bad % escape in the user or password/],
    ["redis://h:6379?x=1", /no query or fragment/],
    ["http://h:6379", /http: is not redis: or rediss:/],
    ["redis://:6379", /not a URL|no host/]
  ])("%s is refused with a reason, never its password", (url, why) => {
    const r = parseStoreUrl(url)
    expect(typeof r).toBe("string")
    expect(r).toMatch(why)
    expect(r).toMatch(/^--store: .*expected redis:\/\/host:port/)
  })
})
