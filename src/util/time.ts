/**
 * @module util/time
 * RFC 3339 timestamps as the real server writes them: the site's UTC offset, fractional
 * seconds only when asked for (create responses), trailing zeros trimmed.
 */

/** Parses "+08:00", "-05:30", "Z" or "+00:00" into minutes east of UTC. */
export function parseUtcOffset(offset: string): number {
  if (offset === 'Z' || offset === 'z') return 0;
  const m = /^([+-])(\d{2}):(\d{2})$/.exec(offset);
  if (!m || Number(m[2]) > 14 || Number(m[3]) > 59) {
    throw new TypeError(`Invalid UTC offset "${offset}": use "Z" or "±HH:MM", e.g. "+08:00".`);
  }
  const minutes = Number(m[2]) * 60 + Number(m[3]);
  return m[1] === '-' && minutes !== 0 ? -minutes : minutes;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/**
 * Formats Unix ms as RFC 3339 in the given offset (minutes east of UTC).
 * `fraction` keeps the milliseconds (trimmed of trailing zeros), as create responses do;
 * without it the value is whole seconds, as stored rows are.
 */
export function formatTime(ms: number, offsetMinutes: number, fraction = false): string {
  // Lists format the same few instants at every poll: the latest ones are remembered.
  const variant = offsetMinutes * 2 + (fraction ? 1 : 0);
  let memo = formatted.get(variant);
  if (!memo) formatted.set(variant, (memo = new Map()));
  let s = memo.get(ms);
  if (s === undefined) {
    if (memo.size >= FORMATTED_KEPT) memo.clear();
    memo.set(ms, (s = format(ms, offsetMinutes, fraction)));
  }
  return s;
}

/** Formatted instants remembered per UTC offset and precision (a plain cache: clearing it changes nothing but speed). */
const FORMATTED_KEPT = 4096;
const formatted = new Map<number, Map<number, string>>();

function format(ms: number, offsetMinutes: number, fraction: boolean): string {
  const d = new Date(ms + offsetMinutes * 60_000);
  let s =
    `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}` +
    `T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  if (fraction) {
    const frac = pad(d.getUTCMilliseconds(), 3).replace(/0+$/, '');
    if (frac) s += `.${frac}`;
  }
  if (offsetMinutes === 0) return `${s}Z`;
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${s}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}
