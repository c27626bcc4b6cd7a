/**
 * Free loopback ports for test peers and benchmarks. A port is picked at random BELOW the
 * kernel's ephemeral range (`/proc/sys/net/ipv4/ip_local_port_range`, 32768–60999 on Linux):
 * binding to port 0 hands out an ephemeral port, which any outgoing connection of a test
 * running in parallel can take between our check and the peer's own bind (seen: kwok exiting
 * at start-up in a full parallel run). Ports handed out by this process are never given twice.
 * @module
 */

const given = new Set<number>();

/** The range to pick from: [1024 or 10000, the ephemeral range's low end). */
function pickRange(): [number, number] {
  let low = 32768;
  try {
    const [l] = Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range").trim().split(
      /\s+/,
    ).map(Number);
    if (Number.isInteger(l) && l > 2048) low = l;
  } catch {
    // not Linux: keep the IANA dynamic range's bound
  }
  return [low > 12000 ? 10000 : 1024, low];
}

function bindable(port: number, udp: boolean): boolean {
  try {
    if (udp) {
      Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port }).close();
    } else Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch {
    return false; // taken (or not allowed): try another
  }
}

function pick(udp: boolean): number {
  const [lo, hi] = pickRange();
  for (let i = 0; i < 500; i++) {
    const port = lo + Math.floor(Math.random() * (hi - lo));
    if (!given.has(port) && bindable(port, udp)) {
      given.add(port);
      return port;
    }
  }
  throw new Error(`no free ${udp ? "UDP" : "TCP"} port found in ${lo}–${hi - 1}`);
}

/** A loopback TCP port that was free a moment ago, outside the ephemeral range. */
export function freePort(): number {
  return pick(false);
}

/** A loopback UDP port that was free a moment ago, outside the ephemeral range. */
export function freeUdpPort(): number {
  return pick(true);
}
