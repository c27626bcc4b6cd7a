/**
 * IP address text <-> bytes the way Go's `net.ParseIP` / `net.IP.String` do (no zones, no
 * brackets, no leading zeros in IPv4 octets), for SAN iPAddress entries.
 * @module
 */

function parseV4(s: string): number[] | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p[0] === "0")) return null;
    const n = Number(p);
    if (n > 255) return null;
    out.push(n);
  }
  return out;
}

/** Parse an IPv4 or IPv6 literal; returns 4 bytes for IPv4 (and IPv4-mapped IPv6), 16 for IPv6, or null. */
export function parseIp(s: string): Uint8Array | null {
  const v4 = parseV4(s);
  if (v4) return Uint8Array.from(v4);
  if (!s.includes(":")) return null;
  const words: (number | null)[] = []; // null marks "::"
  let rest = s;
  let tailV4: number[] | null = null;
  const lastColon = rest.lastIndexOf(":");
  if (rest.slice(lastColon + 1).includes(".")) {
    tailV4 = parseV4(rest.slice(lastColon + 1));
    if (!tailV4) return null;
    rest = rest.slice(0, lastColon + 1);
    // "::1.2.3.4" keeps its double colon; "a:b::c:1.2.3.4" loses the separator before the IPv4 part.
    if (!rest.endsWith("::")) rest = rest.slice(0, -1);
  }
  if (rest.includes(":::")) return null;
  const dbl = rest.indexOf("::");
  if (dbl !== -1 && rest.indexOf("::", dbl + 1) !== -1) return null;
  const parseGroups = (part: string): number[] | null => {
    if (part === "") return [];
    const out: number[] = [];
    for (const g of part.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const tailWords = tailV4 ? 2 : 0;
  if (dbl !== -1) {
    const a = parseGroups(rest.slice(0, dbl));
    const b = parseGroups(rest.slice(dbl + 2));
    if (!a || !b) return null;
    const fill = 8 - tailWords - a.length - b.length;
    if (fill < 1) return null;
    words.push(...a, ...new Array(fill).fill(0), ...b);
  } else {
    const a = parseGroups(rest);
    if (!a || a.length + tailWords !== 8) return null;
    words.push(...a);
  }
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[2 * i] = (w as number) >> 8;
    out[2 * i + 1] = (w as number) & 0xff;
  });
  if (tailV4) out.set(tailV4, 12);
  // IPv4-mapped addresses become 4 bytes, as Go's To4() does.
  if (out.subarray(0, 10).every((b) => b === 0) && out[10] === 0xff && out[11] === 0xff) {
    return out.slice(12);
  }
  return out;
}

/** Format 4 or 16 address bytes like Go's `net.IP.String` (RFC 5952 for IPv6). */
export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join(".");
  if (b.length !== 16) return "?" + Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) {
    return Array.from(b.subarray(12)).join(".");
  }
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((b[2 * i] << 8) | b[2 * i + 1]);
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart === -1) return w.map((x) => x.toString(16)).join(":");
  const left = w.slice(0, bestStart).map((x) => x.toString(16)).join(":");
  const right = w.slice(bestStart + bestLen).map((x) => x.toString(16)).join(":");
  return `${left}::${right}`;
}
