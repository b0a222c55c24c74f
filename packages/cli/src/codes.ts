/**
 * The stable error codes the `talos-ext` command adds to those of the libraries.
 * docs/error-codes.md is tested against this list (every code documented, every documented code
 * listed), and a test checks that every code literal in the source is listed here.
 */
export const CLI_ERROR_CODES = [
  "CLI_DEPLOY_NOT_CONFIRMED",
  "CLI_DUMP_FAILED",
  "CLI_GRAPH_FAILED",
  "CLI_NEW_DIR_EXISTS",
  "CLI_NEW_NAME_TAKEN",
  "CLI_NEW_WRITE_FAILED",
  "CLI_NODE_SETS_DIFFER",
  "CLI_NX_BUILD_FAILED",
  "CLI_UNKNOWN_COMMAND",
  "CLI_USAGE",
] as const;

/** One of `CLI_ERROR_CODES`. */
export type CliErrorCode = (typeof CLI_ERROR_CODES)[number];
