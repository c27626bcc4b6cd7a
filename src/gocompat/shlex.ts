/**
 * Word splitting with the rules of github.com/google/shlex (control.md §5.2), used for
 * `work-command` params: whitespace (space, tab, CR, LF) separates words; `'…'` is literal;
 * inside `"…"` a backslash escapes any character; outside quotes a backslash makes the next
 * character literal; adjacent pieces join; `#` at a word start comments to end of line.
 * No expansion, no globbing.
 * @module
 */

/** A splitting error; messages are google/shlex's. */
export class ShlexError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ShlexError";
  }
}

const SPACE = new Set([" ", "\t", "\r", "\n"]);

type State = "start" | "word" | "escaping" | "escapingQuoted" | "dquote" | "squote" | "comment";

/**
 * Split `input` into words. Throws {@link ShlexError} with
 * `EOF found when expecting closing quote` or `EOF found after escape character`.
 * @example split(`a "b c" 'd e' f\ g`) // ["a", "b c", "d e", "f g"]
 */
export function shlexSplit(input: string): string[] {
  const words: string[] = [];
  let state: State = "start";
  let value = "";
  const chars = Array.from(input); // by code point, like Go's ReadRune
  const finishWord = () => {
    words.push(value);
    value = "";
    state = "start";
  };
  for (const c of chars) {
    switch (state) {
      case "start":
        if (SPACE.has(c)) break;
        if (c === '"') state = "dquote";
        else if (c === "'") state = "squote";
        else if (c === "\\") state = "escaping";
        else if (c === "#") state = "comment";
        else {
          value += c;
          state = "word";
        }
        break;
      case "word":
        if (SPACE.has(c)) finishWord();
        else if (c === '"') state = "dquote";
        else if (c === "'") state = "squote";
        else if (c === "\\") state = "escaping";
        else value += c; // includes '#': literal inside a word
        break;
      case "escaping":
        value += c;
        state = "word";
        break;
      case "escapingQuoted":
        value += c;
        state = "dquote";
        break;
      case "dquote":
        if (c === '"') state = "word";
        else if (c === "\\") state = "escapingQuoted";
        else value += c;
        break;
      case "squote":
        if (c === "'") state = "word";
        else value += c;
        break;
      case "comment":
        if (c === "\n") {
          value = "";
          state = "start";
        }
        break;
    }
  }
  switch (state) {
    case "word":
      words.push(value);
      break;
    case "escaping":
    case "escapingQuoted":
      throw new ShlexError("EOF found after escape character");
    case "dquote":
    case "squote":
      throw new ShlexError("EOF found when expecting closing quote");
  }
  return words;
}
