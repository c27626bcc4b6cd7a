/**
 * Installs the pinned `receptorctl` (PyPI) into the project-local `.venv`, for the interop tests
 * (tests/helpers/peers.ts finds it at .venv/bin/receptorctl). Idempotent: does nothing when the
 * pinned version is already there. Needs python3 with venv (installs python3-venv via apt-get
 * when missing).
 * @module
 */
import { aptInstall, fail, onPath, REPO_ROOT, run, tail } from "./lib/common.ts";

/** The receptorctl release the interop tests are written against. */
export const RECEPTORCTL_VERSION = "1.6.9";

const VENV = `${REPO_ROOT}.venv`;

async function installed(): Promise<boolean> {
  const r = await run(`${VENV}/bin/python3`, [
    "-c",
    "import importlib.metadata as m; print(m.version('receptorctl'))",
  ]);
  return r.ok && r.out.trim() === RECEPTORCTL_VERSION;
}

async function makeVenv(): Promise<void> {
  const python = onPath("python3");
  if (!python) {
    const apt = await aptInstall("python3", "python3-venv");
    if (!apt.ok) fail("receptorctl", `no python3 and apt-get failed: ${tail(apt.out)}`);
  }
  let r = await run("python3", ["-m", "venv", VENV]);
  if (!r.ok) {
    // Debian's python3 ships venv without ensurepip until python3-venv is installed.
    await Deno.remove(VENV, { recursive: true }).catch(() => {});
    const apt = await aptInstall("python3-venv");
    if (!apt.ok) fail("receptorctl", `python3 -m venv failed: ${tail(r.out)}`);
    r = await run("python3", ["-m", "venv", VENV]);
    if (!r.ok) fail("receptorctl", `python3 -m venv failed: ${tail(r.out)}`);
  }
}

if (import.meta.main) {
  if (!(await installed())) {
    try {
      Deno.statSync(`${VENV}/bin/pip`);
    } catch {
      await makeVenv();
    }
    const pip = await run(`${VENV}/bin/pip`, [
      "install",
      "--quiet",
      "--disable-pip-version-check",
      `receptorctl==${RECEPTORCTL_VERSION}`,
    ]);
    if (!pip.ok || !(await installed())) fail("receptorctl", `pip install: ${tail(pip.out)}`);
  }
  console.log(`receptorctl ${RECEPTORCTL_VERSION} ready: ${VENV}/bin/receptorctl`);
}
