/**
 * The build's use of the one confinement primitive (`ConfinedRoot` from spec): every write into
 * a work tree goes through it, and its `FS_*` codes become the build's `BUILD_*` codes here, so
 * each fault keeps one code in what `build` reports.
 */
import { type ConfineErrorCode, isTalosExtError, TalosExtError } from "@talos-ext/spec";

const BUILD_CODES: Record<ConfineErrorCode, string> = {
  FS_PATH_ESCAPE: "BUILD_PATH_ESCAPE",
  FS_PATH_CONFLICT: "BUILD_PATH_CONFLICT",
  FS_NOT_FOUND: "BUILD_PATH_MISSING",
  FS_SYMLINK_LOOP: "BUILD_SYMLINK_LOOP",
  FS_RACE: "BUILD_WORKDIR_CHANGED",
  FS_ROOT_INVALID: "BUILD_WORKDIR_CHANGED",
};

/** Re-codes a confinement error as the build's own; anything else passes unchanged. */
export function asBuildError(e: unknown): unknown {
  if (!isTalosExtError(e) || !(e.code in BUILD_CODES)) return e;
  const code = BUILD_CODES[e.code as ConfineErrorCode];
  return new TalosExtError({
    code,
    message: e.message,
    ...(e.hint === undefined ? {} : { hint: e.hint }),
    ...(e.location ? { location: e.location } : {}),
    cause: e,
  });
}

/** Runs `fn`, re-coding confinement errors as build errors. */
export async function confined<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw asBuildError(e);
  }
}
