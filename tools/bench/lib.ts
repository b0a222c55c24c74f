/**
 * Timing and reporting helpers shared by the benchmark cases. Contenders of one comparison are
 * run interleaved (and in rotating order), so a slow patch of a noisy machine hits all of them
 * instead of skewing one side of the ratio.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

export interface Timing {
  /** Median wall-clock time of the measured runs. */
  medianMs: number;
  /** Fastest measured run: on a busy machine, the least disturbed one. */
  minMs: number;
  /** Every measured run, in the order it ran (warm-up runs excluded). */
  runsMs: number[];
}

export interface Contender {
  name: string;
  /** The timed work. */
  run: () => Promise<unknown>;
  /** Untimed set-up before every run (e.g. a fresh output directory). */
  before?: () => Promise<void>;
  /** Untimed clean-up after every run. */
  after?: () => Promise<void>;
}

export interface MeasureOptions {
  runs: number;
  warmup: number;
  log?: (line: string) => void;
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * A full garbage collection before each timed run, so a contender does not pay for collecting
 * the previous one's garbage (it matters for in-process work such as the spec case).
 */
const collectGarbage: () => void = (() => {
  try {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as unknown;
    if (typeof gc === "function") return gc as () => void;
  } catch {
    // Not available: runs simply include whatever collection happens to fall into them.
  }
  return () => {};
})();

async function once(c: Contender): Promise<number> {
  await c.before?.();
  collectGarbage();
  try {
    const t0 = performance.now();
    await c.run();
    return performance.now() - t0;
  } finally {
    await c.after?.();
  }
}

/** Warms every contender up, then measures them interleaved; returns timings by name. */
export async function compare(
  contenders: Contender[],
  options: MeasureOptions,
): Promise<Map<string, Timing>> {
  const runs = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  for (let w = 0; w < options.warmup; w++) {
    for (const c of contenders) {
      const ms = await once(c);
      options.log?.(`warm-up ${c.name}: ${fmtMs(ms)} ms`);
    }
  }
  for (let r = 0; r < options.runs; r++) {
    for (let k = 0; k < contenders.length; k++) {
      const c = contenders[(r + k) % contenders.length]!;
      const ms = await once(c);
      runs.get(c.name)!.push(ms);
      options.log?.(`run ${r + 1}/${options.runs} ${c.name}: ${fmtMs(ms)} ms`);
    }
  }
  const out = new Map<string, Timing>();
  for (const [name, list] of runs)
    out.set(name, {
      medianMs: round(median(list)),
      minMs: round(Math.min(...list)),
      runsMs: list.map(round),
    });
  return out;
}

export function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

export function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return "-";
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  return ms.toFixed(2);
}

export async function withTempDir<T>(label: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), `talos-ext-bench-${label}-`));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface ShResult {
  stdout: string;
  stderr: string;
}

/**
 * Runs a shell command line with `pipefail`, so a failure anywhere in a pipeline fails the run
 * (a baseline that silently did nothing would look fast).
 */
export function sh(command: string, env: NodeJS.ProcessEnv = process.env): Promise<ShResult> {
  return run("bash", ["-o", "pipefail", "-c", command], env);
}

export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ShResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.once("error", reject);
    child.once("close", (code, signal) => {
      const stdout = Buffer.concat(out).toString("utf8");
      const stderr = Buffer.concat(err).toString("utf8");
      if (code === 0) resolve({ stdout, stderr });
      else {
        const tail = stderr.trim().split("\n").slice(-10).join("\n");
        reject(new Error(`${cmd} ${args.join(" ")} failed (${signal ?? `exit ${code}`}):\n${tail}`));
      }
    });
  });
}

/** True when `cmd` can be run (found on PATH and executes `--version`-like `args`). */
export async function available(cmd: string, args: string[] = ["--version"]): Promise<boolean> {
  try {
    await run(cmd, args);
    return true;
  } catch {
    return false;
  }
}

/** A small, fast, seedable PRNG (mulberry32): generated inputs are the same on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Bytes of all regular files under `dir`. */
export async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) total += (await stat(join(e.parentPath, e.name))).size;
  }
  return total;
}

export function mib(bytes: number): string {
  return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
}
