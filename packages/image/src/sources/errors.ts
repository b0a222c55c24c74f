import { TalosExtError } from "@talos-ext/spec";

export function sourceError(
  code: `SOURCE_${string}`,
  message: string,
  hint: string,
  extra: { cause?: unknown } = {},
): TalosExtError {
  return new TalosExtError({ code, message, hint, ...extra });
}
