/**
 * What a build leaves behind if it is stopped: its work directory (a copy of every rootfs, often
 * larger than the image) and the temp layout beside the output. Both carry the owner's PID in
 * their name, so a signal handler removes this process's own, and the next run removes those of
 * processes that no longer exist.
 */
import { readdirSync, rmSync } from "node:fs";
import { mkdtemp, readdir, rename, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";

/** Prefix of every build work directory: `talos-ext-build-<pid>-<random>`. */
export const WORK_DIR_PREFIX = "talos-ext-build-";

/** True while a process with this PID exists (EPERM: it exists, owned by someone else). */
export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Creates this process's work directory under `base` (default: the OS temp dir). */
export async function createWorkDir(base = tmpdir()): Promise<string> {
  return mkdtemp(join(base, `${WORK_DIR_PREFIX}${process.pid}-`));
}

const WORK_DIR = new RegExp(`^${WORK_DIR_PREFIX}(\\d+)-`);

/** Removes work directories left by build processes that are gone; returns what was removed. */
export async function removeStaleWorkDirs(base = tmpdir()): Promise<string[]> {
  const removed: string[] = [];
  let names: string[];
  try {
    names = await readdir(base);
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = WORK_DIR.exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    const path = join(base, name);
    await rm(path, { recursive: true, force: true }).then(
      () => removed.push(path),
      () => {},
    );
  }
  return removed;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** `.tmp-<name>-<pid>-<hex>` (a layout being written) and `.tmp-<name>-old-<pid>-<hex>` (the previous one moved aside). */
function tempLayoutPattern(outDir: string): RegExp {
  return new RegExp(`^\\.tmp-${escapeRegExp(basename(outDir))}-(old-)?(\\d+)-[0-9a-f]+$`);
}

/**
 * Cleans up beside `outDir` after killed runs: partial layouts of dead processes are removed;
 * a previous layout that a killed run had moved aside is put back if the output is missing
 * (it is the user's last good output), else removed.
 */
export async function removeStaleOutputTemps(outDir: string): Promise<string[]> {
  const parent = dirname(outDir);
  const pattern = tempLayoutPattern(outDir);
  const removed: string[] = [];
  let names: string[];
  try {
    names = await readdir(parent);
  } catch {
    return removed;
  }
  for (const name of names.sort()) {
    const m = pattern.exec(name);
    if (!m || pidAlive(Number(m[2]))) continue;
    const path = join(parent, name);
    // `.tmp-x-old-<pid>-<hex>` is also the name a partial layout of an output "x-old" would have;
    // while "x" is missing it may be x's last good layout, so it is left for a build of "x".
    if (!m[1] && basename(outDir).endsWith("-old")) {
      const sibling = join(parent, basename(outDir).slice(0, -"-old".length));
      if (
        !(await stat(sibling).then(
          () => true,
          () => false,
        ))
      )
        continue;
    }
    if (m[1]) {
      const outputThere = await stat(outDir).then(
        () => true,
        () => false,
      );
      if (
        !outputThere &&
        (await rename(path, outDir).then(
          () => true,
          () => false,
        ))
      )
        continue;
    }
    await rm(path, { recursive: true, force: true }).then(
      () => removed.push(path),
      () => {},
    );
  }
  return removed;
}

/** This process's temp layouts beside `outDir` (synchronous: used from a signal handler). */
function ownOutputTempsSync(outDir: string): string[] {
  const pattern = tempLayoutPattern(outDir);
  try {
    return readdirSync(dirname(outDir))
      .filter((n) => {
        const m = pattern.exec(n);
        // The previous layout moved aside is kept: it is restored at the next start.
        return m !== null && !m[1] && Number(m[2]) === process.pid;
      })
      .map((n) => join(dirname(outDir), n));
  } catch {
    return [];
  }
}

interface Guarded {
  workDir: string;
  outDir: string;
}

const active = new Set<Guarded>();
const SIGNALS = ["SIGINT", "SIGTERM"] as const;

function onSignal(signal: NodeJS.Signals): void {
  for (const g of active) {
    for (const p of [g.workDir, ...ownOutputTempsSync(g.outDir)]) {
      try {
        rmSync(p, { recursive: true, force: true });
      } catch {
        // Best effort: the next run removes what is left (its PID is dead by then).
      }
    }
  }
  active.clear();
  uninstall();
  // Die of the signal as if nobody had handled it, unless someone else listens for it.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function install(): void {
  for (const s of SIGNALS) if (!process.listeners(s).includes(onSignal)) process.on(s, onSignal);
}

function uninstall(): void {
  for (const s of SIGNALS) process.off(s, onSignal);
}

/**
 * Runs `fn` with SIGINT/SIGTERM handlers that remove `workDir` and this process's temp layouts
 * beside `outDir` before the process dies of the signal.
 */
export async function withSignalCleanup<T>(
  workDir: string,
  outDir: string,
  fn: () => Promise<T>,
): Promise<T> {
  const g: Guarded = { workDir, outDir };
  active.add(g);
  install();
  try {
    return await fn();
  } finally {
    active.delete(g);
    if (active.size === 0) uninstall();
  }
}
