import { parseArgs } from "node:util";
import { TalosExtError } from "@talos-ext/spec";
import type { CliIo } from "./io.ts";

export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
  /** Shown in help as `--name VALUE`. */
  value?: string;
  description: string;
}

export interface PositionalSpec {
  name: string;
  required: boolean;
  description: string;
}

export interface CommandContext {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  io: CliIo;
  json: boolean;
}

export interface Command {
  name: string;
  summary: string;
  description: string;
  positionals: PositionalSpec[];
  options: Record<string, OptionSpec>;
  examples: string[];
  run(ctx: CommandContext): Promise<number>;
}

/** Options every command accepts. */
export const COMMON_OPTIONS: Record<string, OptionSpec> = {
  json: { type: "boolean", description: "print a machine-readable JSON result on stdout" },
  help: { type: "boolean", short: "h", description: "show this help" },
};

export function usageError(message: string, hint?: string): TalosExtError {
  return new TalosExtError({ code: "CLI_USAGE", message, hint: hint ?? "run with --help to see the usage" });
}

/** Parses argv for one command; unknown options and missing positionals are usage errors. */
export function parseCommandArgs(
  command: Command,
  argv: string[],
): { values: CommandContext["values"]; positionals: string[] } {
  const options = { ...command.options, ...COMMON_OPTIONS };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: Object.fromEntries(
        Object.entries(options).map(([name, o]) => [
          name,
          { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) },
        ]),
      ),
    });
  } catch (e) {
    throw usageError(`${command.name}: ${(e as Error).message.split("\n")[0]}`);
  }
  const values = parsed.values as CommandContext["values"];
  if (values.help) return { values, positionals: parsed.positionals };
  const required = command.positionals.filter((p) => p.required).length;
  if (parsed.positionals.length < required) {
    const missing = command.positionals.slice(parsed.positionals.length).find((p) => p.required);
    throw usageError(`${command.name}: missing argument <${missing?.name}>`);
  }
  if (parsed.positionals.length > command.positionals.length) {
    throw usageError(
      `${command.name}: unexpected argument "${parsed.positionals[command.positionals.length]}"`,
    );
  }
  return { values, positionals: parsed.positionals };
}

export function commandHelp(command: Command): string {
  const pos = command.positionals.map((p) => (p.required ? ` <${p.name}>` : ` [${p.name}]`)).join("");
  const lines = [`Usage: talos-ext ${command.name}${pos} [options]`, "", command.description, ""];
  if (command.positionals.length) {
    lines.push("Arguments:");
    for (const p of command.positionals) lines.push(`  ${p.name.padEnd(26)} ${p.description}`);
    lines.push("");
  }
  lines.push("Options:");
  for (const [name, o] of Object.entries({ ...command.options, ...COMMON_OPTIONS })) {
    const flag = `${o.short ? `-${o.short}, ` : ""}--${name}${o.type === "string" ? ` ${o.value ?? "VALUE"}` : ""}`;
    lines.push(`  ${flag.padEnd(26)} ${o.description}${o.multiple ? " (repeatable)" : ""}`);
  }
  lines.push("", "Examples:");
  for (const e of command.examples) lines.push(`  ${e}`);
  return `${lines.join("\n")}\n`;
}

/** `--x a,b --x c` -> ["a", "b", "c"]. */
export function listOption(value: CommandContext["values"][string]): string[] {
  if (value === undefined || typeof value === "boolean") return [];
  const all = Array.isArray(value) ? value : [value];
  return all
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter(Boolean);
}

/** `--build-arg K=V` (repeatable). Unlike bldr's cobra flag, commas do not split values. */
export function keyValueOption(
  value: CommandContext["values"][string],
  flag: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (value === undefined || typeof value === "boolean") return out;
  for (const item of Array.isArray(value) ? value : [value]) {
    const eq = item.indexOf("=");
    const key = eq < 0 ? item : item.slice(0, eq);
    if (!key) throw usageError(`--${flag} "${item}": expected KEY=VALUE`);
    out[key] = eq < 0 ? "" : item.slice(eq + 1);
  }
  return out;
}

export function stringOption(value: CommandContext["values"][string]): string | undefined {
  return typeof value === "string" ? value : undefined;
}
