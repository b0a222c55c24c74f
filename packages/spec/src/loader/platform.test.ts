import { describe, expect, it } from "vitest";
import { isTalosExtError } from "../errors.ts";
import type { Platform } from "../schema/index.ts";
import { assertPlatform, buildArgVariables, builtinVariables, PLATFORMS } from "./platform.ts";

describe("builtinVariables", () => {
  it("matches bldr's table for linux/amd64 exactly", () => {
    expect(builtinVariables("linux/amd64")).toStrictEqual({
      LDFLAGS: "-s",
      VENDOR: "talos",
      SYSROOT: "/talos",
      PATH: "/bin:/usr/bin:/sbin:/usr/sbin",
      BUILD: "x86_64-linux-musl",
      HOST: "x86_64-linux-musl",
      ARCH: "x86_64",
      TARGET: "x86_64-talos-linux-musl",
      CFLAGS: "-O2 -g0 -march=x86-64-v2 -mtune=generic",
      CXXFLAGS: "-O2 -g0 -march=x86-64-v2 -mtune=generic",
    });
  });

  it("matches bldr's table for linux/arm64 exactly", () => {
    expect(builtinVariables("linux/arm64")).toStrictEqual({
      LDFLAGS: "-s",
      VENDOR: "talos",
      SYSROOT: "/talos",
      PATH: "/bin:/usr/bin:/sbin:/usr/sbin",
      BUILD: "aarch64-linux-musl",
      HOST: "aarch64-linux-musl",
      ARCH: "aarch64",
      TARGET: "aarch64-talos-linux-musl",
      CFLAGS: "-O2 -g0",
      CXXFLAGS: "-O2 -g0",
    });
  });

  it("takes BUILD and HOST from the build platform, the rest from the target", () => {
    const v = builtinVariables("linux/arm64", "linux/amd64");
    expect(v.HOST).toBe("x86_64-linux-musl");
    expect(v.BUILD).toBe("x86_64-linux-musl");
    expect(v.ARCH).toBe("aarch64");
    expect(v.TARGET).toBe("aarch64-talos-linux-musl");
    expect(v.CFLAGS).toBe("-O2 -g0");
  });

  it("has no TOOLCHAIN, PKG_NAME or SOURCE_DATE_EPOCH", () => {
    for (const p of PLATFORMS) {
      const v = builtinVariables(p);
      expect(Object.keys(v)).not.toContain("TOOLCHAIN");
      expect(Object.keys(v)).not.toContain("PKG_NAME");
      expect(Object.keys(v)).not.toContain("SOURCE_DATE_EPOCH");
      expect(v.PATH).not.toContain("toolchain");
    }
  });

  it("rejects any other platform with bldr's message", () => {
    let caught: unknown;
    try {
      builtinVariables("linux/riscv64" as Platform);
    } catch (e) {
      caught = e;
    }
    expect(isTalosExtError(caught)).toBe(true);
    if (!isTalosExtError(caught)) return;
    expect(caught.code).toBe("LOAD_PLATFORM_UNSUPPORTED");
    expect(caught.message).toContain('platform "linux/riscv64" is not defined');
    expect(() => assertPlatform("darwin/arm64")).toThrow(/not defined/);
  });

  it("knows exactly two platforms", () => {
    expect([...PLATFORMS]).toStrictEqual(["linux/amd64", "linux/arm64"]);
  });
});

describe("buildArgVariables", () => {
  it("prefixes every build arg with BUILD_ARG_ and keeps the case of the name", () => {
    expect(buildArgVariables({ TAG: "v1", lower: "x", SOURCE_DATE_EPOCH: "1" })).toStrictEqual({
      BUILD_ARG_TAG: "v1",
      BUILD_ARG_lower: "x",
      BUILD_ARG_SOURCE_DATE_EPOCH: "1",
    });
    expect(buildArgVariables(undefined)).toStrictEqual({});
  });
});
