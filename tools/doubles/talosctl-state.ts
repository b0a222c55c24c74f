/**
 * The files of one talosctl-double cluster, for tests: a temp dir with the state file and the
 * call log, the environment that points the double at them, and readers for both. Packages
 * wrap it with a client of their own (talosctl's `createTalosctl`, deploy's `connect`). Tests
 * that run the CLI or Nx against the double take its environment from `talosctlDoubleEnv` and
 * read what the CLI wrote through `capturedCliIo`.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The double's wrapper script (runs talosctl.ts under Node). */
export const TALOSCTL_DOUBLE = fileURLToPath(new URL("./talosctl", import.meta.url));

// biome-ignore lint/suspicious/noExplicitAny: the state is free-form JSON in tests (format in README.md)
export type DoubleState = Record<string, any>;

export interface DoubleFiles {
  dir: string;
  statePath: string;
  /** TALOSCTL_DOUBLE_STATE/LOG/NODE and an empty TALOSCONFIG, plus the extra env given. */
  env: NodeJS.ProcessEnv;
  state(): Promise<DoubleState>;
  setState(s: DoubleState): Promise<void>;
  /** Every invocation so far: its argv (globals included) and pid. */
  log(): Promise<{ argv: string[]; pid: number }[]>;
  cleanup(): Promise<void>;
}

export async function doubleFiles(
  prefix: string,
  state: DoubleState,
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<DoubleFiles> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const statePath = join(dir, "state.json");
  const logPath = join(dir, "calls.jsonl");
  await writeFile(statePath, JSON.stringify(state, null, 2));
  return {
    dir,
    statePath,
    env: {
      TALOSCTL_DOUBLE_STATE: statePath,
      TALOSCTL_DOUBLE_LOG: logPath,
      TALOSCTL_DOUBLE_NODE: process.execPath,
      TALOSCONFIG: "",
      ...extraEnv,
    },
    state: async () => JSON.parse(await readFile(statePath, "utf8")) as DoubleState,
    setState: (s) => writeFile(statePath, JSON.stringify(s, null, 2)),
    log: async () =>
      (await readFile(logPath, "utf8").catch(() => ""))
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { argv: string[]; pid: number }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * The environment that makes our code run the talosctl double against `<dir>/state.json`:
 * `TALOSCTL` names the double, plus the double's own variables and an empty TALOSCONFIG (so no
 * real cluster's config is picked up). It exists for tests that keep the state file in a dir of
 * their own (the CLI's and the Nx plugin's), which had each spelled these lines out; `doubleFiles`
 * is for tests that let it make the dir. `log` adds the call log `<dir>/calls.jsonl`; `pull` lets
 * the double boot installers it pulls from a local registry (the end-to-end tests). Callers add
 * what else they need (process.env, DOCKER_HOST) around it.
 */
export function talosctlDoubleEnv(
  dir: string,
  options: { log?: boolean; pull?: boolean } = {},
): Record<string, string> {
  return {
    TALOSCTL: TALOSCTL_DOUBLE,
    TALOSCTL_DOUBLE_STATE: join(dir, "state.json"),
    TALOSCTL_DOUBLE_NODE: process.execPath,
    ...(options.log ? { TALOSCTL_DOUBLE_LOG: join(dir, "calls.jsonl") } : {}),
    ...(options.pull ? { TALOSCTL_DOUBLE_PULL: "1" } : {}),
    TALOSCONFIG: "",
  };
}

/**
 * An io for the CLI's `runCli` (structurally its `CliIo`; tools/ does not import the CLI) that
 * keeps what a command writes, so a test can read it back with `out()` and `err()`. The
 * environment is the process's with `env` over it; not interactive unless `extra` says so.
 */
export function capturedCliIo<E extends object = object>(
  cwd: string,
  env: Record<string, string>,
  extra?: E,
) {
  const out: string[] = [];
  const err: string[] = [];
  const io = {
    stdout: (t: string) => {
      out.push(t);
    },
    stderr: (t: string) => {
      err.push(t);
    },
    cwd,
    env: { ...process.env, ...env },
    interactive: false,
    stdinInteractive: false,
    ...extra,
  };
  return { io, out: () => out.join(""), err: () => err.join("") };
}
