/**
 * A cluster on the talosctl double (tools/doubles/talosctl): a state file in a temp dir, a client
 * connected to it, the double's call log, and installers described as data. Tests drive the real
 * package against it; timeouts are short so a node that never returns fails in well under a second.
 */
import type { Talosctl, TalosctlOptions } from "@talos-ext/talosctl";
import { type DoubleState, doubleFiles, TALOSCTL_DOUBLE } from "../../../tools/doubles/talosctl-state.ts";
import { connect, type DeployTimeouts, type InstallerContent } from "../src/index.ts";

export const DOUBLE = TALOSCTL_DOUBLE;
export type { DoubleState };

/** Waits short enough for tests, long enough for a loaded 2-core machine. */
export const FAST: DeployTimeouts = {
  callMs: 20_000,
  rebootMs: 300,
  drainMs: 1_000,
  readyMs: 1_500,
  servicesMs: 600,
  healthMs: 1_000,
  pollMs: 50,
};

/** The extensions a node on `talos` runs (multipath-tools has a service). */
export function extensions(talos: string, multipath = "0.13.0") {
  return [
    { name: "drbd", version: `9.3.3-${talos}`, compatibility: `>= ${talos}` },
    { name: "multipath-tools", version: multipath, compatibility: ">= v1.10.0", service: "ext-multipathd" },
    { id: "modules.dep", name: "modules.dep", version: "6.18.45-talos", author: "Talos Machinery" },
  ];
}

/** The installer description matching `extensions(talos, multipath)` (what inspection would give). */
export function installer(
  talos: string,
  multipath = "0.14.0",
  ref = `reg.example/installer:${talos}`,
): InstallerContent {
  return {
    reference: ref,
    digest: `sha256:${"ab".repeat(32)}`,
    talosVersion: talos,
    extensions: extensions(talos, multipath).map(({ name, version, compatibility }) =>
      compatibility === undefined ? { name, version } : { name, version, compatibility },
    ),
  };
}

/** Two control planes and two workers on `from`; installers for `targets` the nodes can pull. */
export function clusterState(
  client = "v1.14.0",
  from = "v1.13.4",
  targets: string[] = ["v1.14.1"],
): DoubleState {
  const node = (hostname: string, role: string) => ({
    hostname,
    role,
    boot: {
      current: { version: from, image: `reg.example/installer:${from}`, extensions: extensions(from) },
    },
  });
  const images: DoubleState = {};
  for (const t of targets)
    images[`reg.example/installer:${t}`] = { version: t, extensions: extensions(t, "0.14.0") };
  return {
    clientVersion: client,
    images,
    etcd: { leader: "cp-1" },
    nodes: {
      "10.5.0.2": node("cp-1", "controlplane"),
      "10.5.0.3": node("cp-2", "controlplane"),
      "10.5.0.4": node("w-1", "worker"),
      "10.5.0.5": node("w-2", "worker"),
    },
  };
}

export interface Cluster {
  dir: string;
  statePath: string;
  env: NodeJS.ProcessEnv;
  talosctl: Talosctl;
  state(): Promise<DoubleState>;
  setState(s: DoubleState): Promise<void>;
  /** argv of every double invocation so far. */
  calls(): Promise<string[][]>;
  /** The `--nodes` value of every call of this talosctl command (e.g. `upgrade`). */
  nodesOf(command: string): Promise<string[]>;
  cleanup(): Promise<void>;
}

export async function makeCluster(state: DoubleState, options: TalosctlOptions = {}): Promise<Cluster> {
  const files = await doubleFiles("deploy-double-", state, options.env);
  const talosctl = await connect({ binary: DOUBLE, ...options, env: files.env });
  const calls = async () => (await files.log()).map((l) => l.argv);
  return {
    ...files,
    talosctl,
    calls,
    nodesOf: async (command) =>
      (await calls())
        .filter((argv) => argv.includes(command))
        .map((argv) => argv[argv.indexOf("--nodes") + 1]!),
  };
}
