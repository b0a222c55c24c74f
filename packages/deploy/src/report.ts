/**
 * The run's report: per node what happened, each step's duration, the node's final state, and
 * the error that stopped the run. JSON for machines, `formatReport` for people.
 */
import type { Diagnostic } from "@talos-ext/spec";
import type { DeployStep, NodeOutcome } from "./errors.ts";

/** One step of one node, timed. */
export interface StepRecord {
  /** The step. */
  step: DeployStep;
  /** The version the step was for (hops). */
  version?: string;
  /** When it started (ISO 8601). */
  startedAt: string;
  /** How long it took. */
  durationMs: number;
  /** Whether it passed. */
  ok: boolean;
}

/** What happened to one node. */
export interface NodeReport {
  /** The node. */
  node: string;
  /** Its role. */
  role: "controlplane" | "worker";
  /** Its version before the run. */
  fromVersion: string;
  /** The target version. */
  targetVersion: string;
  /** Its version at the end, when it was read. */
  finalVersion?: string;
  /** What it was left as (`pending`: never touched). */
  outcome: NodeOutcome;
  /** Each step, in order. */
  steps: StepRecord[];
  /** Wall time spent on this node. */
  durationMs: number;
  /** The error of this node, if it failed. */
  error?: Record<string, unknown>;
  /** The rollback's error, when rollbackOnFailure did not bring it back. */
  rollbackError?: Record<string, unknown>;
}

/** The report of `applyPlan`. */
export interface DeployReport {
  /** Every node upgraded and verified, or skipped. */
  ok: boolean;
  /** The run was interrupted (first abort: after the node's step; second: at once). */
  aborted: boolean;
  /** When the run started (ISO 8601). */
  startedAt: string;
  /** When the run finished (ISO 8601). */
  finishedAt: string;
  /** Wall time of the run. */
  durationMs: number;
  /** The target installer's reference and digest. */
  installer: {
    /** The installer image reference the nodes were upgraded with. */
    reference: string;
    /** Its digest, when the plan pinned one. */
    digest?: string;
    /** The Talos version the installer holds: the target version of every node. */
    talosVersion: string;
  };
  /** Every node of the plan, in plan order. */
  nodes: NodeReport[];
  /** The error that stopped the run (as JSON: code, message, hint, node, step, nodeState). */
  error?: Record<string, unknown>;
  /** The plan's warnings. */
  warnings: Diagnostic[];
}

/** Counts of nodes per outcome. */
export function outcomeCounts(report: DeployReport): Partial<Record<NodeOutcome, number>> {
  const counts: Partial<Record<NodeOutcome, number>> = {};
  for (const n of report.nodes) counts[n.outcome] = (counts[n.outcome] ?? 0) + 1;
  return counts;
}

function ms(n: number): string {
  return n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(1)} s`;
}

/** A readable summary: one line per node with its outcome and step timings, then the error. */
export function formatReport(report: DeployReport): string {
  const lines: string[] = [];
  const state = report.ok ? "done" : report.aborted ? "interrupted" : "FAILED";
  lines.push(
    `deploy ${report.installer.reference} (Talos ${report.installer.talosVersion}): ${state} in ${ms(report.durationMs)}`,
  );
  const width = Math.max(4, ...report.nodes.map((n) => n.node.length));
  for (const n of report.nodes) {
    const steps = n.steps.map((s) => `${s.step}${s.ok ? "" : "!"} ${ms(s.durationMs)}`).join(", ");
    const versions =
      n.outcome === "skipped" ? n.fromVersion : `${n.fromVersion} -> ${n.finalVersion ?? n.targetVersion}`;
    lines.push(
      `  ${n.node.padEnd(width)}  ${n.role.padEnd(12)} ${n.outcome.padEnd(19)} ${versions}${steps ? `  [${steps}]` : ""}`,
    );
  }
  const counts = Object.entries(outcomeCounts(report))
    .map(([k, v]) => `${v} ${k}`)
    .join(", ");
  lines.push(`  ${counts}`);
  if (report.error) {
    const e = report.error;
    lines.push(`error ${e.code}: ${e.message}`);
    if (e.hint) lines.push(`  hint: ${e.hint}`);
  }
  for (const w of report.warnings) lines.push(`warning ${w.code}: ${w.message}`);
  return `${lines.join("\n")}\n`;
}
