/** `deadline:` and `--deadline`: an instant with its zone, or a duration from now. Pure. */
import { parseDuration } from "./Pipeline.ts"

/**
 * `2026-12-05T09:00Z`, `2026-12-05T09:00:00+01:00`, or a duration from now (`36h`, `2d`): the
 * deadline as epoch ms, or undefined when it is neither.
 */
export const parseDeadline = (text: string, now: number): number | undefined => {
  const d = parseDuration(text)
  if (d !== undefined) return now + d
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|([+-])(\d{2}):(\d{2}))$/.exec(
    text
  )
  if (m === null) return undefined
  const [y = 0, mo = 0, day = 0, h = 0, mi = 0, sec = 0] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? "0"].map(
    Number
  )
  const local = Date.UTC(y, mo - 1, day, h, mi, sec)
  const back = new Date(local)
  // a day or an hour that does not exist (2026-02-30, 25:00) is not rolled over into another
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== day || h > 23 || mi > 59 || sec > 59)
    return undefined
  const offset = m[8] === "Z" ? 0 : (m[9] === "-" ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11])) * 60_000
  return local - offset + Math.round(Number(m[7] ?? "0") * 1000)
}
