/** The plan as a table for people (JSON is the plan object itself). */
import type { DeployPlan } from "./plan.ts";

function changes(p: DeployPlan["nodes"][number]): string {
  const d = p.extensions;
  const parts = [
    ...d.added.map((c) => `+${c.name} ${c.to}`),
    ...d.changed.map((c) => `~${c.name} ${c.from}->${c.to}`),
    ...d.removed.map((c) => `-${c.name} ${c.from}`),
  ];
  return parts.length ? parts.join(" ") : "no change";
}

/** The plan as text: a row per node, then per node the exact talosctl commands, then warnings. */
export function formatPlan(plan: DeployPlan): string {
  const rows = [["NODE", "ROLE", "CURRENT", "TARGET", "ACTION", "REBOOT", "EXTENSIONS"]];
  for (const p of plan.nodes) {
    const action =
      p.action === "skip"
        ? "skip (at target)"
        : p.hops.length > 1
          ? `upgrade (${p.hops.length} hops)`
          : "upgrade";
    rows.push([p.node, p.role, p.currentVersion, p.targetVersion, action, p.rebootMode, changes(p)]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const table = rows.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("   ")
      .trimEnd(),
  );
  const out = [
    `installer ${plan.installer.reference}${plan.installer.digest ? `@${plan.installer.digest}` : ""} (Talos ${plan.installer.talosVersion}, talosctl ${plan.clientVersion})`,
    ...table,
    "",
    "order:",
  ];
  plan.phases.forEach((ph, i) => {
    const prefix = plan.phases.length > 1 ? `  phase ${i + 1} (${ph.version}): ` : "  ";
    const cps = ph.controlPlanes.map((n) => n);
    const parts = [...cps, ...ph.workerBatches.map((b) => (b.length > 1 ? `[${b.join(" ")}]` : b[0]!))];
    out.push(`${prefix}${parts.join(" -> ") || "(nothing)"}`);
  });
  out.push("", "commands:");
  for (const p of plan.nodes) for (const h of p.hops) out.push(`  ${h.command.map(shellQuote).join(" ")}`);
  if (plan.nodes.every((p) => p.hops.length === 0)) out.push("  (none: every node is at the target)");
  for (const w of plan.warnings) out.push(`warning ${w.code}: ${w.message}`);
  return `${out.join("\n")}\n`;
}

/** Quotes an argv word for a POSIX shell when it needs it. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
