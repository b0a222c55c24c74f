import { parseArgs } from "node:util";
import { TalosExtError } from "@talos-ext/spec";
import type { CliIo } from "./io.ts";

/** One `--option` of a command (its name is its key in {@link Command.options}). */
export interface OptionSpec {
  /** A flag (`boolean`) or an option that takes a value (`string`). */
  type: "string" | "boolean";
  /** One-letter alias, used as `-x`. */
  short?: string;
  /** The option may be given several times; its value is then an array. */
  multiple?: boolean;
  /** Shown in help as `--name VALUE`. */
  value?: string;
  /** One line of help text. */
  description: string;
}

/** One positional argument of a command. */
export interface PositionalSpec {
  /** Shown in usage as `<name>` (required) or `[name]` (optional). */
  name: string;
  /** Whether a missing argument is a usage error. Required ones come first. */
  required: boolean;
  /** One line of help text. */
  description: string;
}

/** What a command's `run` gets: its parsed arguments and where to read and write. */
export interface CommandContext {
  /** Option values by name, as `node:util` parseArgs gives them (absent when not given). */
  values: Record<string, string | boolean | string[] | undefined>;
  /** Positional arguments, in order (their count already checked against the command's). */
  positionals: string[];
  /** Where the command writes its output, reads its environment and asks questions. */
  io: CliIo;
  /** `--json` was given: print one machine-readable result on stdout and nothing else there. */
  json: boolean;
}

/** One `talos-ext` subcommand: its help (which docs/cli.md is generated from) and what it does. */
export interface Command {
  /** The word after `talos-ext` that selects it. */
  name: string;
  /** One line, for the command list of `talos-ext --help` and the reference's table. */
  summary: string;
  /** The paragraph of its `--help`. */
  description: string;
  /** Its positional arguments, in order. */
  positionals: PositionalSpec[];
  /** Its options by name, besides the common `--json` and `--help`. */
  options: Record<string, OptionSpec>;
  /** Example command lines for its `--help`. */
  examples: string[];
  /** Runs the command and resolves with its exit code (see `EXIT`); a user error is thrown as TalosExtError. */
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
