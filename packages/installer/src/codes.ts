/**
 * Every code this package throws, with what it means (the same table as docs/error-codes.md,
 * sections SCHEMATIC_, FACTORY_, INSTALLER_, EXTSET_, INSPECT_ and IMAGER_).
 */
import { type SourceLocation, TalosExtError } from "@talos-ext/spec";

/** The codes and a one-line meaning each; docs/error-codes.md has a row for every key. */
export const INSTALLER_ERROR_CODES = {
  SCHEMATIC_INVALID:
    "A schematic that the Image Factory would refuse: syntax, unknown key, wrong type, bad enum, meta key > 255.",
  SCHEMATIC_NOT_CANONICAL:
    "A schematic value whose canonical form cannot be reproduced offline (line separators other than \\n, nested lists).",
  FACTORY_URL_INVALID:
    "The factory URL is not http(s), has credentials or a query, or is plain HTTP without allowInsecure.",
  FACTORY_BAD_REQUEST:
    "The factory answered 400: invalid schematic, path, version or extension for that version.",
  FACTORY_AUTH:
    "The factory answered 401 or 403: missing or wrong credentials, or another owner's schematic.",
  FACTORY_ENTERPRISE_ONLY: "The factory answered 402: the feature needs an Enterprise factory.",
  FACTORY_NOT_FOUND: "The factory answered 404: unknown schematic or Talos version.",
  FACTORY_SERVER: "The factory answered 5xx (500 internal error, 503 proxy unavailable).",
  FACTORY_HTTP: "The factory answered with another unexpected status.",
  FACTORY_UNREACHABLE: "The factory did not answer: connection refused, DNS, TLS failure or timeout.",
  FACTORY_RESPONSE_INVALID: "The factory answered 2xx with a body that is not the documented JSON.",
  INSTALLER_REF_INVALID:
    "An installer reference that is not <host>/[<platform>-]installer[-secureboot]/<64-hex id>:v<semver>.",
  INSTALLER_OPTION_UNSUPPORTED:
    "An installer option the target Talos version would ignore (factory kernel args before 1.10 without SecureBoot).",
  INSTALLER_PUSH_INVALID:
    "An installer docker-archive to push is damaged, or the push has no archive or target.",
  EXTSET_INVALID:
    "An extension-set entry or request that fails the model: bad name, unpinned image, bad constraint.",
  EXTSET_UNKNOWN_OFFICIAL: "A requested official extension is not in the Talos release's catalog.",
  EXTSET_REMOVE_UNKNOWN: "A name given to remove is not in the current set.",
  EXTSET_CONFLICT:
    "Two entries with one name but different images, or a request that both adds and removes a name.",
  EXTSET_INCOMPATIBLE: "An extension's Talos constraint excludes the target Talos version.",
  EXTSET_CATALOG_INVALID:
    "The extensions catalog image lacks image-digests/descriptions.yaml, or they are malformed.",
  EXTSET_NODE_DATA_INVALID: "Node ExtensionStatus data that is not in the documented shape.",
  INSPECT_INPUT_INVALID:
    "The inspected input is not a docker-archive, OCI layout/archive or reachable image reference.",
  INSPECT_NOT_INSTALLER:
    "The image has no usr/install/<arch>/ boot assets (vmlinuz.efi, or vmlinuz + initramfs.xz).",
  INSPECT_PE_INVALID: "vmlinuz.efi is not a PE file with the UKI sections (.initrd, .cmdline, .osrel).",
  INSPECT_CPIO_INVALID: "The initramfs holds a cpio archive that is not valid newc.",
  INSPECT_COMPRESSION: "The initramfs holds a stream that cannot be decompressed (unknown or corrupt).",
  INSPECT_EXTENSIONS_YAML_INVALID: "extensions.yaml in the initramfs is not the documented layers list.",
  INSPECT_TOO_LARGE: "An input part exceeds the inspector's budget.",
  IMAGER_PROFILE_INVALID:
    "An imager profile that fails the strict schema, or an option the target Talos version refuses.",
  IMAGER_NOT_FOUND: "Neither docker nor a local imager binary can be run.",
  IMAGER_FAILED: "The imager exited non-zero (class from its exit code on Talos >= 1.14).",
  IMAGER_OUTPUT_MISSING:
    "The imager finished but installer-<arch>[-secureboot].tar is missing or not a docker-archive.",
} as const;

/** A stable error code of this package; match on it, never on the message. */
export type InstallerErrorCode = keyof typeof INSTALLER_ERROR_CODES;

/** Builds a `TalosExtError` with one of this package's codes. */
export function installerError(
  code: InstallerErrorCode,
  message: string,
  hint: string,
  extra: {
    /** Where in the input the problem is (a file, and a line and column when known). */
    location?: SourceLocation;
    /** The error behind this one, kept as its `cause`. */
    cause?: unknown;
  } = {},
): TalosExtError {
  return new TalosExtError({
    code,
    message,
    hint,
    ...(extra.location ? { location: extra.location } : {}),
    ...(extra.cause !== undefined ? { cause: extra.cause } : {}),
  });
}
