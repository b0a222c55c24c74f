import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TalosExtError } from "../errors.ts";
import { renderTemplate, type TemplateData } from "./index.ts";

function lineCol(text: string, offset: number) {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, column: offset - (before.lastIndexOf("\n") + 1) + 1 };
}

/** Renders; returns the output or the TalosExtError; anything else thrown fails the property. */
function attempt(
  src: string,
  data: TemplateData = {},
  functions: "sprig" | "plain" = "sprig",
): string | TalosExtError {
  try {
    return renderTemplate(src, data, { file: "p.yaml", functions }).output;
  } catch (e) {
    if (e instanceof TalosExtError) return e;
    throw e;
  }
}

const FRAGMENTS = [
  "{{",
  "}}",
  "{{- ",
  " -}}",
  "{{/*",
  "*/}}",
  " ",
  "\n",
  ".",
  ".A",
  ".MISSING",
  "$",
  "$x",
  " := ",
  " = ",
  "|",
  "(",
  ")",
  '"',
  '"s"',
  "`",
  "'a'",
  "1",
  "-2",
  "0x1F",
  "1.5e3",
  "nil",
  "true",
  "if",
  "else",
  "end",
  "range",
  "with",
  "define",
  "template",
  "block",
  "break",
  "continue",
  '"t"',
  "printf",
  '"%d"',
  "eq",
  "ne",
  "and",
  "or",
  "not",
  "len",
  "index",
  "upper",
  "default",
  "regexReplaceAll",
  '"(a"',
  '"[0-9]+"',
  "substr",
  "list",
  "dict",
  "until",
  "fail",
  "slice",
  "add",
  "div",
  "0",
  "text",
  "é",
  "\t",
  ",",
];

const templateish = fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 30 }).map((parts) => parts.join(""));

describe("properties", () => {
  it("never throws anything but TalosExtError, with a sane location, for arbitrary input", () => {
    const data = fc.dictionary(fc.constantFrom("A", "B", "NAME"), fc.string({ maxLength: 8 }));
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: "binary", maxLength: 60 }), templateish),
        data,
        fc.boolean(),
        (src, d, plain) => {
          const r = attempt(src, d, plain ? "plain" : "sprig");
          if (typeof r === "string") return;
          expect(["TEMPLATE_PARSE", "TEMPLATE_EXEC"]).toContain(r.code);
          expect(r.location?.file).toBe("p.yaml");
          const lines = src.split("\n");
          expect(r.location?.line).toBeGreaterThanOrEqual(1);
          expect(r.location?.line).toBeLessThanOrEqual(lines.length);
          expect(r.location?.column).toBeGreaterThanOrEqual(1);
          expect(r.location?.column).toBeLessThanOrEqual(lines[(r.location?.line ?? 1) - 1]!.length + 1);
        },
      ),
      { numRuns: 600 },
    );
  });

  it("renders text without {{ to itself, with identity position mapping", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary", maxLength: 80 }).filter((s) => !s.includes("{{")),
        (src) => {
          const r = renderTemplate(src, {}, { file: "p.yaml" });
          expect(r.output).toBe(src);
          for (let i = 0; i <= src.length; i++) expect(r.mapPosition(i)).toEqual(lineCol(src, i));
        },
      ),
      { numRuns: 300 },
    );
  });

  // ---- generated well-formed templates, with an oracle for the output

  interface Gen {
    src: string;
    /** Expected output for data (A, B). */
    out: (a: string, b: string) => string;
  }

  const text: fc.Arbitrary<Gen> = fc
    .string({ maxLength: 6 })
    .map((s) => s.replace(/[{}]/g, "_"))
    .map((s) => ({ src: s, out: () => s }));

  const value: fc.Arbitrary<Gen> = fc.constantFrom<Gen>(
    { src: "{{ $.A }}", out: (a) => a },
    { src: "{{ $.MISSING }}", out: () => "<no value>" },
    { src: '{{ $.MISSING | default "d" }}', out: () => "d" },
    { src: "{{ $.B | upper }}", out: (_a, b) => b.toUpperCase() },
    { src: '{{ printf "%s-%d" $.A 3 }}', out: (a) => `${a}-3` },
    { src: "{{ len $.A }}", out: (a) => String(Buffer.byteLength(a)) },
    { src: '{{ $.A | replace "a" "b" }}', out: (a) => a.replaceAll("a", "b") },
    { src: '{{ regexReplaceAll "[0-9]+" $.B "N" }}', out: (_a, b) => b.replace(/[0-9]+/g, "N") },
    { src: "{{ add 1 2 }}", out: () => "3" },
    { src: '{{ list 1 "x" }}', out: () => "[1 x]" },
    { src: '{{ eq $.A "a" }}', out: (a) => String(a === "a") },
    { src: '{{ ne $.MISSING "" }}', out: () => "true" },
    { src: '{{ $v := $.A }}{{ $v }}{{ $v = "z" }}{{ $v }}', out: (a) => `${a}z` },
    { src: "{{/* comment */}}", out: () => "" },
  );

  const node: fc.Arbitrary<Gen> = fc.letrec<{ node: Gen; seq: Gen }>((tie) => ({
    node: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      text,
      value,
      fc.tuple(fc.boolean(), tie("seq"), tie("seq")).map(([c, x, y]) => ({
        src: `{{ if ${c ? 'ne "1" ""' : "$.MISSING"} }}${x.src}{{ else }}${y.src}{{ end }}`,
        out: (a: string, b: string) => (c ? x.out(a, b) : y.out(a, b)),
      })),
      fc.tuple(tie("seq"), tie("seq")).map(([x, y]) => ({
        src: `{{ if eq $.A "a" }}${x.src}{{ else if $.B }}${y.src}{{ end }}`,
        out: (a: string, b: string) => (a === "a" ? x.out(a, b) : b !== "" ? y.out(a, b) : ""),
      })),
      fc.tuple(fc.integer({ min: 0, max: 3 }), tie("seq"), tie("seq")).map(([n, x, y]) => ({
        src: `{{ range until ${n} }}${x.src}{{ else }}${y.src}{{ end }}`,
        out: (a: string, b: string) => (n === 0 ? y.out(a, b) : x.out(a, b).repeat(n)),
      })),
      fc.tuple(fc.integer({ min: 1, max: 4 }), tie("seq")).map(([n, x]) => ({
        src: `{{ range $i := ${n} }}{{ if eq $i 2 }}{{ break }}{{ end }}${x.src}{{ $i }}{{ end }}`,
        out: (a: string, b: string) =>
          Array.from({ length: Math.min(n, 2) }, (_, i) => `${x.out(a, b)}${i}`).join(""),
      })),
      tie("seq").map((x) => ({
        src: `{{ with $.B }}<{{ . }}>${x.src}{{ else }}-{{ end }}`,
        out: (a: string, b: string) => (b !== "" ? `<${b}>${x.out(a, b)}` : "-"),
      })),
      tie("seq").map((x) => ({
        src: `{{ define "d" }}[{{ . }}]{{ end }}${x.src}{{ template "d" $.A }}`,
        out: (a: string, b: string) => `${x.out(a, b)}[${a}]`,
      })),
    ),
    seq: fc.array(tie("node"), { maxLength: 3 }).map((parts) => ({
      src: parts.map((p) => p.src).join(""),
      out: (a: string, b: string) => parts.map((p) => p.out(a, b)).join(""),
    })),
  })).node;

  const safeString = fc.string({ maxLength: 6 }).map((s) => s.replace(/[^\x20-\x7e]/g, "x"));

  it("renders generated well-formed templates exactly as the model predicts", () => {
    fc.assert(
      fc.property(node, safeString, safeString, (g, a, b) => {
        // `define` may only appear at the top level once per name: skip nested or repeated ones.
        if (g.src.split("{{ define").length > 2) return;
        if (/^.+\{\{ define/s.test(g.src) && !g.src.startsWith("{{ define")) {
          const r = attempt(g.src, { A: a, B: b });
          if (typeof r !== "string") expect(r.code).toBe("TEMPLATE_PARSE");
          return;
        }
        const out = renderTemplate(g.src, { A: a, B: b }, { file: "p.yaml" }).output;
        expect(out).toBe(g.out(a, b));
      }),
      { numRuns: 400 },
    );
  });

  it("maps each output character of a generated template to a source position inside the template", () => {
    fc.assert(
      fc.property(node, safeString, (g, a) => {
        const r = attempt(g.src, { A: a, B: "b" });
        if (typeof r !== "string") return;
        const res = renderTemplate(g.src, { A: a, B: "b" }, { file: "p.yaml" });
        const lines = g.src.split("\n");
        for (let i = 0; i < res.output.length; i++) {
          const p = res.mapPosition(i);
          expect(p.line).toBeGreaterThanOrEqual(1);
          expect(p.line).toBeLessThanOrEqual(lines.length);
          expect(p.column).toBeGreaterThanOrEqual(1);
        }
      }),
      { numRuns: 200 },
    );
  });
});
