/**
 * Which error code each tar fault gets. The reader knows the fault; the caller knows its user:
 * `validate` speaks `EXT_*`, the image builder `OCI_*`. One fault, one code, per caller.
 */

/** The faults the tar reader can find, each mapped to one stable error code by the caller. */
export interface TarErrorCodes {
  /** Malformed or truncated archive data (bad checksum, bad number, early end). */
  corrupt: string;
  /** A compression (xz, bzip2) or tar feature (multi-volume, reading a sparse body) we do not read. */
  unsupported: string;
  /** A member whose own fields are invalid: a NUL in a name, an empty symlink target, no name. */
  entry: string;
  /** A member name that is absolute or uses `..` (extract: any `..`; validate: one leaving the root). */
  traversal: string;
  /** A relative symlink whose target climbs above the archive root. */
  symlinkEscape: string;
  /** A member placed below a symlink the same archive created (`out -> /etc`, then `out/passwd`). */
  throughSymlink: string;
  /** A hard link to a missing or later member, to a directory, or through a symlink. */
  hardlink: string;
}

/** The codes `@talos-ext/spec` uses when reading extension images (`validate`). */
export const EXT_TAR_CODES: TarErrorCodes = {
  corrupt: "EXT_TAR_INVALID",
  unsupported: "EXT_TAR_UNSUPPORTED",
  entry: "EXT_TAR_INVALID",
  traversal: "EXT_PATH_TRAVERSAL",
  symlinkEscape: "EXT_SYMLINK_ESCAPES",
  throughSymlink: "EXT_WRITE_THROUGH_SYMLINK",
  hardlink: "EXT_HARDLINK_INVALID",
};

/** The codes the image side (layers, engine output) uses: every path fault is `OCI_PATH_TRAVERSAL`. */
export const OCI_TAR_CODES: TarErrorCodes = {
  corrupt: "OCI_TAR_CORRUPT",
  unsupported: "OCI_TAR_UNSUPPORTED",
  entry: "OCI_BAD_ENTRY",
  traversal: "OCI_PATH_TRAVERSAL",
  symlinkEscape: "OCI_PATH_TRAVERSAL",
  throughSymlink: "OCI_PATH_TRAVERSAL",
  hardlink: "OCI_PATH_TRAVERSAL",
};
