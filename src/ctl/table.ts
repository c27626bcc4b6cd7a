/**
 * Plain-text tables for `receptor ctl`: columns aligned, two spaces apart, and the whole table
 * kept within a width (80 columns by default) by wrapping the widest cells onto more lines.
 * @module
 */

/** The width a terminal table keeps within unless told otherwise. */
export const TABLE_WIDTH = 80;
/** Columns are never squeezed below this, even if the table then runs wider. */
const MIN_COLUMN = 8;
const GAP = 2;

/**
 * Render `rows` (the first is the header) aligned within `width` columns.
 *
 * @example
 * ```ts
 * table([["Route", "Via"], ["b", "b"], ["c", "b"]]);
 * // "Route  Via\nb      b\nc      b\n"
 * ```
 */
export function table(rows: string[][], width = TABLE_WIDTH): string {
  const cols = Math.max(...rows.map((r) => r.length));
  const natural = Array.from(
    { length: cols },
    (_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)),
  );
  const breakable = natural.map((_, i) => rows.some((r) => /[ ,]/.test(r[i] ?? "")));
  const widths = fitWidths(natural, breakable, width);
  const lines: string[] = [];
  for (const row of rows) {
    const cells = widths.map((w, i) => wrap(row[i] ?? "", w));
    const height = Math.max(...cells.map((c) => c.length));
    for (let l = 0; l < height; l++) {
      lines.push(
        cells.map((c, i) => (c[l] ?? "").padEnd(widths[i])).join(" ".repeat(GAP)).trimEnd(),
      );
    }
  }
  return lines.join("\n") + "\n";
}

/**
 * Shrink the widest columns, one character at a time, until the row fits `width`: first those
 * whose text has places to break (spaces, commas), so node IDs stay whole where possible.
 */
function fitWidths(natural: number[], breakable: boolean[], width: number): number[] {
  const w = [...natural];
  const total = () => w.reduce((a, b) => a + b, 0) + GAP * (w.length - 1);
  const widest = (only: boolean) => {
    let best = -1;
    for (let i = 0; i < w.length; i++) {
      if ((!only || breakable[i]) && w[i] > MIN_COLUMN && (best < 0 || w[i] > w[best])) best = i;
    }
    return best;
  };
  while (total() > width) {
    const i = widest(true) >= 0 ? widest(true) : widest(false);
    if (i < 0) break;
    w[i]--;
  }
  return w;
}

/** Break `text` into lines of at most `width`: after a comma if one fits, else at a space. */
export function wrap(text: string, width: number): string[] {
  if (text.length <= width) return [text];
  const out: string[] = [];
  let rest = text;
  while (rest.length > width) {
    let cut = rest.lastIndexOf(",", width - 1) + 1;
    if (cut <= 0) cut = rest.lastIndexOf(" ", width);
    if (cut <= 0) cut = width;
    out.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  if (rest) out.push(rest);
  return out;
}
