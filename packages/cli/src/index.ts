export { COMMANDS, EXIT, runCli } from "./cli.ts";
export type { Command, CommandContext, OptionSpec } from "./command.ts";
export { type CliIo, processIo } from "./io.ts";
