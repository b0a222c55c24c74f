import { describe, expect, test } from "vitest";
import { TalosExtError } from "../errors.ts";
import { decodeYaml, decodeYamlDocuments } from "./decode.ts";

describe("decodeYaml", () => {
  test("keeps scalar text the way Go decodes into strings", () => {
    const d = decodeYaml("a: 1.10\nb: yes\nc: ~\nd:\ne: 'x'\nf: [0x1F, true]\ng: &x foo\nh: *x\n", {
      file: "f.yaml",
    });
    expect(d.value).toEqual({
      a: "1.10",
      b: "yes",
      c: null,
      d: null,
      e: "x",
      f: ["0x1F", "true"],
      g: "foo",
      h: "foo",
    });
    expect(d.isQuoted(["e"])).toBe(true);
    expect(d.isQuoted(["b"])).toBe(false);
  });

  test("locates keys and values, falling back to the nearest ancestor", () => {
    const d = decodeYaml("top:\n  list:\n    - one\n    - two\n", { file: "p.yaml" });
    expect(d.locate(["top", "list", 1])).toEqual({ file: "p.yaml", line: 4, column: 7 });
    expect(d.locate(["top", "list"], "key")).toEqual({ file: "p.yaml", line: 2, column: 3 });
    expect(d.locate(["top", "missing", 3])).toEqual({ file: "p.yaml", line: 2, column: 3 });
    expect(d.has(["top", "list"])).toBe(true);
    expect(d.has(["top", "nope"])).toBe(false);
  });

  test("reports syntax errors with a code and position", () => {
    try {
      decodeYaml("a: 1\n  b: [\n", { file: "bad.yaml" });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(TalosExtError);
      expect((e as TalosExtError).code).toBe("YAML_SYNTAX");
      expect((e as TalosExtError).location?.file).toBe("bad.yaml");
      expect((e as TalosExtError).location?.line).toBeGreaterThan(0);
    }
  });

  test("duplicate keys are an error, as in Go", () => {
    expect(() => decodeYaml("a: 1\na: 2\n", { file: "d.yaml" })).toThrow(/invalid YAML/);
  });

  test("reads only the first document; all documents on request", () => {
    expect(decodeYaml("a: 1\n---\nb: 2\n", { file: "m.yaml" }).value).toEqual({ a: "1" });
    expect(decodeYamlDocuments("a: 1\n---\nb: 2\n", { file: "m.yaml" }).map((d) => d.value)).toEqual([
      { a: "1" },
      { b: "2" },
    ]);
    expect(decodeYaml("", { file: "e.yaml" }).value).toBeNull();
  });

  test("uses a custom position mapper (templated files)", () => {
    const d = decodeYaml("a: b\n", { file: "t.yaml", mapPosition: (o) => ({ line: 10, column: o + 1 }) });
    expect(d.locate(["a"])).toEqual({ file: "t.yaml", line: 10, column: 4 });
  });
});
