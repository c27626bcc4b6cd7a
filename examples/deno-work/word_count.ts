/**
 * Example `work-deno` module: counts the words of its stdin (the unit's payload) and prints
 * the most frequent ones, one `count<TAB>word` line each. Optional argument: how many
 * (default 10). It needs no permissions at all: stdin, stdout and Deno.args are always
 * available, so the node runs it with none.
 * @module
 */

const top = Number(Deno.args[0] ?? "10");
if (!Number.isInteger(top) || top <= 0) {
  console.error(`usage: word_count.ts [TOP]  (got ${JSON.stringify(Deno.args[0])})`);
  Deno.exit(2);
}

const text = await new Response(Deno.stdin.readable).text();
const counts = new Map<string, number>();
for (const word of text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? []) {
  counts.set(word, (counts.get(word) ?? 0) + 1);
}
const sorted = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
for (const [word, n] of sorted.slice(0, top)) console.log(`${n}\t${word}`);
console.log(`${sorted.reduce((s, [, n]) => s + n, 0)}\t(total words)`);
