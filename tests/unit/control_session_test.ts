import { assertEquals } from "../helpers/assert.ts";
import { parseCommandLine, runControlSession } from "../../src/control/session.ts";
import { LineReader } from "../../src/util/line_reader.ts";
import { encodeReply } from "../../src/control/json_reply.ts";
import type { ControlCommand } from "../../src/control/types.ts";
import { ControlError } from "../../src/control/types.ts";
import { silentLogger } from "../../src/log.ts";
import { duplexFromConn } from "../../src/control/conn_duplex.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function streamOf(...chunks: string[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      for (const ch of chunks) c.enqueue(enc.encode(ch));
      c.close();
    },
  });
}

async function readAll(s: ReadableStream<Uint8Array>): Promise<string> {
  let out = "";
  for await (const c of s) out += dec.decode(c);
  return out;
}

Deno.test("line reader: CR dropped, partial last line returned, rest keeps leftovers", async () => {
  const r = new LineReader(streamOf("STATUS\r\n", "work submit a b\npay", "load"));
  assertEquals(await r.readLine(), "STATUS");
  assertEquals(await r.readLine(), "work submit a b");
  assertEquals(await readAll(r.rest()), "payload");
});

Deno.test("line reader: partial line before EOF is a line; then null", async () => {
  const r = new LineReader(streamOf("status"));
  assertEquals(await r.readLine(), "status");
  assertEquals(await r.readLine(), null);
});

Deno.test("parse: text commands lower-cased, params verbatim; JSON keeps case", () => {
  assertEquals(parseCommandLine("PING  node2"), {
    form: "text",
    command: "ping",
    params: " node2",
  });
  assertEquals(parseCommandLine('{"command":"Status"}'), {
    form: "json",
    command: "Status",
    json: { command: "Status" },
  });
  assertEquals(parseCommandLine('{"x":1}'), { error: "JSON did not contain a command" });
  assertEquals(parseCommandLine('{"command":5}'), { error: "command must be a string" });
});

Deno.test("json reply escapes <>& like Go", () => {
  assertEquals(encodeReply({ a: "<&>" }), '{"a":"\\u003c\\u0026\\u003e"}');
});

function fakeConn(input: ReadableStream<Uint8Array>) {
  const written: string[] = [];
  let closed = false;
  return {
    written,
    get closed() {
      return closed;
    },
    readable: input,
    writable: new WritableStream<Uint8Array>({ write: (c) => void written.push(dec.decode(c)) }),
    close() {
      closed = true;
    },
  };
}

Deno.test("session: banner, one reply per command, ERROR lines, unknown command, empty lines", async () => {
  const echo: ControlCommand = {
    name: "echo",
    run: (_s, req) =>
      Promise.resolve(
        req.form === "text"
          ? { kind: "reply", value: { said: req.params } }
          : { kind: "reply", value: { json: req.json.x } },
      ),
  };
  const fail: ControlCommand = {
    name: "fail",
    run: () => {
      throw new ControlError("it broke");
    },
  };
  const conn = fakeConn(
    streamOf("echo hi there\n\n", "foo\n", '{"command":"echo","x":1}\n', "fail\n{bad\nECHO last"),
  );
  await runControlSession(conn, {
    nodeId: "n1",
    transport: "unix",
    commands: new Map([["echo", echo], ["fail", fail]]),
    logger: silentLogger(),
  });
  const lines = conn.written.join("").split("\n");
  assertEquals(lines[0], "Receptor Control, node n1");
  assertEquals(lines[1], '{"said":"hi there"}');
  assertEquals(lines[2], "ERROR: Unknown command");
  assertEquals(lines[3], '{"json":1}');
  assertEquals(lines[4], "ERROR: it broke");
  assertEquals(lines[5].startsWith("ERROR: "), true);
  assertEquals(lines[6], '{"said":"last"}');
  assertEquals(lines.length, 8);
  assertEquals(conn.closed, true);
});

Deno.test("session over a Unix socket uses the connection directly: no web stream is built", async () => {
  const dir = await Deno.makeTempDir({ prefix: "receptor-direct-" });
  const path = `${dir}/s.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  const rest: string[] = [];
  const take: ControlCommand = {
    name: "take",
    run: async (session) => {
      // A `work submit`-like command: the bytes after its line, to EOF, then a reply.
      const r = session.readRest().getReader();
      for (let c = await r.read(); !c.done; c = await r.read()) rest.push(dec.decode(c.value));
      return { kind: "reply", value: { got: rest.join("") } };
    },
  };
  const served = (async () => {
    const conn = duplexFromConn(await listener.accept());
    let streamsBuilt = 0;
    const watched = {
      ...conn,
      read: conn.read,
      write: conn.write,
      get readable() {
        streamsBuilt++;
        return conn.readable;
      },
      get writable() {
        streamsBuilt++;
        return conn.writable;
      },
    };
    await runControlSession(watched, {
      nodeId: "n1",
      transport: "unix",
      commands: new Map([["take", take]]),
      logger: silentLogger(),
    });
    return streamsBuilt;
  })();
  const client = await Deno.connect({ transport: "unix", path });
  await client.write(enc.encode("take\npayload "));
  await client.write(enc.encode("and more"));
  await client.closeWrite();
  let text = "";
  const buf = new Uint8Array(1024);
  for (let n = await client.read(buf); n !== null; n = await client.read(buf)) {
    text += dec.decode(buf.subarray(0, n));
  }
  client.close();
  assertEquals(text, 'Receptor Control, node n1\n{"got":"payload and more"}\n');
  assertEquals(await served, 0, "readable/writable never touched");
  listener.close();
  await Deno.remove(dir, { recursive: true });
});
