import { type Diagnostic, formatDiagnostic, sortDiagnostics } from "@talos-ext/spec";
import type { CliIo } from "./io.ts";

/** Prints findings for people: one block per diagnostic, then a count line. */
export function printDiagnostics(io: CliIo, diagnostics: Diagnostic[]): void {
  const sorted = sortDiagnostics(diagnostics);
  for (const d of sorted) io.stderr(`${formatDiagnostic(d)}\n`);
  const errors = sorted.filter((d) => d.severity === "error").length;
  const warnings = sorted.filter((d) => d.severity === "warning").length;
  if (sorted.length) io.stderr(`${errors} error(s), ${warnings} warning(s)\n`);
}

/** Same diagnostic reported for several platforms collapses to one. */
export function dedupeDiagnostics(list: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  const out: Diagnostic[] = [];
  for (const d of list) {
    const key = JSON.stringify([d.code, d.severity, d.file, d.line, d.column, d.message]);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(d);
  }
  return out;
}

export function printJson(io: CliIo, value: unknown): void {
  io.stdout(`${JSON.stringify(value, null, 2)}\n`);
}
