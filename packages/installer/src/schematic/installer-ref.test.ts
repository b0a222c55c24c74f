import { describe, expect, it } from "vitest";
import { formatFactoryInstallerRef, parseFactoryInstallerRef } from "./installer-ref.ts";

const ID = "613e1592b2da41ae5e265e8789429f22e121aab91cb4deb6bc3c0b6262961245";

describe("factory installer references", () => {
  it("parses the four image names", () => {
    expect(parseFactoryInstallerRef(`factory.talos.dev/installer/${ID}:v1.9.5`)).toMatchObject({
      platform: "metal",
      legacy: true,
      secureboot: false,
      tag: "v1.9.5",
      builds: true,
    });
    expect(parseFactoryInstallerRef(`factory.talos.dev/installer-secureboot/${ID}:v1.9.5`)).toMatchObject({
      legacy: true,
      secureboot: true,
    });
    expect(parseFactoryInstallerRef(`factory.talos.dev/digital-ocean-installer/${ID}:v1.11.2`)).toMatchObject(
      {
        platform: "digital-ocean",
        legacy: false,
        secureboot: false,
      },
    );
    expect(parseFactoryInstallerRef(`127.0.0.1:8080/metal-installer-secureboot/${ID}:latest`)).toMatchObject({
      host: "127.0.0.1:8080",
      platform: "metal",
      secureboot: true,
      tag: "latest",
    });
    expect(
      parseFactoryInstallerRef(`factory.talos.dev/metal-installer/${ID}@sha256:${"a".repeat(64)}`).builds,
    ).toBe(false);
  });

  it.each([
    [`factory.talos.dev/imager/${ID}:v1.11.2`],
    [`factory.talos.dev/metal-installer/${ID}:1.11.2`],
    [`factory.talos.dev/metal-installer/${ID}`],
    [`factory.talos.dev/metal-installer/abc:v1.11.2`],
    [`https://factory.talos.dev/metal-installer/${ID}:v1.11.2`],
    [`metal-installer/${ID}:v1.11.2`],
  ])("refuses %s", (ref) => {
    expect(() => parseFactoryInstallerRef(ref)).toThrow(
      expect.objectContaining({ code: "INSTALLER_REF_INVALID" }),
    );
  });

  it("formats per version", () => {
    expect(formatFactoryInstallerRef({ schematicId: ID, version: "1.11.2" })).toBe(
      `factory.talos.dev/metal-installer/${ID}:v1.11.2`,
    );
    expect(formatFactoryInstallerRef({ schematicId: ID, version: "v1.9.5" })).toBe(
      `factory.talos.dev/installer/${ID}:v1.9.5`,
    );
    expect(
      formatFactoryInstallerRef({ schematicId: ID, version: "v1.12.0", platform: "aws", secureboot: true }),
    ).toBe(`factory.talos.dev/aws-installer-secureboot/${ID}:v1.12.0`);
  });
});
