export { COMMANDS, EXIT, runCli } from "./cli.ts";
export { CLI_ERROR_CODES, type CliErrorCode } from "./codes.ts";
export type { Command, CommandContext, OptionSpec } from "./command.ts";
export { type CliIo, processIo } from "./io.ts";
