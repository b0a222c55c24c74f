import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { TalosExtError } from "../errors.ts";
import { parseRange, satisfiesConstraint } from "./constraint.ts";
import { compareSemver, parseSemver, parseTalosVersion } from "./semver.ts";

describe("satisfiesConstraint", () => {
  test.each([
    // [constraint, Talos version, ok]
    ["", "v1.14.0", true],
    [">= v1.9.0", "v1.14.0-beta.1", true],
    [">= v1.10.0", "v1.9.5", false],
    [">= 1.14.0", "v1.14.0-beta.1", true],
    ["< 1.14.0", "v1.14.0-beta.1", false],
    ["<1.14.0", "1.13.9", true],
    ["1.x", "v1.14.0", true],
    ["1.x", "v2.0.0", false],
    [">=1.2.x", "v1.2.0", true],
    [">=1.2.x", "v1.1.9", false],
    ["<=1.13.x", "v1.13.9", true],
    ["<=1.13.x", "v1.14.0", false],
    [">1.13.x", "v1.14.0", true],
    [">1.13.x", "v1.13.5", false],
    ["!=1.13.x", "v1.13.2", false],
    [">1.0.0 <2.0.0 || >=3.0.0", "v1.5.0", true],
    [">1.0.0 <2.0.0 || >=3.0.0", "v2.5.0", false],
    [">1.0.0 <2.0.0 || >=3.0.0", "v3.0.0", true],
    ["!1.14.0", "v1.14.0", false],
    ["==v1.14.0", "v1.14.0-rc.1", true],
    ["=1.14.0", "1.14.1", false],
    [">= v1.14.0-alpha.0", "v1.14.0", true],
    ["> v1.14.0-alpha.0 <= v1.14.0", "v1.14.0-beta.1", true],
    // `v` is stripped before digits only, and Talos's tolerant version parsing accepts "v1.14".
    [">= v1.10.0", "v1.14", true],
  ])("%j on %s → %s", (constraint, version, ok) => {
    const r = satisfiesConstraint(constraint, version);
    expect(r.ok).toBe(ok);
    if (!ok) {
      expect(r.reason).toBe("unsatisfied");
      const shown = version.replace(/^v/, "").replace(/^(\d+\.\d+)$/, "$1.0");
      expect(r.error).toBe(`version constraint ${constraint} can't be satisfied with Talos version ${shown}`);
    }
  });

  test.each([
    [
      "1.10",
      'Could not parse Range "1.10": Could not parse version "1.10" in "1.10": No Major.Minor.Patch elements found',
    ],
    ["^1.0.0", 'Could not parse Range "^1.0.0": Could not parse comparator "^" in "^1.0.0"'],
    ["~> 1.0.0", 'Could not parse Range "~>1.0.0": Could not parse comparator "~>" in "~>1.0.0"'],
    ["|| >=1.0.0", "First element in range is '||'"],
    [">=1.0.0 ||", "Last element in range is '||'"],
    [
      ">= v1.10",
      'Could not parse Range ">=1.10": Could not parse version "1.10" in ">=1.10": No Major.Minor.Patch elements found',
    ],
    ["latest", 'Could not get version from string: "latest"'],
    [
      ">=01.0.0",
      'Could not parse Range ">=01.0.0": Could not parse version "01.0.0" in ">=01.0.0": Major number must not contain leading zeroes "01"',
    ],
    // A whitespace-only constraint is not "empty" to Talos; blang sees no parts at all.
    ["   ", "Last element in range is '||'"],
  ])("%j is a parse error", (constraint, blang) => {
    const r = satisfiesConstraint(constraint, "v1.14.0");
    expect(r).toEqual({
      ok: false,
      reason: "invalid",
      error: `error parsing Talos version constraint: ${blang}`,
    });
  });

  test("blang quirks are kept: one-character words vanish, unknown operators on wildcards mean '='", () => {
    // "x" is one character, so the tokenizer drops it and only ">=1.0.0" remains.
    expect(satisfiesConstraint(">=1.0.0 x", "v1.14.0").ok).toBe(true);
    expect(satisfiesConstraint("~1.14.x", "v1.14.0").ok).toBe(true);
    expect(satisfiesConstraint("~1.14.x", "v1.14.1").ok).toBe(false);
    // "!=1.13.x" expands to "<1.13.0 >=1.14.0" ANDed together, which nothing satisfies.
    expect(satisfiesConstraint("!=1.13.x", "v1.14.0").ok).toBe(false);
    expect(satisfiesConstraint("!=1.13.x", "v1.12.0").ok).toBe(false);
  });

  test("an invalid Talos version is refused with a stable code", () => {
    expect(() => satisfiesConstraint(">=1.0.0", "latest")).toThrow(TalosExtError);
    expect(() => satisfiesConstraint(">=1.0.0", "latest")).toThrow(
      expect.objectContaining({ code: "EXT_TALOS_VERSION_INVALID" }),
    );
    expect(() => parseTalosVersion("1.x")).toThrow(TalosExtError);
    expect(() => parseTalosVersion("1.x")).toThrow(
      expect.objectContaining({ code: "EXT_TALOS_VERSION_INVALID" }),
    );
  });

  test("property: '>= V' holds exactly when the core version is not below V", () => {
    const ver = fc.tuple(fc.nat(30), fc.nat(30), fc.nat(30));
    fc.assert(
      fc.property(ver, ver, fc.boolean(), ([a, b, c], [x, y, z], pre) => {
        const talos = `v${x}.${y}.${z}${pre ? "-beta.1" : ""}`;
        const r = satisfiesConstraint(`>= v${a}.${b}.${c}`, talos);
        const expected = compareSemver(parseSemver(`${x}.${y}.${z}`), parseSemver(`${a}.${b}.${c}`)) >= 0;
        expect(r.ok).toBe(expected);
        const lt = satisfiesConstraint(`< ${a}.${b}.${c}`, talos);
        expect(lt.ok).toBe(!expected);
      }),
    );
  });

  test("property: arbitrary text either parses or fails with Go's message, never with a bug", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        let range: ReturnType<typeof parseRange> | undefined;
        let error: unknown;
        try {
          range = parseRange(s);
        } catch (e) {
          error = e;
        }
        if (range) {
          expect(typeof range(parseSemver("1.14.0"))).toBe("boolean");
          return;
        }
        // A plain Error with a message, not a TypeError/RangeError from a bug in the parser.
        expect(error).toBeInstanceOf(Error);
        expect((error as Error).constructor).toBe(Error);
        expect((error as Error).message).not.toBe("");
        // And the public entry point turns it into a result, never an exception.
        expect(satisfiesConstraint(s === "" ? "x" : s, "v1.14.0")).toMatchObject({
          ok: false,
          reason: "invalid",
        });
      }),
    );
  });
});

describe("semver compare", () => {
  test("prerelease precedence follows semver (numeric < alpha, shorter < longer)", () => {
    const order = [
      "1.0.0-alpha",
      "1.0.0-alpha.1",
      "1.0.0-alpha.beta",
      "1.0.0-beta",
      "1.0.0-beta.2",
      "1.0.0-beta.11",
      "1.0.0-rc.1",
      "1.0.0",
    ];
    for (let i = 1; i < order.length; i++) {
      expect(compareSemver(parseSemver(order[i - 1]!), parseSemver(order[i]!))).toBe(-1);
    }
    expect(compareSemver(parseSemver("1.0.0+a"), parseSemver("1.0.0+b"))).toBe(0);
  });
});
