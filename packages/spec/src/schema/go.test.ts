import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { stringify } from "yaml";
import { z } from "zod";
import { hasErrors } from "../errors.ts";
import { decodeYaml } from "../yaml/decode.ts";
import { decodeWithSchema } from "./engine.ts";
import { decodeExtensionServiceConfig } from "./extension-service-config.ts";
import { goBool, goQuote, goString, parseGoInt, plainScalarTag, unmarshalMessage } from "./go.ts";
import { decodeManifest } from "./manifest.ts";
import { decodePkg } from "./pkg.ts";
import { decodePkgfile, decodeVars } from "./pkgfile.ts";
import { decodeServiceSpec } from "./service.ts";

const one = (schema: z.ZodType, yamlValue: string) =>
  decodeWithSchema(z.object({ v: schema }), decodeYaml(`v: ${yamlValue}\n`, { file: "t.yaml" }));

describe("Go text helpers", () => {
  test("goQuote escapes like Go's %q", () => {
    expect(goQuote('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(goQuote("tab\tnl\n\x01\x7f")).toBe('"tab\\tnl\\n\\x01\\x7f"');
    expect(goQuote("ünïcode")).toBe('"ünïcode"');
  });

  test("plain scalars resolve to the tags yaml.v3 gives them", () => {
    expect(["", "~", "null", "NULL"].map(plainScalarTag)).toEqual(Array(4).fill("!!null"));
    expect(["true", "False", "TRUE"].map(plainScalarTag)).toEqual(Array(3).fill("!!bool"));
    expect(["yes", "on", "tRUE"].map(plainScalarTag)).toEqual(Array(3).fill("!!str"));
    expect(["0", "-12", "0x1F", "0o17", "0b101", "1_000", "017"].map(plainScalarTag)).toEqual(
      Array(7).fill("!!int"),
    );
    expect(["1.10", "1e3", ".5", "-.inf", ".NaN"].map(plainScalarTag)).toEqual(Array(5).fill("!!float"));
    expect(plainScalarTag("2024-01-02")).toBe("!!timestamp");
    expect(plainScalarTag("v1.2.3")).toBe("!!str");
  });

  test("integers use Go's base prefixes, a leading 0 meaning octal", () => {
    expect(parseGoInt("0x10")).toBe(16);
    expect(parseGoInt("010")).toBe(8);
    expect(parseGoInt("0b11")).toBe(3);
    expect(parseGoInt("1_000")).toBe(1000);
    expect(parseGoInt("08")).toBeUndefined();
    expect(parseGoInt("1.0")).toBeUndefined();
  });

  test("unmarshal messages show at most 10 characters of a scalar, as yaml.v3 does", () => {
    expect(unmarshalMessage(["x"], "string")).toBe("cannot unmarshal !!seq into string");
    expect(unmarshalMessage({ a: 1 }, "bool")).toBe("cannot unmarshal !!map into bool");
    expect(unmarshalMessage("1234567890", "bool")).toBe("cannot unmarshal !!int `1234567890` into bool");
    // Not octal (8, 9), so Go reads it as a float.
    expect(unmarshalMessage("0123456789", "bool")).toBe("cannot unmarshal !!float `0123456789` into bool");
    expect(unmarshalMessage("maybe-not-at-all", "bool")).toBe(
      "cannot unmarshal !!str `maybe-n...` into bool",
    );
    expect(unmarshalMessage("yes", "int", true)).toBe("cannot unmarshal !!str `yes` into int");
  });

  test("for a Go integer in any notation, parseGoInt gives the number back", () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), (n) => {
        const sign = n < 0 ? "-" : "";
        const abs = Math.abs(n);
        expect(parseGoInt(String(n))).toBe(n);
        expect(parseGoInt(`${sign}0x${abs.toString(16)}`)).toBe(n);
        expect(parseGoInt(`${sign}0o${abs.toString(8)}`)).toBe(n);
        expect(parseGoInt(`${sign}0b${abs.toString(2)}`)).toBe(n);
      }),
    );
  });
});

describe("Go leaves", () => {
  test("goString keeps the text of any plain or quoted scalar", () => {
    const plain = fc
      .stringMatching(/^[A-Za-z0-9][A-Za-z0-9._/+-]{0,20}$/)
      .filter((s) => !["null", "Null", "NULL"].includes(s));
    fc.assert(
      fc.property(plain, (s) => {
        expect(one(goString(), s).value).toEqual({ v: s });
      }),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), (s) => {
        expect(one(goString(), JSON.stringify(s)).value).toEqual({ v: s });
      }),
    );
  });

  test("goBool accepts exactly yaml.v3's words; any other plain word is a type error", () => {
    const words = new Set(
      "true True TRUE false False FALSE y Y yes Yes YES on On ON n N no No NO off Off OFF".split(" "),
    );
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom(...words), fc.stringMatching(/^[A-Za-z]{1,6}$/)), (w) => {
        const r = one(goBool(), w);
        if (words.has(w)) {
          expect(r.diagnostics).toEqual([]);
          expect(r.value?.v).toBe(/^(true|y|yes|on)$/i.test(w));
        } else if (!["null", "Null", "NULL"].includes(w)) {
          expect(r.diagnostics.map((d) => d.code)).toEqual(["SCHEMA_INVALID_TYPE"]);
          expect(r.diagnostics[0]!.message).toBe(unmarshalMessage(w, "bool"));
        }
      }),
    );
  });
});

describe("every decoder, on arbitrary YAML", () => {
  const decoders = [
    decodePkg,
    decodePkgfile,
    decodeVars,
    decodeManifest,
    decodeServiceSpec,
    decodeExtensionServiceConfig,
  ];

  test("never throws; value is undefined exactly when there is an error; every finding has a position", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.constantFrom(...decoders), (data, decode) => {
        const doc = decodeYaml(stringify(data), { file: "x.yaml" });
        const r = decode(doc);
        expect(r.value === undefined).toBe(hasErrors(r.diagnostics));
        for (const d of r.diagnostics) {
          expect(d.code).toMatch(/^SCHEMA_[A-Z_]+$/);
          expect(d.file).toBe("x.yaml");
          expect(d.line).toBeGreaterThan(0);
          expect(d.column).toBeGreaterThan(0);
          expect(d.hint).toBeTruthy();
        }
      }),
      { numRuns: 300 },
    );
  });
});
