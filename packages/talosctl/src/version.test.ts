import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  clientFeatures,
  compareVersions,
  goDuration,
  isSupportedClient,
  parseClientVersionOutput,
  parseTalosVersion,
  serverHasLifecycle,
} from "./version.ts";

const v = (s: string) => parseTalosVersion(s)!;

describe("versions", () => {
  it("parses tags and refuses what is not one", () => {
    expect(v("v1.14.0-beta.1")).toMatchObject({ major: 1, minor: 14, patch: 0, prerelease: "beta.1" });
    for (const bad of ["", "1.14", "v1.x.0", "latest", "v1.14.0 extra"])
      expect(parseTalosVersion(bad)).toBeUndefined();
  });

  it("orders prereleases before releases (property: antisymmetric)", () => {
    expect(compareVersions(v("v1.13.0-alpha.2"), v("v1.13.0-alpha.10"))).toBeLessThan(0);
    expect(compareVersions(v("v1.13.0-rc.1"), v("v1.13.0"))).toBeLessThan(0);
    const tag = fc
      .tuple(
        fc.nat(3),
        fc.nat(20),
        fc.nat(20),
        fc.constantFrom("", "-alpha.1", "-alpha.2", "-beta.1", "-rc.1"),
      )
      .map(([a, b, c, p]) => v(`v${a}.${b}.${c}${p}`));
    fc.assert(
      fc.property(tag, tag, (a, b) => Math.sign(compareVersions(a, b)) === -Math.sign(compareVersions(b, a))),
    );
  });

  it("supports clients 1.12 to 1.14 and knows their flags", () => {
    expect(
      ["v1.11.9", "v1.12.0-rc.1", "v1.12.0", "v1.14.9", "v1.15.0-alpha.0"].map((t) =>
        isSupportedClient(v(t)),
      ),
    ).toEqual([false, true, true, true, false]);
    expect(clientFeatures(v("v1.12.3"))).toMatchObject({
      lifecycleUpgrade: false,
      drainFlags: false,
      noReboot: false,
      upgradeInsecure: true,
    });
    expect(clientFeatures(v("v1.13.0"))).toMatchObject({
      lifecycleUpgrade: true,
      legacyFlag: true,
      noReboot: false,
      upgradeInsecure: true,
    });
    expect(clientFeatures(v("v1.14.0"))).toMatchObject({
      noReboot: true,
      upgradeInsecure: false,
      versionCheckAborts: true,
    });
    expect(serverHasLifecycle(v("v1.13.0-alpha.2"))).toBe(false);
    expect(serverHasLifecycle(v("v1.13.0-alpha.3"))).toBe(true);
    expect(serverHasLifecycle(v("v1.12.9"))).toBe(false);
  });

  it("reads the client tag of the text and short forms, and writes Go durations", () => {
    expect(
      parseClientVersionOutput("Client:\n\tTag:         v1.14.0\n\tSHA:   ad882317\nServer:\n\tTag: v1.9.0\n")
        ?.tag,
    ).toBe("v1.14.0");
    expect(parseClientVersionOutput("Client:\n\tTalos v1.13.2\n")?.tag).toBe("v1.13.2");
    expect(parseClientVersionOutput("Server:\n\tTag: v1.9.0\n")).toBeUndefined();
    expect([goDuration(90_000), goDuration(1500), goDuration(0)]).toEqual(["90s", "1500ms", "0s"]);
  });
});
