import { assert, assertEquals } from "../helpers/assert.ts";
import { compareForReload, nonReloadableFingerprints } from "../../src/config/mod.ts";

/** Our reload fixtures: a start config and one file per reload case. */
const RELOAD = new URL("../fixtures/config/reload/", import.meta.url).pathname;
const read = (name: string) => Deno.readTextFileSync(`${RELOAD}${name}.yml`);

const BASE = `---
- node:
    id: foo
- log-level: info
- tcp-peer:
    address: localhost:8001
- control-service:
    service: control
    filename: /tmp/foo.sock
- work-command:
    workType: hello
    command: bash
    params: "-c \\"echo hello\\""
`;

Deno.test("reload: only non-reloadable items are remembered", () => {
  const set = nonReloadableFingerprints(BASE);
  assertEquals(set.size, 4); // node, log-level, control-service, work-command
  for (const t of set) assert(!t.startsWith("tcp-peer"), t);
});

Deno.test("reload #75: reordering, comments, indentation and quoting do not matter", () => {
  const set = nonReloadableFingerprints(BASE);
  const reordered = `# a comment
- work-command:
      params: '-c "echo hello"'   # same string, other quoting
      command: "bash"
      workType: hello
- control-service: {filename: /tmp/foo.sock, service: control}
- log-level: 'info'
- node:
    id: "foo"
`;
  assertEquals(compareForReload(set, reordered), { ok: true });
});

Deno.test("reload #73: changing reloadable items is fine", () => {
  const set = nonReloadableFingerprints(read("init"));
  assertEquals(compareForReload(set, read("successful_reload")), { ok: true });
  const more = BASE + "- tcp-listener: {port: 1}\n- local-only\n- ws-peer: ws://x/\n";
  assertEquals(compareForReload(nonReloadableFingerprints(BASE), more), { ok: true });
});

Deno.test("reload #74: modified, added or removed non-reloadable items fail with code 3", () => {
  const set = nonReloadableFingerprints(read("init"));
  const modified = compareForReload(set, read("modify_cfg"));
  assert(!modified.ok);
  assertEquals(modified.code, 3);
  assertEquals(
    modified.message,
    "a non-reloadable config action 'work-command' was modified or added. Must restart receptor for these changes to take effect",
  );
  assertEquals(modified.errorText, modified.message + " ERRORCODE 3");
  const added = compareForReload(set, read("add_cfg"));
  assert(!added.ok);
  assertEquals(added.code, 3);
  assertEquals(added.message.includes("'work-command' was modified or added"), true);
  const dropped = compareForReload(set, read("drop_cfg"));
  assert(!dropped.ok);
  assertEquals(
    dropped.message,
    "a non-reloadable config action 'work-command' was removed. Must restart receptor for changes to take effect",
  );
});

Deno.test("reload: value types and key case matter", () => {
  const set = nonReloadableFingerprints("- control-service:\n    permissions: 0660\n");
  // same value, other spelling of the int: still equal
  assertEquals(compareForReload(set, "- control-service:\n    permissions: 432\n"), { ok: true });
  // a string is not an int
  assertEquals(compareForReload(set, '- control-service:\n    permissions: "0660"\n').ok, false);
  // key spelling matters
  assertEquals(compareForReload(set, "- control-service:\n    Permissions: 0660\n").ok, false);
  // plain-string items
  const t = nonReloadableFingerprints("- trace\n- local-only\n");
  assertEquals(t.size, 1);
  const gone = compareForReload(t, "- local-only\n");
  assert(!gone.ok);
  assertEquals(gone.message.startsWith("a non-reloadable config action 'trace' was removed"), true);
});

Deno.test("reload: a broken new file is reported with code 4", () => {
  const set = nonReloadableFingerprints(BASE);
  const r = compareForReload(set, read("syntax_error"));
  assert(!r.ok);
  assertEquals(r.code, 4);
  assert(r.message.startsWith("yaml: "), r.message);
});
