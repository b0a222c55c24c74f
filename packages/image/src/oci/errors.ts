import { type SourceLocation, TalosExtError } from "@talos-ext/spec";

/** Builds an `OCI_*` error; every call site states what went wrong and what to do about it. */
export function ociError(
  code: `OCI_${string}`,
  message: string,
  hint: string,
  extra: { location?: SourceLocation; cause?: unknown } = {},
): TalosExtError {
  return new TalosExtError({ code, message, hint, ...extra });
}

/** Node's fs errors carry a string `code`; anything else is not an fs error. */
export function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}
