import { describe, expect, test } from "vitest";
import { TalosExtError } from "../errors.ts";
import { decodeYaml, decodeYamlBytes, decodeYamlDocuments } from "./decode.ts";

/** Runs `run`, which must throw a TalosExtError, and returns that error. */
function thrown(run: () => unknown): TalosExtError {
  let error: unknown;
  try {
    run();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(TalosExtError);
  return error as TalosExtError;
}

/** "Billion laughs" in its three shapes: nested sequences, nested mappings, nested merge keys. */
function bombs(levels = 9): { seq: string; map: string; merge: string } {
  const names = "abcdefghijklmnop";
  let seq = `a: &a [${Array(9).fill('"lol"').join(", ")}]\n`;
  let map = `a: &a {${[..."abcdefghi"].map((k) => `${k}: 1`).join(", ")}}\n`;
  let merge = "l0: &l0 {x: 1, y: 1}\n";
  for (let i = 1; i < levels; i++) {
    const prev = names[i - 1]!;
    seq += `${names[i]}: &${names[i]} [${Array(9).fill(`*${prev}`).join(", ")}]\n`;
    map += `${names[i]}: &${names[i]} {${[..."abcdefghi"].map((k) => `${k}: *${prev}`).join(", ")}}\n`;
  }
  for (let i = 1; i < 40; i++) merge += `l${i}: &l${i} {<<: [*l${i - 1}], m: *l${i - 1}, n: *l${i - 1}}\n`;
  return { seq, map, merge };
}

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
    const e = thrown(() => decodeYaml("a: 1\n  b: [\n", { file: "bad.yaml" }));
    expect(e).toBeInstanceOf(TalosExtError);
    expect(e.code).toBe("YAML_SYNTAX");
    expect(e.location?.file).toBe("bad.yaml");
    expect(e.location?.line).toBeGreaterThan(0);
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

  test("merge keys merge as in Go: own keys win, then the first merged mapping", () => {
    const d = decodeYaml("a: &x {p: 1, q: 2}\nb:\n  <<: *x\n  q: 3\nc:\n  <<: [{r: 1, p: 9}, *x]\n", {
      file: "m.yaml",
    });
    expect(d.value).toEqual({
      a: { p: "1", q: "2" },
      b: { p: "1", q: "3" },
      c: { p: "9", q: "2", r: "1" },
    });
    expect(d.locate(["b", "p"])).toEqual({ file: "m.yaml", line: 1, column: 11 });
    expect(d.has(["b", "<<"])).toBe(false);
    // A quoted "<<" is an ordinary key.
    expect(decodeYaml('a: {"<<": x}\n', { file: "q.yaml" }).value).toEqual({ a: { "<<": "x" } });
    expect(thrown(() => decodeYaml("b:\n  <<: 3\n", { file: "m.yaml" }))).toMatchObject({
      code: "YAML_SYNTAX",
      message: "invalid YAML: map merge requires map or sequence of maps as the value",
      location: { file: "m.yaml", line: 2, column: 7 },
    });
  });

  test("duplicate keys compare the key text, as Go does", () => {
    expect(thrown(() => decodeYaml('a: 1\n"a": 2\n', { file: "d.yaml" }))).toMatchObject({
      code: "YAML_SYNTAX",
      location: { file: "d.yaml", line: 2, column: 1 },
    });
    expect(decodeYaml("1: a\n01: b\n", { file: "d.yaml" }).value).toEqual({ "1": "a", "01": "b" });
  });

  test("unknown and recursive anchors are errors, as in Go", () => {
    expect(thrown(() => decodeYaml("a: *nope\n", { file: "u.yaml" }))).toMatchObject({
      code: "YAML_SYNTAX",
      message: "invalid YAML: unknown anchor 'nope' referenced",
      location: { file: "u.yaml", line: 1, column: 4 },
    });
    expect(thrown(() => decodeYaml("b: &b\n  <<: *b\n", { file: "r.yaml" })).code).toBe("YAML_SYNTAX");
    expect(thrown(() => decodeYaml("b: &b [*b]\n", { file: "r.yaml" })).code).toBe("YAML_SYNTAX");
  });

  test.each(Object.entries(bombs()))("an alias bomb (%s form) hits the alias budget", (_form, text) => {
    const e = thrown(() => decodeYaml(text, { file: "bomb.yaml" }));
    expect(e.code).toBe("YAML_ALIAS_BUDGET");
    expect(e.location?.file).toBe("bomb.yaml");
    expect(e.location?.line).toBeGreaterThan(1);
    expect(e.hint).toBeTruthy();
  });

  test("moderate alias use stays within the budget", () => {
    const d = decodeYaml(bombs(4).seq, { file: "ok.yaml" });
    expect((d.value as Record<string, unknown[][][][]>).d![8]![8]![8]![8]).toBe("lol");
    expect(thrown(() => decodeYaml(bombs(4).seq, { file: "ok.yaml", maxAliasNodes: 100 })).code).toBe(
      "YAML_ALIAS_BUDGET",
    );
  });

  test("a document over the size budget is refused before parsing", () => {
    expect(
      thrown(() => decodeYaml(`a: ${"x".repeat(200)}\n`, { file: "big.yaml", maxBytes: 100 })),
    ).toMatchObject({
      code: "YAML_TOO_LARGE",
      location: { file: "big.yaml", line: 1, column: 1 },
    });
    expect(thrown(() => decodeYaml("a: é\n", { file: "big.yaml", maxBytes: 5 })).code).toBe("YAML_TOO_LARGE");
    expect(decodeYaml("a: é\n", { file: "ok.yaml", maxBytes: 6 }).value).toEqual({ a: "é" });
    expect(thrown(() => decodeYamlBytes(new Uint8Array(101), { file: "big.yaml", maxBytes: 100 })).code).toBe(
      "YAML_TOO_LARGE",
    );
  });

  test("invalid UTF-8 is rejected where it sits (Go: invalid leading UTF-8 octet)", () => {
    const bytes = Buffer.concat([Buffer.from("a: ok\nb: x"), Buffer.of(0xff), Buffer.from("\n")]);
    expect(thrown(() => decodeYamlBytes(bytes, { file: "u.yaml" }))).toMatchObject({
      code: "YAML_INVALID_UTF8",
      message: "invalid UTF-8 in YAML (byte 0xff)",
      location: { file: "u.yaml", line: 2, column: 5 },
    });
    expect(decodeYamlBytes(Buffer.from("a: é😀\n"), { file: "u.yaml" }).value).toEqual({ a: "é😀" });
  });

  test("a mapping with 150k keys decodes (linear duplicate check)", () => {
    const lines: string[] = [];
    for (let i = 0; i < 150_000; i++) lines.push(`K_${i}: v${i}`);
    const d = decodeYaml(`${lines.join("\n")}\n`, { file: "vars.yaml" });
    const v = d.value as Record<string, string>;
    expect(Object.keys(v)).toHaveLength(150_000);
    expect(v.K_149999).toBe("v149999");
    expect(d.locate(["K_149999"], "key")).toEqual({ file: "vars.yaml", line: 150_000, column: 1 });
  }, 120_000);
});
