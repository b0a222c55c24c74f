import { describe, expect, test } from "vitest";
import {
  allowedPathPrefixes,
  isPathAllowed,
  isPathAllowedOnBoundary,
  matchVersionFormat,
  VERSION_FORMATS,
} from "./rules.ts";

describe("allowedPathPrefixes", () => {
  test("≤ 1.9 is the pre-usr-merge list", () => {
    const p = allowedPathPrefixes("v1.9.5");
    expect(isPathAllowed("/lib/modules/6.1/x.ko", p)).toBe(true);
    expect(isPathAllowed("/usr/lib/modules/6.1/x.ko", p)).toBe(false);
    expect(isPathAllowed("/sbin/ldconfig", p)).toBe(true);
    expect(allowedPathPrefixes("1.3.0")).toEqual(p);
  });

  test("1.10 and 1.11 are usr-merged, without the arm64 loader", () => {
    for (const v of ["v1.10.0", "1.11.6"]) {
      const p = allowedPathPrefixes(v);
      expect(isPathAllowed("/usr/lib/modules/6.1/x.ko", p)).toBe(true);
      expect(isPathAllowed("/lib/modules/6.1/x.ko", p)).toBe(false);
      expect(isPathAllowed("/usr/lib/ld-linux-aarch64.so.1", p)).toBe(false);
    }
  });

  test("1.12 adds the aarch64 loader; 1.13 adds ld.so.conf/cache, nvidia tools and nvme", () => {
    const p12 = allowedPathPrefixes("v1.12.0-beta.0");
    expect(isPathAllowed("/usr/lib/ld-linux-aarch64.so.1", p12)).toBe(true);
    expect(isPathAllowed("/usr/bin/nvme", p12)).toBe(false);
    const p13 = allowedPathPrefixes("v1.13.2");
    for (const path of [
      "/usr/bin/nvme",
      "/etc/ld.so.conf",
      "/etc/ld.so.cache",
      "/usr/bin/nvidia-smi",
      "/usr/bin/nvidia-cdi-hook",
    ]) {
      expect(isPathAllowed(path, p13)).toBe(true);
    }
    expect(allowedPathPrefixes("v1.14.0")).toEqual(p13);
  });

  test("the raw prefix test accepts what the boundary test does not", () => {
    const p = allowedPathPrefixes("v1.14.0");
    expect(isPathAllowed("/usr/localfoo", p)).toBe(true);
    expect(isPathAllowedOnBoundary("/usr/localfoo", p)).toBe(false);
    expect(isPathAllowedOnBoundary("/usr/local/bin/x", p)).toBe(true);
    expect(isPathAllowedOnBoundary("/usr/bin/nvme", p)).toBe(true);
  });
});

describe("VERSION_FORMATS", () => {
  test("five formats with the examples from extensions-validator", () => {
    expect(Object.keys(VERSION_FORMATS)).toEqual([
      "semver",
      "date",
      "buildArg",
      "commitBuildArg",
      "partialSemver",
    ]);
    expect(matchVersionFormat("v0.13.0-rc.1")).toBe("semver");
    expect(matchVersionFormat("20240101.1")).toBe("date");
    // The semver pattern's prerelease part also swallows build-arg versions; any match counts.
    expect(VERSION_FORMATS.buildArg.test("535.129.03-v1.8.0-alpha.0-10-g336fa0f-dirty")).toBe(true);
    expect(matchVersionFormat("535.129.03-v1.8.0-alpha.0-10-g336fa0f-dirty")).toBe("semver");
    expect(matchVersionFormat("5815ee3-v1.8.0-alpha.0-10-g336fa0f")).toBe("commitBuildArg");
    expect(VERSION_FORMATS.semver.test("5815ee3-v1.8.0")).toBe(false);
    expect(matchVersionFormat("v4.3")).toBe("partialSemver");
    expect(matchVersionFormat("1.2.3\n")).toBeUndefined();
    expect(matchVersionFormat("")).toBeUndefined();
  });
});
