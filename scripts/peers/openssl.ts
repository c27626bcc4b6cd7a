/**
 * Makes sure the `openssl` CLI is there (certificate and TLS interop tests); installs Debian's
 * openssl package when it is missing.
 * @module
 */
import { aptInstall, fail, onPath, tail } from "./lib/common.ts";

if (import.meta.main) {
  let path = onPath("openssl");
  if (!path) {
    const apt = await aptInstall("openssl");
    path = onPath("openssl");
    if (!path) fail("openssl", `not on PATH and apt-get install openssl failed: ${tail(apt.out)}`);
  }
  console.log(`openssl ready: ${path}`);
}
