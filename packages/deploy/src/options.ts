/**
 * Options shared by planning and applying, and their defaults. Every wait is configurable so a
 * test against the cluster double runs in milliseconds and a real cluster gets real margins.
 */
import type { Talosctl } from "@talos-ext/talosctl";
import type { InstallerContent } from "./installer.ts";

/** How long each wait may take, in ms. */
export interface DeployTimeouts {
  /** A read call (version, get, service, etcd), per call. Default 30 s. */
  callMs?: number;
  /** `--timeout` of talosctl's reboot tracking during `upgrade`. Default 15 min. */
  rebootMs?: number;
  /** `--drain-timeout` (Lifecycle path). Default 5 min. */
  drainMs?: number;
  /** After talosctl returns: until the node answers with the new version and is ready. Default 5 min. */
  readyMs?: number;
  /** Until every `ext-*` service is Running. Default 2 min. */
  servicesMs?: number;
  /** `--wait-timeout` of `talosctl health` after a control plane. Default 10 min. */
  healthMs?: number;
  /** Pause between two polls. Default 2 s. */
  pollMs?: number;
}

/** The defaults of `DeployTimeouts`. */
export const DEFAULT_TIMEOUTS: Required<DeployTimeouts> = {
  callMs: 30_000,
  rebootMs: 15 * 60_000,
  drainMs: 5 * 60_000,
  readyMs: 5 * 60_000,
  servicesMs: 2 * 60_000,
  healthMs: 10 * 60_000,
  pollMs: 2_000,
};

/** Input of `planDeploy`. */
export interface DeployPlanOptions {
  /** The client (from `connect()` or `createTalosctl()`). */
  talosctl: Talosctl;
  /** The nodes, as passed to `--nodes`; default: the talosconfig context's `nodes`. */
  nodes?: string[];
  /** The installer to roll out (its content as data). */
  installer: InstallerContent;
  /** Installers for intermediate versions, for targets outside the upgrade window of some node. */
  hopInstallers?: InstallerContent[];
  /** Workers upgraded at once (control planes always one at a time). Default 1. */
  maxParallel?: number;
  /** `--reboot-mode`. Default `default`. */
  rebootMode?: "default" | "powercycle";
  /** Drain before the reboot (Lifecycle path only; talosctl's default there). */
  drain?: boolean;
  /** Extension names the installer is allowed to drop (default: none may go). */
  remove?: string[];
  /** Extension names the installer must contain, on top of what every node runs now. */
  expect?: string[];
  /** Waits and timeouts. */
  timeouts?: DeployTimeouts;
  /** The report of an earlier run: nodes it left armed are refused. */
  previousReport?: {
    /** The earlier report's nodes; only these two fields are read. */
    nodes: {
      /** The node, as that report names it. */
      node: string;
      /** What that run left it as; `armed` (installed, not booted) refuses the node. */
      outcome: string;
    }[];
  };
}
