/**
 * The built-in template variables bldr derives from the build and target platforms
 * (bldr `internal/pkg/environment`). Only these are also set as environment variables in a build.
 */
import { TalosExtError } from "../errors.ts";
import { PLATFORMS, type Platform } from "../schema/index.ts";

/** The only platforms bldr knows (shared with the schema); anything else is rejected. */
export { PLATFORMS };

interface PlatformFacts {
  /** The GNU machine name (`ARCH`). */
  arch: string;
  /** Build-machine triple (`BUILD` and, as bldr does, also `HOST`). */
  build: string;
  /** Target triple (`TARGET`). */
  target: string;
  /** `CFLAGS` / `CXXFLAGS` for the target: amd64 pins the x86-64-v2 level, arm64 does not. */
  cflags: string;
}

const FACTS: Record<Platform, PlatformFacts> = {
  "linux/amd64": {
    arch: "x86_64",
    build: "x86_64-linux-musl",
    target: "x86_64-talos-linux-musl",
    cflags: "-O2 -g0 -march=x86-64-v2 -mtune=generic",
  },
  "linux/arm64": {
    arch: "aarch64",
    build: "aarch64-linux-musl",
    target: "aarch64-talos-linux-musl",
    cflags: "-O2 -g0",
  },
};

/** Whether `value` is one of {@link PLATFORMS}. */
export function isPlatform(value: string): value is Platform {
  return (PLATFORMS as readonly string[]).includes(value);
}

/** Throws `LOAD_PLATFORM_UNSUPPORTED` with bldr's wording for anything but the two known platforms. */
export function assertPlatform(value: string): Platform {
  if (isPlatform(value)) return value;
  throw new TalosExtError({
    code: "LOAD_PLATFORM_UNSUPPORTED",
    message: `unsupported platform ${value}: platform "${value}" is not defined`,
    hint: `use one of ${PLATFORMS.join(", ")}`,
  });
}

/**
 * Defaults merged with build-platform and target-platform variables. `HOST` describes the build
 * machine, not the target (bldr sets it from the build platform). There is no `TOOLCHAIN`, and
 * neither `PKG_NAME` nor `SOURCE_DATE_EPOCH` is a template variable.
 */
export function builtinVariables(
  platform: Platform,
  buildPlatform: Platform = platform,
): Record<string, string> {
  const target: PlatformFacts = FACTS[assertPlatform(platform)];
  const build: PlatformFacts = FACTS[assertPlatform(buildPlatform)];
  return {
    LDFLAGS: "-s",
    VENDOR: "talos",
    SYSROOT: "/talos",
    PATH: "/bin:/usr/bin:/sbin:/usr/sbin",
    BUILD: build.build,
    HOST: build.build,
    ARCH: target.arch,
    TARGET: target.target,
    CFLAGS: target.cflags,
    CXXFLAGS: target.cflags,
  };
}

/** `--build-arg NAME=VALUE` becomes the template variable `BUILD_ARG_NAME` (case kept). */
export function buildArgVariables(buildArgs: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(buildArgs ?? {})) out[`BUILD_ARG_${name}`] = value;
  return out;
}
