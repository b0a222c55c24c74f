import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { JsonObjectSplitter, JsonStreamError, parseConcatenatedJson } from "./json-stream.ts";

// What talosctl prints: each object pretty-printed with 4 spaces, then a newline.
const print = (objects: unknown[]) => objects.map((o) => `${JSON.stringify(o, null, 4)}\n`).join("");

function feed(text: string, cuts: number[]): unknown[] {
  const s = new JsonObjectSplitter();
  const out: unknown[] = [];
  let at = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < text.length)].sort((a, b) => a - b)) {
    out.push(...s.push(text.slice(at, cut)));
    at = cut;
  }
  out.push(...s.push(text.slice(at)));
  out.push(...s.end());
  return out;
}

const jsonObject = fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 4 }), { maxKeys: 6 });

describe("JsonObjectSplitter", () => {
  it("splits concatenated objects at any chunk boundary (property)", () => {
    fc.assert(
      fc.property(
        fc.array(jsonObject, { maxLength: 6 }),
        fc.array(fc.nat(4000), { maxLength: 12 }),
        (objects, cuts) => {
          const text = print(objects);
          expect(feed(text, cuts)).toEqual(JSON.parse(JSON.stringify(objects)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("splits compact and oddly indented streams too (property)", () => {
    fc.assert(
      fc.property(
        fc.array(jsonObject, { maxLength: 6 }),
        fc.constantFrom(0, 1, 2, "\t"),
        fc.array(fc.nat(2000), { maxLength: 8 }),
        (objects, indent, cuts) => {
          const text = objects.map((o) => JSON.stringify(o, null, indent)).join(indent === 0 ? "" : "\n");
          expect(feed(text, cuts)).toEqual(JSON.parse(JSON.stringify(objects)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("handles braces, quotes and backslashes inside strings, split anywhere", () => {
    const objects = [{ a: 'x}{"\\', b: ["]", "\\\\", '\\"'] }, { c: "\u003e=<&\n}" }];
    const text = print(objects);
    for (let cut = 0; cut <= text.length; cut++) expect(feed(text, [cut])).toEqual(objects);
    // Go's compact form and a stream without newlines between objects work too.
    expect(parseConcatenatedJson('{"a":1}{"b":2} \n{"c":{}}')).toEqual([{ a: 1 }, { b: 2 }, { c: {} }]);
  });

  it("refuses truncated, non-object and invalid input with an offset, never the content", () => {
    const text = print([{ secret: "s3cr3t-value" }, { b: 2 }]);
    const cases: [string, string][] = [
      [text.slice(0, text.length - 3), "truncated"],
      [`<html>${text}`, "syntax"],
      ["[1,2]", "syntax"],
      ['{"a": 1,}', "syntax"],
      ['{"a": 1]', "syntax"],
      ['{"secret": "s3cr3t-value" x}', "syntax"],
    ];
    for (const [input, reason] of cases) {
      let error: unknown;
      try {
        parseConcatenatedJson(input);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(JsonStreamError);
      expect((error as JsonStreamError).reason).toBe(reason);
      expect((error as Error).message).not.toContain("s3cr3t");
    }
  });

  it("bounds one object's size", () => {
    const s = new JsonObjectSplitter({ maxObjectChars: 100 });
    expect(() => {
      for (let i = 0; i < 20; i++) s.push(`${i === 0 ? '{"a": "' : ""}${"x".repeat(10)}`);
    }).toThrow(expect.objectContaining({ reason: "too-large" }));
  });

  it("a long compact stream in small chunks is not taken for one huge object", () => {
    const one = '{"a":"xxxxxxxxxxxxxxxxxxxx"}';
    const text = one.repeat(60_000);
    const cuts = Array.from({ length: Math.ceil(text.length / 4096) }, (_, i) => i * 4096);
    expect(feed(text, cuts)).toHaveLength(60_000);
  });

  it("is linear: a long run of strings and escapes in one chunk", () => {
    // Quadratic scanning would take minutes here; linear takes milliseconds.
    const big = { list: Array.from({ length: 200_000 }, (_, i) => `v${i}\\"`) };
    const text = print([big, big]);
    expect(parseConcatenatedJson(text)).toHaveLength(2);
  });
});
