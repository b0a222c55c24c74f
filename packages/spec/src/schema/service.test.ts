import { describe, expect, expectTypeOf, test } from "vitest";
import type { z } from "zod";
import type { Diagnostic } from "../errors.ts";
import { decodeYaml } from "../yaml/decode.ts";
import { decodeServiceSpec, type ServiceSpec, type serviceSpecSchema } from "./service.ts";

const brief = (d: Diagnostic) => ({
  code: d.code,
  severity: d.severity,
  message: d.message,
  line: d.line,
  column: d.column,
});
const decode = (text: string) => decodeServiceSpec(decodeYaml(text, { file: "svc.yaml" }));
const briefs = (text: string) => decode(text).diagnostics.map(brief);

// name, container and restart in place, so each test adds only what it is about.
const BASE = "name: svc\ncontainer:\n  entrypoint: /bin/svc\nrestart: always\n";

describe("decodeServiceSpec: a valid spec", () => {
  test("decodes the multipathd example with Talos's zero values", () => {
    const r = decode(`name: multipathd
container:
  entrypoint: /usr/local/sbin/multipathd
  args: ["-d", "-s"]
  security:
    writeableRootfs: true
    maskedPaths: []
  mounts:
    - source: /dev
      destination: /dev
      type: bind
      options: [rbind, rw]
depends:
  - service: udevd
  - path: /dev/mapper/control
  - network: [addresses]
  - configuration: true
  - time: yes
restart: always
`);
    expect(r.diagnostics).toEqual([]);
    expect(r.value).toEqual<ServiceSpec>({
      name: "multipathd",
      container: {
        entrypoint: "/usr/local/sbin/multipathd",
        args: ["-d", "-s"],
        environment: [],
        environmentFile: "",
        mounts: [
          {
            source: "/dev",
            destination: "/dev",
            type: "bind",
            options: ["rbind", "rw"],
            uidmappings: [],
            gidmappings: [],
          },
        ],
        security: {
          writeableRootfs: true,
          writeableSysfs: false,
          maskedPaths: [],
          readonlyPaths: null,
          rootfsPropagation: "",
        },
      },
      depends: [
        { service: "udevd", path: "", network: [], time: false, configuration: false },
        { service: "", path: "/dev/mapper/control", network: [], time: false, configuration: false },
        { service: "", path: "", network: ["addresses"], time: false, configuration: false },
        { service: "", path: "", network: [], time: false, configuration: true },
        { service: "", path: "", network: [], time: true, configuration: false },
      ],
      restart: "always",
      logToConsole: false,
    });
    expectTypeOf<z.output<typeof serviceSpecSchema>>().toEqualTypeOf<ServiceSpec>();
  });

  test("maskedPaths/readonlyPaths: [] clears, absent or null keeps the defaults (null)", () => {
    const security = (text: string) => decode(`${BASE}${text}`).value?.container.security;
    expect(
      decode(
        `name: s\nrestart: never\ncontainer:\n  entrypoint: x\n  security:\n    maskedPaths: []\n    readonlyPaths: ~\n`,
      ).value?.container.security,
    ).toMatchObject({ maskedPaths: [], readonlyPaths: null });
    expect(security("")).toMatchObject({ maskedPaths: null, readonlyPaths: null });
  });

  test("restart is matched case-insensitively and normalised", () => {
    const restart = (v: string) =>
      decode(`name: s\ncontainer: {entrypoint: x}\nrestart: ${v}\n`).value?.restart;
    expect(restart("ALWAYS")).toBe("always");
    expect(restart("Never")).toBe("never");
    expect(restart("untilsuccess")).toBe("untilSuccess");
    expect(restart("UntilSuccess")).toBe("untilSuccess");
  });

  test("network values are matched case-insensitively", () => {
    const r = decode(`${BASE}depends:\n  - network: [Addresses, ETCFILES, hostName, connectivity]\n`);
    expect(r.value?.depends[0]?.network).toEqual(["addresses", "etcfiles", "hostname", "connectivity"]);
  });

  test("booleans take yaml.v3's forms; logToConsole defaults to false", () => {
    const r = decode(
      `${BASE}logToConsole: ON\n`.replace(
        "entrypoint: /bin/svc",
        "entrypoint: /bin/svc\n  security: {writeableSysfs: Yes}",
      ),
    );
    expect(r.value?.logToConsole).toBe(true);
    expect(r.value?.container.security.writeableSysfs).toBe(true);
    expect(decode(BASE).value?.logToConsole).toBe(false);
  });

  test("OCI mount keys are lower-case, id mappings are uint32 in Go's notations", () => {
    const r = decode(
      `${BASE.replace("entrypoint: /bin/svc", "entrypoint: /bin/svc\n  mounts:\n    - destination: /x\n      uidmappings:\n        - {containerid: 0, hostid: 0x10000, size: 65_536}")}`,
    );
    expect(r.diagnostics).toEqual([]);
    expect(r.value?.container.mounts[0]?.uidmappings).toEqual([
      { containerid: 0, hostid: 65536, size: 65536 },
    ]);
  });
});

describe("decodeServiceSpec: decode errors", () => {
  test("an unknown restart kind", () => {
    expect(briefs("name: s\ncontainer: {entrypoint: x}\nrestart: sometimes\n")).toEqual([
      {
        code: "SCHEMA_INVALID_VALUE",
        severity: "error",
        message: "sometimes does not belong to RestartKind values",
        line: 3,
        column: 10,
      },
    ]);
  });

  test("an unknown network status", () => {
    expect(briefs(`${BASE}depends:\n  - network: [addresses, dns]\n`)).toEqual([
      {
        code: "SCHEMA_INVALID_VALUE",
        severity: "error",
        message: "dns does not belong to Status values",
        line: 6,
        column: 26,
      },
    ]);
  });

  test("a quoted true into a bool", () => {
    expect(briefs(`${BASE}logToConsole: "true"\n`)).toEqual([
      {
        code: "SCHEMA_INVALID_TYPE",
        severity: "error",
        message: "cannot unmarshal !!str `true` into bool",
        line: 5,
        column: 15,
      },
    ]);
  });

  test("uint32 id mappings: quoted, negative and too large numbers are refused", () => {
    const mapping = (v: string) =>
      BASE.replace(
        "entrypoint: /bin/svc",
        `entrypoint: /bin/svc\n  mounts:\n    - destination: /x\n      gidmappings: [{containerid: ${v}}]`,
      );
    expect(briefs(mapping('"5"'))).toEqual([
      {
        code: "SCHEMA_INVALID_TYPE",
        severity: "error",
        message: "cannot unmarshal !!str `5` into uint32",
        line: 6,
        column: 35,
      },
    ]);
    expect(briefs(mapping("-1"))[0]?.message).toBe("cannot unmarshal !!int `-1` into uint32");
    expect(briefs(mapping("4294967296"))[0]?.message).toBe("cannot unmarshal !!int `4294967296` into uint32");
    // yaml.v3 shows at most 10 characters of the value: the first 7 and "...".
    expect(briefs(mapping("99999999999"))[0]?.message).toBe(
      "cannot unmarshal !!int `9999999...` into uint32",
    );
    expect(briefs(mapping("1.5"))[0]?.message).toBe("cannot unmarshal !!float `1.5` into uint32");
  });

  test("a string where the container mapping is expected", () => {
    expect(briefs("name: s\ncontainer: /bin/svc\nrestart: never\n")).toEqual([
      {
        code: "SCHEMA_INVALID_TYPE",
        severity: "error",
        message: "cannot unmarshal !!str `/bin/svc` into services.Container",
        line: 2,
        column: 12,
      },
    ]);
  });
});

describe("decodeServiceSpec: Spec.Validate (V1–V7)", () => {
  test("V1: the name must match ^[-_a-z0-9]{1,}$", () => {
    expect(briefs(BASE.replace("name: svc", "name: My.Service"))).toEqual([
      {
        code: "SCHEMA_SERVICE_INVALID",
        severity: "error",
        message: 'name "My.Service" is invalid',
        line: 1,
        column: 7,
      },
    ]);
    expect(briefs(BASE.replace("name: svc\n", ""))[0]?.message).toBe('name "" is invalid');
    expect(decode(BASE.replace("name: svc", "name: my_svc-2")).diagnostics).toEqual([]);
  });

  test("V2: a missing restart is RestartKind(0)", () => {
    expect(briefs("name: s\ncontainer: {entrypoint: x}\n")).toEqual([
      {
        code: "SCHEMA_SERVICE_INVALID",
        severity: "error",
        message: "restart kind is invalid: RestartKind(0)",
        line: 1,
        column: 1,
      },
    ]);
    expect(briefs("name: s\ncontainer: {entrypoint: x}\nrestart:\n")[0]?.message).toBe(
      "restart kind is invalid: RestartKind(0)",
    );
  });

  test("V3: an empty entrypoint (Talos's message says endpoint)", () => {
    expect(briefs("name: s\ncontainer:\n  entrypoint: ''\nrestart: never\n")).toEqual([
      {
        code: "SCHEMA_SERVICE_INVALID",
        severity: "error",
        message: "container endpoint can't be empty",
        line: 3,
        column: 15,
      },
    ]);
  });

  test("V4: a path dependency must be absolute", () => {
    expect(briefs(`${BASE}depends:\n  - path: dev/mapper/control\n`)).toEqual([
      {
        code: "SCHEMA_SERVICE_INVALID",
        severity: "error",
        message: 'path is not absolute: "dev/mapper/control"',
        line: 6,
        column: 11,
      },
    ]);
  });

  test("V5: a null network item is Status(0)", () => {
    expect(briefs(`${BASE}depends:\n  - network: [addresses, ~]\n`)).toEqual([
      {
        code: "SCHEMA_SERVICE_INVALID",
        severity: "error",
        message: "invalid network dependency: Status(0)",
        line: 6,
        column: 26,
      },
    ]);
  });

  test("V6: no dependency kind set; time: false and configuration: false count as unset", () => {
    const none = { code: "SCHEMA_SERVICE_INVALID", severity: "error", message: "no dependency specified" };
    expect(
      briefs(`${BASE}depends:\n  - time: false\n  - configuration: no\n  - network: []\n  - ~\n`),
    ).toEqual([
      { ...none, line: 6, column: 5 },
      { ...none, line: 7, column: 5 },
      { ...none, line: 8, column: 5 },
      { ...none, line: 9, column: 5 },
    ]);
  });

  test("V7: more than one kind in one entry", () => {
    expect(briefs(`${BASE}depends:\n  - service: cri\n    time: true\n`)).toEqual([
      {
        code: "SCHEMA_SERVICE_INVALID",
        severity: "error",
        message: "more than a single dependency is set",
        line: 6,
        column: 5,
      },
    ]);
  });

  test("all problems are reported together", () => {
    const r = decode("name: Bad\ncontainer: {}\ndepends:\n  - path: rel\n    service: x\n");
    expect(r.value).toBeUndefined();
    expect(r.diagnostics.map((d) => d.message)).toEqual([
      "restart kind is invalid: RestartKind(0)",
      'name "Bad" is invalid',
      "container endpoint can't be empty",
      "more than a single dependency is set",
      'path is not absolute: "rel"',
    ]);
  });
});

describe("decodeServiceSpec: unknown keys", () => {
  test("camelCase entryPoint is ignored by Talos: a warning, and the empty entrypoint error", () => {
    const r = decode("name: s\ncontainer:\n  entryPoint: /bin/x\nrestart: always\n");
    expect(r.diagnostics.map(brief)).toEqual([
      {
        code: "SCHEMA_SERVICE_INVALID",
        severity: "error",
        message: "container endpoint can't be empty",
        line: 3,
        column: 3,
      },
      {
        code: "SCHEMA_UNKNOWN_KEY",
        severity: "warning",
        message: 'unknown key "entryPoint" in container is ignored by Talos',
        line: 3,
        column: 3,
      },
    ]);
    expect(r.diagnostics[1]!.hint).toBe('did you mean "entrypoint"?');
  });

  test("camelCase uidMappings in a mount is ignored: did you mean uidmappings", () => {
    const r = decode(
      BASE.replace(
        "entrypoint: /bin/svc",
        "entrypoint: /bin/svc\n  mounts:\n    - destination: /x\n      uidMappings: []",
      ),
    );
    expect(r.value?.container.mounts[0]?.uidmappings).toEqual([]);
    expect(r.diagnostics.map(brief)).toEqual([
      {
        code: "SCHEMA_UNKNOWN_KEY",
        severity: "warning",
        message: 'unknown key "uidMappings" in mount is ignored by Talos',
        line: 6,
        column: 7,
      },
    ]);
    expect(r.diagnostics[0]!.hint).toBe('did you mean "uidmappings"?');
  });
});
