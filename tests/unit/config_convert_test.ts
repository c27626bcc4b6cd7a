import { assertEquals, assertThrows } from "../helpers/assert.ts";
import { setFieldValue } from "../../src/config/convert.ts";
import { goFormatF, goParseBool, goParseFloat, goParseInt } from "../../src/gocompat/strconv.ts";
import type { FieldSpec, FieldType } from "../../src/config/section_spec.ts";
import { parseFirstDocument, type YValue } from "../../src/config/yaml_v1.ts";

const fld = (type: FieldType, key = "x"): FieldSpec => ({ goName: key, key, type });
const y = (src: string): YValue =>
  (parseFirstDocument(`- v: ${src}\n`).value as Map<string, YValue>[])[0].get("v")!;

Deno.test("convert: string targets (§1.5)", () => {
  const s = fld("string");
  assertEquals(setFieldValue(s, "", "abc"), "abc");
  assertEquals(setFieldValue(s, "", y("0x1F")), "31");
  assertEquals(setFieldValue(s, "", y("0600")), "384");
  assertEquals(setFieldValue(s, "", y("1.5")), "1.500000");
  assertEquals(setFieldValue(s, "", y("y")), "true");
  assertEquals(setFieldValue(s, "", y("no")), "false");
  assertThrows(() => setFieldValue(s, "", null), "value cannot be nil");
  assertThrows(() => setFieldValue(s, "", y("[1]")), "type error (expected string)");
});

Deno.test("convert: int targets", () => {
  const i = fld("int");
  assertEquals(setFieldValue(i, 0, y("2222")), 2222);
  assertEquals(setFieldValue(i, 0, y("2222.9")), 2222);
  assertEquals(setFieldValue(i, 0, "0x10"), 16);
  assertEquals(setFieldValue(i, 0, "0o17"), 15);
  assertEquals(setFieldValue(i, 0, "0b101"), 5);
  assertEquals(setFieldValue(i, 0, "0660"), 432);
  assertEquals(setFieldValue(i, 0, "1_000"), 1000);
  assertEquals(setFieldValue(i, 0, "-12"), -12);
  assertThrows(() => setFieldValue(i, 0, "abc"), 'strconv.ParseInt: parsing "abc": invalid syntax');
  assertThrows(() => setFieldValue(i, 0, "08"), 'strconv.ParseInt: parsing "08": invalid syntax');
  assertThrows(() => setFieldValue(i, 0, ""), 'strconv.ParseInt: parsing "": invalid syntax');
  assertThrows(
    () => setFieldValue(i, 0, "99999999999999999999"),
    "value out of range",
  );
  assertThrows(() => setFieldValue(i, 0, y("[1]")), "type error (expected int)");
  assertThrows(() => setFieldValue(i, 0, y("true")), "type error (expected int)");
  assertThrows(() => setFieldValue(i, 0, null), "value cannot be nil");
});

Deno.test("convert: float targets", () => {
  const f = fld("float");
  assertEquals(setFieldValue(f, 0, y("2")), 2);
  assertEquals(setFieldValue(f, 0, y("1.5")), 1.5);
  assertEquals(setFieldValue(f, 0, "1e3"), 1000);
  assertEquals(setFieldValue(f, 0, "inf"), Infinity);
  assertEquals(Number.isNaN(setFieldValue(f, 0, "NaN")), true);
  assertThrows(
    () => setFieldValue(f, 0, "abc"),
    'strconv.ParseFloat: parsing "abc": invalid syntax',
  );
  assertThrows(() => setFieldValue(f, 0, y("yes")), "type error (expected float64)");
});

Deno.test("convert: bool targets follow the cmdline string rules", () => {
  const b = fld("bool");
  for (const t of ["1", "t", "T", "Y", "true", "TRUE", "True", "yes", "Yes", "YES"]) {
    assertEquals(setFieldValue(b, false, t), true, t);
  }
  for (const t of ["0", "f", "F", "N", "false", "FALSE", "False", "no", "No", "NO"]) {
    assertEquals(setFieldValue(b, true, t), false, t);
  }
  for (const t of ["on", "off", "y", "tRUE", ""]) {
    assertThrows(() => setFieldValue(b, false, t), `could not parse ${t} as boolean`);
  }
  assertEquals(setFieldValue(b, true, y("off")), false);
  assertThrows(() => setFieldValue(b, false, y("1")), "type error (expected bool)");
});

Deno.test("convert: list of strings — YAML list replaces, JSON replaces, plain appends", () => {
  const l = fld("strings");
  assertEquals(setFieldValue(l, null, y("[a, b]")), ["a", "b"]);
  assertEquals(setFieldValue(l, ["z"], y("[a]")), ["a"]);
  assertEquals(setFieldValue(l, null, y("[65, b]")), ["A", "b"]); // [QUIRK] code point
  assertEquals(setFieldValue(l, null, "solo"), ["solo"]);
  assertEquals(setFieldValue(l, ["a"], "b"), ["a", "b"]);
  assertEquals(setFieldValue(l, ["x"], '["a","b"]'), ["a", "b"]);
  assertEquals(setFieldValue(l, ["x"], null), null);
  assertEquals(setFieldValue(l, null, y("[]")), []);
  assertThrows(() => setFieldValue(l, null, y("[true]")), "must be type string");
  assertThrows(() => setFieldValue(l, null, '["a", 1]'), "must be type string");
  assertThrows(() => setFieldValue(l, null, y("{a: 1}")), "type error (expected []string)");
});

Deno.test("convert: maps from YAML maps and JSON strings", () => {
  const m = fld("floatmap");
  assertEquals(setFieldValue(m, null, y("{a: 1, b: 2.5}")), { a: 1, b: 2.5 });
  assertEquals(setFieldValue(m, null, '{"bar":1.6,"fish":2}'), { bar: 1.6, fish: 2 });
  assertEquals(setFieldValue(m, null, y("{65: 1}")), { A: 1 }); // [QUIRK] int key
  assertThrows(() => setFieldValue(m, null, "a"), "type error (expected map[string]float64)");
  assertThrows(() => setFieldValue(m, null, y("{a: x}")), "invalid value x: must be type float64");
  assertEquals(setFieldValue(m, { a: 1 }, null), null);
  const any = fld("anymap");
  assertEquals(setFieldValue(any, null, y("{a: [1, x], b: {c: yes}}")), {
    a: [1, "x"],
    b: { c: true },
  });
});

Deno.test("convert: firewall rules only from YAML", () => {
  const r = fld("rules");
  const v = setFieldValue(r, null, y("[{action: accept}]")) as Map<string, unknown>[];
  assertEquals(v.length, 1);
  assertEquals(v[0].get("action"), "accept");
  assertThrows(
    () => setFieldValue(r, null, '[{"action":"accept"}]'),
    "must be type netceptor.FirewallRuleData",
  );
  assertThrows(() => setFieldValue(r, null, "accept"), "type error");
});

Deno.test("go strconv helpers", () => {
  assertEquals(goParseInt("0X1f"), 31);
  assertEquals(goParseInt("+0b11"), 3);
  assertThrows(() => goParseInt("1__0"), "invalid syntax");
  assertThrows(() => goParseInt("_10"), "invalid syntax");
  assertEquals(goParseFloat(".5"), 0.5);
  assertEquals(goParseFloat("1_000.5"), 1000.5);
  assertEquals(goParseFloat("-Infinity"), -Infinity);
  assertThrows(() => goParseFloat("1e400"), "value out of range");
  assertEquals(goParseBool("YES"), true);
  assertEquals(goFormatF(1.5), "1.500000");
  assertEquals(goFormatF(-2), "-2.000000");
  assertEquals(goFormatF(Infinity), "+Inf");
});
