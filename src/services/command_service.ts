/**
 * `command-service` (config.md §3.9): offer mesh stream service `service` (ad type
 * `Command Service`); each connection runs `command`, split into words like work-command
 * params (no shell), with the connection bridged to the process. Upstream gives the process a
 * pseudo-terminal; Deno cannot allocate one without native code, so the process gets pipes:
 * connection → stdin, stdout and stderr (interleaved as they arrive) → connection. The
 * connection is closed once the process has exited and its output is sent; a dropped
 * connection sends the process SIGHUP (as closing a terminal would).
 * @module
 */
import type { CommandServiceSection } from "../config/types.ts";
import { shlexSplit } from "../gocompat/shlex.ts";
import type { ByteChannel } from "./channel.ts";
import {
  type RunningService,
  serveMeshToLocal,
  type ServiceDeps,
  ServiceStartError,
} from "./common.ts";
import { errorText } from "../util/error_text.ts";

const HIGH_WATER = 1 << 20;

/** A channel over a child process: stdin for writes, stdout+stderr merged for reads. */
export function processChannel(child: Deno.ChildProcess, name: string): ByteChannel {
  const queue: Uint8Array[] = [];
  let queued = 0;
  let open = 2;
  let readWaiter: (() => void) | null = null;
  let drainWaiters: (() => void)[] = [];
  let exited = false;
  child.status.then(() => (exited = true), () => (exited = true));
  const wakeRead = () => {
    const w = readWaiter;
    readWaiter = null;
    w?.();
  };
  const pump = async (src: ReadableStream<Uint8Array>) => {
    try {
      for await (const chunk of src) {
        queue.push(chunk);
        queued += chunk.length;
        wakeRead();
        while (queued > HIGH_WATER) await new Promise<void>((r) => drainWaiters.push(r));
      }
    } catch { /* treated as end of output */ }
    open--;
    wakeRead();
  };
  pump(child.stdout);
  pump(child.stderr);
  const stdin = child.stdin.getWriter();
  let closed = false;
  return {
    name,
    async read() {
      while (!queue.length) {
        if (open === 0) return null;
        await new Promise<void>((r) => (readWaiter = r));
      }
      const c = queue.shift()!;
      queued -= c.length;
      if (queued <= HIGH_WATER) {
        const ws = drainWaiters;
        drainWaiters = [];
        for (const w of ws) w();
      }
      return c;
    },
    async write(bytes) {
      await stdin.write(bytes);
    },
    async closeWrite() {
      // The process may already be gone (closed pipe): nothing left to tell it.
      await stdin.close().catch(() => {});
    },
    close() {
      if (closed) return;
      closed = true;
      stdin.abort().catch(() => {});
      if (!exited) {
        try {
          child.kill("SIGHUP");
        } catch { /* already gone */ }
      }
    },
  };
}

/** Start a `command-service`. Throws if `command` cannot be split or the service not bound. */
export function startCommandService(
  s: CommandServiceSection,
  deps: ServiceDeps,
): RunningService {
  const { logger } = deps;
  let argv: string[];
  try {
    argv = shlexSplit(s.command);
  } catch (e) {
    throw new ServiceStartError(
      `command-service ${s.service}: ${errorText(e)}`,
    );
  }
  if (!argv.length) throw new ServiceStartError(`command-service ${s.service}: empty command`);
  const service = serveMeshToLocal(deps, {
    service: s.service,
    tlsServer: s.tls,
    tags: { type: "Command Service" },
    description: `command-service ${s.service}`,
    failure: "Error running command",
    open: () => {
      const child = new Deno.Command(argv[0], {
        args: argv.slice(1),
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      return {
        channel: processChannel(child, `command ${argv[0]} (pid ${child.pid})`),
        discard() {
          try {
            child.kill("SIGKILL");
          } catch { /* gone */ }
        },
        bridged(br, remote) {
          // Once the process has exited and all its output went out, end the session even if
          // the client never half-closes (a terminal session ends with its process).
          Promise.all([child.status, br.bToA]).then(([status, ok]) => {
            logger.debug(`command ${argv[0]} (pid ${child.pid}) exited with code ${status.code}`);
            if (ok) remote.close(true);
          }).catch(() => {});
        },
      };
    },
  });
  logger.debug(`command-service ${s.service} runs ${JSON.stringify(argv)}`);
  return service;
}
