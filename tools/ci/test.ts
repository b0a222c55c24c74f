#!/usr/bin/env node
/**
 * `pnpm test`: our packages' build, typecheck, lint and test targets, then the extensions' lint
 * (their builds need registries and, for multipath-tools, ghcr.io). With NX_BASE naming a commit
 * git knows (a branch in CI: NX_BASE=origin/main), only the projects that change affects run, as
 * `nx affected` computes them; without one (a fresh clone, `.ci/run`), everything runs.
 */
import { execa } from "execa";
import { type Selection, selectRuns } from "./select.ts";

const env = { ...process.env, NX_NO_CLOUD: "true", NX_DAEMON: "false", NX_TUI: "false" };
const nx = (args: string[]) => execa("nx", args, { env, preferLocal: true, stdio: "inherit" });
const json = async (args: string[]): Promise<string[]> =>
  JSON.parse((await execa("nx", args, { env, preferLocal: true })).stdout) as string[];

async function knownCommit(ref: string | undefined): Promise<boolean> {
  if (!ref) return false;
  const r = await execa("git", ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], { reject: false });
  return r.exitCode === 0;
}

const base = process.env.NX_BASE;
let selection: Selection = { mode: "all" };
if (await knownCommit(base)) {
  const head = process.env.NX_HEAD ? [`--head=${process.env.NX_HEAD}`] : [];
  selection = {
    mode: "affected",
    base: base!,
    affected: await json(["show", "projects", "--affected", `--base=${base}`, ...head, "--json"]),
    extensions: await json(["show", "projects", "--projects=tag:talos-ext", "--json"]),
  };
}
const runs = selectRuns(selection);
process.stderr.write(
  selection.mode === "all"
    ? `test: everything (${base ? `NX_BASE ${base} is not a commit here` : "no NX_BASE"})\n`
    : `test: affected since ${selection.base}\n`,
);
for (const args of runs) await nx(args);
if (runs.length === 0) process.stderr.write("test: nothing affected\n");
