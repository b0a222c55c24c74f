/**
 * The stable error codes of the Nx plugin and its generator.
 * docs/error-codes.md is tested against this list (every code documented, every documented code
 * listed), and a test checks that every code literal in the source is listed here.
 */
export const NX_ERROR_CODES = ["SCAFFOLD_BAD_BUILDER", "SCAFFOLD_DIR_EXISTS", "SCAFFOLD_NO_TREE"] as const;

/** One of `NX_ERROR_CODES`. */
export type NxErrorCode = (typeof NX_ERROR_CODES)[number];
