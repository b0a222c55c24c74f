import { type SourceLocation, TalosExtError } from "@talos-ext/spec";

/** Every failure of `update` is an `UPDATE_*` error, so callers can tell them apart from build errors. */
export function updateError(
  code: `UPDATE_${string}`,
  message: string,
  hint: string,
  extra: { location?: SourceLocation; cause?: unknown; diagnostics?: TalosExtError["diagnostics"] } = {},
): TalosExtError {
  return new TalosExtError({ code, message, hint, ...extra });
}
