import { assertEquals, assertThrows } from "../helpers/assert.ts";
import {
  parseFirstDocument,
  resolvePlainScalar,
  YamlSyntaxError,
} from "../../src/config/yaml_v1.ts";

Deno.test("yaml: §1.4 scalar table (YAML 1.1 as yaml.v2 resolves it)", () => {
  const table: [string, unknown][] = [
    ["yes", true],
    ["Yes", true],
    ["YES", true],
    ["y", true],
    ["Y", true],
    ["on", true],
    ["On", true],
    ["ON", true],
    ["true", true],
    ["True", true],
    ["TRUE", true],
    ["no", false],
    ["No", false],
    ["NO", false],
    ["n", false],
    ["N", false],
    ["off", false],
    ["Off", false],
    ["OFF", false],
    ["false", false],
    ["False", false],
    ["FALSE", false],
    ["0660", 432n],
    ["0o17", 15n],
    ["0x1F", 31n],
    ["0b101", 5n],
    ["1_000", 1000n],
    ["08", 8],
    ["1e3", 1000],
    [".inf", Infinity],
    ["-.inf", -Infinity],
    ["~", null],
    ["null", null],
    ["", null],
    ["2001-12-14", "2001-12-14"],
    ["190:20:30", "190:20:30"],
    ["tRUE", "tRUE"],
    ["2222.9", 2222.9],
    ["-0x10", -16n],
    ["+12", 12n],
    ["abc", "abc"],
    ["1.5h", "1.5h"],
  ];
  for (const [src, want] of table) {
    assertEquals(resolvePlainScalar(src), want, `scalar ${JSON.stringify(src)}`);
  }
  assertEquals(Number.isNaN(resolvePlainScalar(".nan")), true);
});

Deno.test("yaml: the table holds inside documents; quoted scalars stay strings", () => {
  const doc = parseFirstDocument(
    `- a: {p: 0660, q: "0660", r: '0o17', s: yes, t: "yes", u: 2001-12-14, v: 190:20:30, w: !!str 12}`,
  ).value as Map<string, Map<string, unknown>>[];
  const m = doc[0].get("a")!;
  assertEquals(m.get("p"), 432n);
  assertEquals(m.get("q"), "0660");
  assertEquals(m.get("r"), "0o17");
  assertEquals(m.get("s"), true);
  assertEquals(m.get("t"), "yes");
  assertEquals(m.get("u"), "2001-12-14");
  assertEquals(m.get("v"), "190:20:30");
  assertEquals(m.get("w"), "12");
});

Deno.test("yaml: only the first document is used, even if a later one is broken", () => {
  const v = parseFirstDocument("---\n- trace\n...\n---\n- node: x\n---\n[: : bad\n").value;
  assertEquals(v, ["trace"]);
});

Deno.test("yaml: anchors, aliases and << merge keys", () => {
  const v = parseFirstDocument(
    "- base: &b {cost: 2, redial: no}\n- tcp-peer:\n    <<: *b\n    address: h:1\n    cost: 3\n",
  ).value as Map<string, Map<string, unknown>>[];
  const peer = v[1].get("tcp-peer")!;
  assertEquals(peer.get("redial"), false);
  assertEquals(peer.get("address"), "h:1");
  assertEquals(peer.get("cost"), 3n);
  // merge from a list of maps: earlier maps win
  const w = parseFirstDocument(
    "- a: &a {x: 1}\n- b: &b {x: 2, z: 2}\n- c:\n    <<: [*a, *b]\n",
  ).value as Map<string, Map<string, unknown>>[];
  assertEquals(w[2].get("c")!.get("x"), 1n);
  assertEquals(w[2].get("c")!.get("z"), 2n);
  // (a bare `y` key would be the boolean true in YAML 1.1)
  const k = parseFirstDocument("- {y: 1}\n").value as Map<unknown, unknown>[];
  assertEquals([...k[0].keys()], [true]);
});

Deno.test("yaml: duplicate keys are allowed, last wins", () => {
  const v = parseFirstDocument("- node: {id: a, id: b}\n").value as Map<
    string,
    Map<string, unknown>
  >[];
  assertEquals(v[0].get("node")!.get("id"), "b");
});

Deno.test("yaml: empty and comment-only texts are null", () => {
  assertEquals(parseFirstDocument("").value, null);
  assertEquals(parseFirstDocument("# nothing\n").value, null);
  assertEquals(parseFirstDocument("---\n").value, null);
});

Deno.test("yaml: syntax errors say yaml: line N", () => {
  const e = assertThrows(() => parseFirstDocument("- a: [1, 2\n- b\n"));
  assertEquals(e instanceof YamlSyntaxError, true);
  assertEquals(/^yaml: line \d+: /.test(e.message), true, e.message);
});
