import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { EXTENSION_NAME_ALIASES, extensionNameAlias } from "./aliases.ts";
import {
  canonicalSchematic,
  EMPTY_SCHEMATIC_ID,
  parseSchematic,
  schematicForExtensions,
  schematicId,
} from "./model.ts";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

// Every vector of installer-and-upgrade.md §3.3: [input text, canonical bytes, id].
const VECTORS: [string, string, string][] = [
  ["{}", "customization: {}\n", "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba"],
  [
    "customization: {}",
    "customization: {}\n",
    "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba",
  ],
  [
    'customization: {"extraKernelArgs": []}',
    "customization: {}\n",
    "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba",
  ],
  [
    '{"customization": {"extraKernelArgs": ["noapic", "nolapic"], "systemExtensions": {}}}',
    "customization:\n    extraKernelArgs:\n        - noapic\n        - nolapic\n",
    "9cba8e32753f91a16c1837ab8abf356af021706ef284aef07380780177d9a06c",
  ],
  [
    '{"customization": {"meta": [{"key": 10, "value": "foo"}], "extraKernelArgs": [], "systemExtensions": {}}}',
    "customization:\n    meta:\n        - key: 10\n          value: foo\n",
    "d308a2a5ee2277bed5fbaa104fcbc8d59122abfa737df987a95b4ca763459a7f",
  ],
  [
    '{"overlay": {"name": "rpi_generic", "image": "siderolabs/sbc-raspberrypi"}}',
    "overlay:\n    image: siderolabs/sbc-raspberrypi\n    name: rpi_generic\ncustomization: {}\n",
    "ee21ef4a5ef808a9b7484cc0dda0f25075021691c8c09a276591eedb638ea1f9",
  ],
  [
    '{"overlay": {"name": "rpi_generic", "image": "siderolabs/sbc-raspberrypi"}, "customization":{}}',
    "overlay:\n    image: siderolabs/sbc-raspberrypi\n    name: rpi_generic\ncustomization: {}\n",
    "ee21ef4a5ef808a9b7484cc0dda0f25075021691c8c09a276591eedb638ea1f9",
  ],
  [
    '{"customization":{"secureboot": {"includeWellKnownCertificates": true}}}',
    "customization:\n    secureboot:\n        includeWellKnownCertificates: true\n",
    "fa8e05f142a851d3ee568eb0a8e5841eaf6b0ebc8df9a63df16ac5ed2c04f3e6",
  ],
  [
    "customization:\n  diskImage:\n    sectorSize: 4096\n",
    "customization:\n    diskImage:\n        sectorSize: 4096\n",
    "92833e9ddd9bb9e11b2464fa5525429f01866306d52ebd882ee08d7918f6d1ea",
  ],
  [
    "customization:\n  systemExtensions:\n    officialExtensions: [siderolabs/iscsi-tools, siderolabs/util-linux-tools]\n",
    "customization:\n    systemExtensions:\n        officialExtensions:\n            - siderolabs/iscsi-tools\n            - siderolabs/util-linux-tools\n",
    "613e1592b2da41ae5e265e8789429f22e121aab91cb4deb6bc3c0b6262961245",
  ],
  [
    "customization:\n  systemExtensions:\n    officialExtensions: [siderolabs/util-linux-tools, siderolabs/iscsi-tools]\n",
    "customization:\n    systemExtensions:\n        officialExtensions:\n            - siderolabs/util-linux-tools\n            - siderolabs/iscsi-tools\n",
    "ffdc59f4fd5b62784876a03c3e31a81fbfecc871eaa7f27aca33b9f5ff1ec96e",
  ],
  [
    "customization:\n  systemExtensions:\n    officialExtensions:\n      - siderolabs/iscsi-tools\n",
    "customization:\n    systemExtensions:\n        officialExtensions:\n            - siderolabs/iscsi-tools\n",
    "c9078f9419961640c712a8bf2bb9174933dfcf1da383fd8ea2b7dc21493f8bac",
  ],
  [
    '{"customization": {"extraKernelArgs": ["vga=791"]}}',
    "customization:\n    extraKernelArgs:\n        - vga=791\n",
    "eea1f9534c46d95c4715a2f13d17eacb927c13a42ef087c79b22c3bd0c49d073",
  ],
];

describe("schematic ID", () => {
  it.each(VECTORS)("%j", (input, canonical, id) => {
    const s = parseSchematic(input);
    expect(canonicalSchematic(s)).toBe(canonical);
    expect(sha(canonical)).toBe(id);
    expect(schematicId(s)).toBe(id);
  });

  it("struct input gives the same IDs, offline", () => {
    expect(schematicId({})).toBe(EMPTY_SCHEMATIC_ID);
    expect(schematicId({ customization: { diskImage: { sectorSize: 4096 } } })).toBe(
      "92833e9ddd9bb9e11b2464fa5525429f01866306d52ebd882ee08d7918f6d1ea",
    );
    expect(
      schematicId(schematicForExtensions(["siderolabs/iscsi-tools", "siderolabs/util-linux-tools"])),
    ).toBe("613e1592b2da41ae5e265e8789429f22e121aab91cb4deb6bc3c0b6262961245");
  });

  it("does not reproduce the inconsistent docs/api.md example id", () => {
    expect(schematicId({ customization: { extraKernelArgs: ["vga=791"] } }).startsWith("2a63b6e7")).toBe(
      false,
    );
  });

  it("drops bootloader none (same ID as omitted), keeps others, lower-cases", () => {
    expect(schematicId({ customization: { bootloader: "none" } })).toBe(EMPTY_SCHEMATIC_ID);
    expect(canonicalSchematic({ customization: { bootloader: "SD-Boot" } })).toBe(
      "customization:\n    bootloader: sd-boot\n",
    );
  });

  it('serializes a name-only overlay with image: ""', () => {
    expect(canonicalSchematic({ overlay: { name: "rpi_generic" } })).toBe(
      'overlay:\n    image: ""\n    name: rpi_generic\ncustomization: {}\n',
    );
  });

  it("converts meta keys to decimal (0xa -> 10)", () => {
    expect(
      canonicalSchematic(parseSchematic("customization:\n  meta:\n    - key: 0xa\n      value: foo\n")),
    ).toBe("customization:\n    meta:\n        - key: 10\n          value: foo\n");
  });

  it("styles scalars as go-yaml does", () => {
    const args = (list: string[]) => canonicalSchematic({ customization: { extraKernelArgs: list } });
    const line = (s: string) => args([s]).split("\n")[2]?.slice("        - ".length);
    for (const plain of [
      "net.ifnames=0",
      "console=ttyS0,115200n8",
      "-console",
      "a:b",
      "a#b",
      "=",
      "a=b c",
      "é",
      "x".repeat(120),
    ]) {
      expect(line(plain)).toBe(plain);
    }
    for (const dq of [
      "1",
      "010",
      "+1",
      "0x10",
      "0o17",
      "0b101",
      "1_000",
      "1e3",
      ".5",
      ".inf",
      "-.inf",
      ".nan",
      "true",
      "True",
      "FALSE",
      "null",
      "NULL",
      "Null",
      "~",
      "",
      "2024-01-01",
    ]) {
      expect(line(dq)).toBe(`"${dq}"`);
    }
    for (const sq of [
      "y",
      "Y",
      "n",
      "N",
      "yes",
      "no",
      "on",
      "off",
      "12:30",
      "<<",
      "*a",
      "&a",
      "!a",
      "%a",
      "@a",
      "`a",
      "|a",
      ">a",
      "'a",
      '"a',
      "[a",
      "]a",
      "{a",
      "}a",
      ",a",
      "- a",
      "-",
      "?",
      "#a",
      "a: b",
      "a #b",
      "a:",
      " a",
      "a ",
      "{}",
    ]) {
      expect(line(sq)).toBe(`'${sq.replaceAll("'", "''")}'`);
    }
    expect(line("tab\there")).toBe('"tab\\there"');
  });

  it("v3 dialect (yaml.v3 3.0.1, measured): YAML 1.1 words and sexagesimal double-quoted, << plain", () => {
    const v3 = (arg: string) =>
      canonicalSchematic({ customization: { extraKernelArgs: [arg] } }, { dialect: "v3" })
        .split("\n")[2]
        ?.slice(10);
    for (const w of ["y", "Y", "n", "N", "yes", "no", "on", "off", "12:30", "1:2:3"])
      expect(v3(w)).toBe(`"${w}"`);
    expect(v3("<<")).toBe("<<");
    expect(v3("-console")).toBe("-console");
    expect(v3("a: b")).toBe("'a: b'");
    // Outputs of yaml.v3 3.0.1 Marshal for the same struct shapes.
    expect(
      canonicalSchematic(
        {
          customization: {
            embeddedMachineConfiguration: "a: 1\nb: 2\n",
            extraKernelArgs: ["x\ny"],
            meta: [{ key: 10, value: "line1\nline2\n" }],
          },
        },
        { dialect: "v3" },
      ),
    ).toBe(
      "customization:\n    embeddedMachineConfiguration: |\n        a: 1\n        b: 2\n    extraKernelArgs:\n        - |-\n          x\n          y\n    meta:\n        - key: 10\n          value: |\n            line1\n            line2\n",
    );
  });

  it("writes multi-line strings as literal blocks indented 4 more than the key", () => {
    expect(canonicalSchematic({ customization: { embeddedMachineConfiguration: "a: 1\nb: 2\n" } })).toBe(
      "customization:\n    embeddedMachineConfiguration: |\n        a: 1\n        b: 2\n",
    );
    expect(canonicalSchematic({ customization: { embeddedMachineConfiguration: "a\nb" } })).toBe(
      "customization:\n    embeddedMachineConfiguration: |-\n        a\n        b\n",
    );
  });

  it("sorts overlay option keys in go-yaml's natural order", () => {
    expect(
      canonicalSchematic({
        overlay: { name: "x", image: "img", options: { b10: 1, b2: true, a: "s", c: [1, "2"] } },
      }),
    ).toBe(
      'overlay:\n    image: img\n    name: x\n    options:\n        a: s\n        b2: true\n        b10: 1\n        c:\n            - 1\n            - "2"\ncustomization: {}\n',
    );
  });

  it("refuses what the factory refuses, with codes and positions", () => {
    const code = (text: string) => {
      try {
        parseSchematic(text, { file: "s.yaml" });
      } catch (e) {
        return {
          code: (e as { code: string }).code,
          line: (e as { location?: { line?: number } }).location?.line,
        };
      }
      return undefined;
    };
    expect(code("customization:\n  extraKernelArg: [a]\n")).toEqual({ code: "SCHEMATIC_INVALID", line: 2 });
    expect(() => parseSchematic("customization:\n  extraKernelArg: [a]\n")).toThrow(
      expect.objectContaining({ hint: expect.stringContaining('did you mean "extraKernelArgs"?') }),
    );
    expect(code("customization:\n  meta:\n    - key: 256\n      value: x\n")).toMatchObject({
      code: "SCHEMATIC_INVALID",
      line: 3,
    });
    expect(code('customization:\n  meta:\n    - key: "10"\n      value: x\n')).toMatchObject({
      code: "SCHEMATIC_INVALID",
    });
    expect(code("customization:\n  bootloader: auto\n")).toMatchObject({ code: "SCHEMATIC_INVALID" });
    expect(code("customization: [a]\n")).toMatchObject({ code: "SCHEMATIC_INVALID" });
    expect(code("customization: {\n")).toMatchObject({ code: "SCHEMATIC_INVALID" });
    expect(code("owner: x\nfoo: 1\n")).toMatchObject({ code: "SCHEMATIC_INVALID", line: 2 });
    expect(() => canonicalSchematic({ customization: { extraKernelArgs: ["a\r\nb"] } })).toThrow(
      expect.objectContaining({ code: "SCHEMATIC_NOT_CANONICAL" }),
    );
  });
});

describe("alias table", () => {
  it("is the factory's table byte for byte", () => {
    expect(JSON.stringify(EXTENSION_NAME_ALIASES)).toBe(
      JSON.stringify({
        "siderolabs/v4l-uvc": "siderolabs/v4l-uvc-drivers",
        "siderolabs/usb-modem": "siderolabs/usb-modem-drivers",
        "siderolabs/gasket": "siderolabs/gasket-driver",
        "siderolabs/talos-vmtoolsd": "siderolabs/vmtoolsd-guest-agent",
        "siderolabs/xe-guest-utilities": "siderolabs/xen-guest-agent",
        "siderolabs/nvidia-container-toolkit": "siderolabs/nvidia-container-toolkit-lts",
        "siderolabs/nvidia-open-gpu-kernel-modules": "siderolabs/nvidia-open-gpu-kernel-modules-lts",
        "siderolabs/nonfree-kmod-nvidia": "siderolabs/nonfree-kmod-nvidia-lts",
        "siderolabs/nvidia-fabricmanager": "siderolabs/nvidia-fabric-manager-lts",
        "siderolabs/i915-ucode": "siderolabs/i915",
        "siderolabs/amdgpu-firmware": "siderolabs/amdgpu",
      }),
    );
    expect(extensionNameAlias("siderolabs/nvidia-fabricmanager")).toBe(
      "siderolabs/nvidia-fabric-manager-lts",
    );
    expect(extensionNameAlias("siderolabs/iscsi-tools")).toBeUndefined();
    expect(extensionNameAlias("toString")).toBeUndefined();
  });
});
