/** The stable error codes of `@talos-ext/config`; docs/error-codes.md is tested against this list. */
export const CONFIG_ERROR_CODES = [
  "CONFIG_NOT_FOUND",
  "CONFIG_UNREADABLE",
  "CONFIG_INVALID",
  "CONFIG_UNKNOWN_KEY",
  "CONFIG_INVALID_VALUE",
  "CONFIG_MISSING_KEY",
  "CONFIG_INLINE_SECRET",
  "CONFIG_BAD_OVERRIDE",
] as const;

/** One of `CONFIG_ERROR_CODES`. */
export type ConfigErrorCode = (typeof CONFIG_ERROR_CODES)[number];
