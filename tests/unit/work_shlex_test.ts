import { assertEquals, assertThrows } from "../helpers/assert.ts";
import { shlexSplit } from "../../src/gocompat/shlex.ts";

Deno.test("shlex: quotes, escapes and joining give 4 args", () => {
  assertEquals(shlexSplit(`a "b c" 'd e' f\\ g`), ["a", "b c", "d e", "f g"]);
});

Deno.test("shlex: whitespace kinds and empty input", () => {
  assertEquals(shlexSplit(""), []);
  assertEquals(shlexSplit("  \t\r\n "), []);
  assertEquals(shlexSplit("a\tb\nc\r d"), ["a", "b", "c", "d"]);
});

Deno.test("shlex: adjacent pieces join, empty quotes give empty arg", () => {
  assertEquals(shlexSplit(`x"y z"'w'v`), ["xy zwv"]);
  assertEquals(shlexSplit(`"" ''`), ["", ""]);
  assertEquals(shlexSplit(`-c "cat"`), ["-c", "cat"]);
});

Deno.test("shlex: backslash inside double quotes escapes any character", () => {
  assertEquals(shlexSplit(`"a\\"b" "c\\d" "e\\\\f"`), [`a"b`, "cd", "e\\f"]);
  // single quotes are fully literal
  assertEquals(shlexSplit(`'a\\b'`), ["a\\b"]);
  // no expansion
  assertEquals(shlexSplit(`$HOME * ~`), ["$HOME", "*", "~"]);
});

Deno.test("shlex: comments at word start only", () => {
  assertEquals(shlexSplit("a # comment here\nb"), ["a", "b"]);
  assertEquals(shlexSplit("a#b c"), ["a#b", "c"]);
  assertEquals(shlexSplit("# only a comment"), []);
});

Deno.test("shlex: unterminated quote and trailing backslash fail", () => {
  assertThrows(() => shlexSplit(`a "b`), "EOF found when expecting closing quote");
  assertThrows(() => shlexSplit(`a 'b`), "EOF found when expecting closing quote");
  assertThrows(() => shlexSplit(`a\\`), "EOF found after escape character");
  assertThrows(() => shlexSplit(`"a\\`), "EOF found after escape character");
});
