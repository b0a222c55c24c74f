/**
 * A small cluster on the talosctl double (tools/doubles/talosctl): a state file in a temp dir,
 * a client created against it, and the double's call log. Tests drive the real package.
 */
import { type DoubleState, doubleFiles, TALOSCTL_DOUBLE } from "../../../tools/doubles/talosctl-state.ts";
import { createTalosctl, type Talosctl, type TalosctlOptions } from "../src/index.ts";

export const DOUBLE = TALOSCTL_DOUBLE;
export type { DoubleState };

export const SCHEMATIC_ID = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba";

/** Extensions of a factory-built node with multipath-tools. */
export function extensionSet(talos: string, multipath = "0.13.0") {
  return [
    {
      name: "drbd",
      version: `9.3.3-${talos}`,
      author: "Sidero Labs",
      description: "DRBD\n",
      compatibility: `>= ${talos}`,
    },
    {
      name: "multipath-tools",
      version: multipath,
      author: "Example Org",
      description: "[extra] Provides multipathd and multipath tools.\n",
      compatibility: ">= v1.10.0",
      service: "ext-multipathd",
    },
    {
      name: "schematic",
      version: SCHEMATIC_ID,
      author: "Image Factory (https://factory.talos.dev)",
      description: "Virtual extension which specifies the schematic of the image built with schematic.",
      compatibility: ">= 1.0.0",
      extraInfo:
        "customization:\n    extraKernelArgs:\n        - console=ttyS0\n    systemExtensions:\n        officialExtensions:\n            - siderolabs/drbd\n",
    },
    {
      id: "modules.dep",
      name: "modules.dep",
      version: "6.18.45-talos",
      author: "Talos Machinery",
      description: "Combined modules.dep for all extensions",
    },
  ];
}

/** Three nodes: two control planes and a worker, all on `talos`, with an installer for `target`. */
export function defaultState(clientVersion: string, talos = "v1.13.4", target = "v1.14.1"): DoubleState {
  const node = (hostname: string, role: string) => ({
    hostname,
    role,
    boot: {
      current: { version: talos, image: `reg.example/installer:${talos}`, extensions: extensionSet(talos) },
    },
  });
  return {
    clientVersion,
    images: {
      [`reg.example/installer:${target}`]: { version: target, extensions: extensionSet(target, "0.14.0") },
      "reg.example/vanilla:v1.14.1": { version: "v1.14.1", extensions: [] },
    },
    etcd: { leader: "cp-1" },
    nodes: {
      "10.5.0.2": node("cp-1", "controlplane"),
      "10.5.0.3": node("cp-2", "controlplane"),
      "10.5.0.4": node("w-1", "worker"),
    },
  };
}

export interface Cluster {
  dir: string;
  statePath: string;
  env: NodeJS.ProcessEnv;
  talosctl: Talosctl;
  state(): Promise<DoubleState>;
  /** argv of every double invocation so far (globals included). */
  calls(): Promise<string[][]>;
  /** Pids of the double's invocations, in order. */
  pids(): Promise<number[]>;
  cleanup(): Promise<void>;
}

export async function makeCluster(state: DoubleState, options: TalosctlOptions = {}): Promise<Cluster> {
  const files = await doubleFiles("talosctl-double-", state, options.env);
  const talosctl = await createTalosctl({ binary: DOUBLE, ...options, env: files.env });
  return {
    ...files,
    talosctl,
    calls: async () => (await files.log()).map((l) => l.argv),
    pids: async () => (await files.log()).map((l) => l.pid),
  };
}
