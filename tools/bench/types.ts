import type { Timing } from "./lib.ts";

/** One line of the report: our time, optionally against a baseline tool measured in the same run. */
export interface Row {
  /** What was measured, e.g. "gzip: writeOciLayout vs tar | gzip -1". */
  measure: string;
  /** Absent when this measurement was skipped. */
  ours?: Timing;
  /** Why this one measurement could not run here (the rest of the case did). */
  skipped?: string;
  baseline?: {
    /** Short name of the baseline tool. */
    name: string;
    /** The exact command (or call) that was timed. */
    command: string;
    timing: Timing;
  };
  /** ours / baseline (medians); absent without a baseline. */
  ratio?: number;
  /** The aim from the issue, as text. */
  aim: string;
  /** Whether the aim was met; undefined when it cannot be judged. Informative only. */
  met?: boolean;
  /** Extra facts (sizes, per-unit times, request counts). */
  details?: Record<string, unknown>;
}

export type CaseStatus = "ok" | "skipped" | "crashed";

export interface CaseResult {
  name: string;
  title: string;
  status: CaseStatus;
  /** Why the case was skipped or what crashed. */
  reason?: string;
  runs: number;
  warmup: number;
  rows: Row[];
  notes: string[];
  durationMs: number;
}

export interface CaseContext {
  quick: boolean;
  /** Measured runs per contender (after the warm-up). */
  runs: number;
  warmup: number;
  log: (line: string) => void;
  note: (line: string) => void;
  fixtures: Fixtures;
}

/** Returned by a case that cannot run here; the report shows it as "skipped: <reason>". */
export class Skip extends Error {
  override name = "Skip";
}

export interface BenchCase {
  name: string;
  title: string;
  /** Runs and warm-ups when the command line does not say; default 5 (3 with --quick) and 1. */
  defaults?: (quick: boolean) => { runs?: number; warmup?: number };
  run(ctx: CaseContext): Promise<Row[]>;
}

/** Inputs shared between cases (the rootfs and its OCI layout), made on first use. */
export interface Fixtures {
  /** A generated rootfs directory (about 500 MiB, or 50 MiB with --quick). */
  rootfs(): Promise<RootfsInfo>;
  /** An OCI layout of that rootfs (gzip level 1), tagged `v1`. */
  layout(): Promise<string>;
  hasLayout(): boolean;
  /** Takes over a layout the oci-writer case wrote anyway (moved, not copied). */
  adoptLayout(dir: string): Promise<void>;
  /** A fresh, empty directory on the same file system as the fixtures; the case removes it. */
  workDir(label: string): Promise<string>;
  cleanup(): Promise<void>;
}

export interface RootfsInfo {
  dir: string;
  bytes: number;
  files: number;
  dirs: number;
  symlinks: number;
}

/** Ratio of two medians, rounded to 3 significant decimals. */
export function ratio(ours: Timing, baseline: Timing): number {
  return Math.round((ours.medianMs / baseline.medianMs) * 1000) / 1000;
}
