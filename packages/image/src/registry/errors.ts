import { TalosExtError } from "@talos-ext/spec";

/** Stable error codes of the registry client. */
export type RegistryErrorCode =
  | "REGISTRY_AUTH"
  | "REGISTRY_UNREACHABLE"
  | "REGISTRY_TLS"
  | "REGISTRY_HTTP"
  | "REGISTRY_TIMEOUT"
  | "REGISTRY_DIGEST_MISMATCH"
  | "REGISTRY_BAD_REFERENCE"
  | "REGISTRY_BAD_DIGEST"
  | "REGISTRY_NOT_FOUND"
  | "REGISTRY_BAD_LAYOUT"
  | "REGISTRY_CONFIG";

export function registryError(
  code: RegistryErrorCode,
  message: string,
  hint: string,
  extra: { file?: string; cause?: unknown } = {},
): TalosExtError {
  return new TalosExtError({
    code,
    message,
    hint,
    ...(extra.file ? { location: { file: extra.file } } : {}),
    ...(extra.cause !== undefined ? { cause: extra.cause } : {}),
  });
}

export { displayUrl } from "../net/faults.ts";
