import { type Diagnostic, formatDiagnostic, isTalosExtError } from "@talos-ext/spec";
import { type Command, commandHelp, parseCommandArgs } from "./command.ts";
import { buildCommand } from "./commands/build.ts";
import { completionCommand } from "./commands/completion.ts";
import { deployCommand } from "./commands/deploy.ts";
import { doctorCommand } from "./commands/doctor.ts";
import { dumpCommand } from "./commands/dump.ts";
import { graphCommand } from "./commands/graph.ts";
import { inspectCommand } from "./commands/inspect.ts";
import { installerCommand } from "./commands/installer.ts";
import { lintCommand } from "./commands/lint.ts";
import { newCommand } from "./commands/new.ts";
import { pushCommand } from "./commands/push.ts";
import { schematicCommand } from "./commands/schematic.ts";
import { updateCommand } from "./commands/update.ts";
import { validateCommand } from "./commands/validate.ts";
import { type CliIo, processIo } from "./io.ts";
import { VERSION } from "./version.ts";

/** Every `talos-ext` command, in the order `--help` and the command reference list them. */
export const COMMANDS: Command[] = [
  lintCommand,
  validateCommand,
  graphCommand,
  dumpCommand,
  buildCommand,
  pushCommand,
  inspectCommand,
  schematicCommand,
  installerCommand,
  updateCommand,
  newCommand,
  deployCommand,
  doctorCommand,
  completionCommand(() => COMMANDS),
];

/** Exit codes: 0 success / clean, 1 findings or failure, 2 usage error. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    "talos-ext: take a Talos system extension from source to running nodes.",
    "",
    "Usage: talos-ext <command> [options]",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)} ${c.summary}`),
    "",
    "Every command takes --help (with examples) and --json.",
    "Exit codes: 0 clean, 1 findings or failure, 2 usage error.",
    "",
    "Examples:",
    "  talos-ext lint --root extensions",
    "  talos-ext validate dist/multipath-tools --talos-version v1.13.9",
    "",
  ].join("\n");
}

/** Runs the CLI and returns the exit code; never throws. */
export async function runCli(argv: string[], io: CliIo = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    if (name === "help" && rest[0]) return runCli([rest[0], "--help"], io);
    io.stdout(mainHelp());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === "--version" || name === "-v") {
    io.stdout(`talos-ext ${VERSION}\n`);
    return EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  const json = rest.includes("--json");
  if (!command) {
    return fail(
      io,
      json,
      [
        {
          code: "CLI_UNKNOWN_COMMAND",
          severity: "error",
          message: `unknown command "${name}"`,
          hint: `commands: ${COMMANDS.map((c) => c.name).join(", ")}`,
        },
      ],
      EXIT.usage,
    );
  }
  try {
    const { values, positionals } = parseCommandArgs(command, rest);
    if (values.help) {
      io.stdout(commandHelp(command));
      return EXIT.ok;
    }
    return await command.run({ values, positionals, io, json: values.json === true });
  } catch (e) {
    if (isTalosExtError(e)) {
      const exit = e.code === "CLI_USAGE" ? EXIT.usage : EXIT.failure;
      const inner = e.diagnostics.filter((d) => d.code !== e.code || d.message !== e.message);
      return fail(io, json, [...inner, e.toDiagnostic()], exit);
    }
    // Not a user error: a bug. Show everything that helps to report it.
    io.stderr(`internal error: ${(e as Error)?.stack ?? String(e)}\n`);
    return EXIT.failure;
  }
}

/** Prints every finding (the error's own last, as the summary) and returns the exit code. */
function fail(io: CliIo, json: boolean, list: Diagnostic[], exit: number): number {
  if (json) io.stdout(`${JSON.stringify({ ok: false, diagnostics: list }, null, 2)}\n`);
  for (const item of list) io.stderr(`${formatDiagnostic(item)}\n`);
  return exit;
}
