/**
 * The files of one talosctl-double cluster, for tests: a temp dir with the state file and the
 * call log, the environment that points the double at them, and readers for both. Packages
 * wrap it with a client of their own (talosctl's `createTalosctl`, deploy's `connect`).
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
