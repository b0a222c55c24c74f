import { type Command, commandHelp } from "./command.ts";

/**
 * docs/cli.md: the command reference, made from the same definitions `--help` prints, so the
 * docs cannot drift from the CLI (a test compares the committed file with this).
 */
export function commandReference(commands: readonly Command[]): string {
  const out = [
    "# Command reference",
    "",
    "<!-- Generated from the CLI's command definitions: `pnpm --filter @talos-ext/cli gen:reference`. -->",
    "",
    "Every command takes `--help` (this text) and `--json` (a machine-readable result on stdout).",
    "Exit codes: `0` clean, `1` findings or failure, `2` usage error. Errors carry a stable code",
    "(see [error-codes.md](error-codes.md)).",
    "",
    "| Command | What it does |",
    "| --- | --- |",
    ...commands.map((c) => `| [\`${c.name}\`](#talos-ext-${c.name}) | ${c.summary.replace(/\|/g, "\\|")} |`),
    "",
  ];
  for (const c of commands) {
    out.push(`## talos-ext ${c.name}`, "", c.summary, "", "```text", commandHelp(c).trimEnd(), "```", "");
  }
  return out.join("\n");
}
