import { describe, expect, it } from "vitest";
import { render, renderError } from "../../test/template-helpers.ts";
import { parseTemplate } from "./index.ts";
import { lex } from "./lexer.ts";

const tokens = (src: string) => lex(src).map((t) => `${t.type}:${t.val}`);

describe("lexer", () => {
  it("splits text, delimiters and action tokens", () => {
    expect(tokens('a{{ .X | printf "%d" 1 }}b')).toEqual([
      "text:a",
      "leftDelim:{{",
      "space: ",
      "field:.X",
      "space: ",
      "pipe:|",
      "space: ",
      "identifier:printf",
      "space: ",
      'string:"%d"',
      "space: ",
      "number:1",
      "space: ",
      "rightDelim:}}",
      "text:b",
      "eof:",
    ]);
  });

  it("trims around trim markers and reports positions of kept text", () => {
    const toks = lex("ab  {{- 1 -}}  cd");
    expect(toks.map((t) => [t.type, t.val, t.pos])).toEqual([
      ["text", "ab", 0],
      ["leftDelim", "{{", 4],
      ["number", "1", 8],
      ["rightDelim", "}}", 11],
      ["text", "cd", 15],
      ["eof", "", 17],
    ]);
  });

  it("treats identifiers named like Object.prototype members as identifiers", () => {
    expect(tokens("{{toString}}")[1]).toBe("identifier:toString");
    expect(tokens("{{constructor}}")[1]).toBe("identifier:constructor");
  });

  it("knows keywords, variables, chars and declarations", () => {
    expect(tokens("{{range $i, $v := .}}{{break}}{{end}}").filter((t) => !t.startsWith("space"))).toEqual([
      "leftDelim:{{",
      "range:range",
      "variable:$i",
      "char:,",
      "variable:$v",
      "declare::=",
      "dot:.",
      "rightDelim:}}",
      "leftDelim:{{",
      "break:break",
      "rightDelim:}}",
      "leftDelim:{{",
      "end:end",
      "rightDelim:}}",
      "eof:",
    ]);
  });
});

describe("parse errors match Go's messages", () => {
  // Messages of Go's template.Parse for the same inputs (Go 1.2x).
  it.each([
    ["{{.Name}} {{.LastName}", "bad character U+007D '}'"],
    ["{{if .X}}", "unexpected EOF"],
    ["{{.A.}}", "unexpected <.> in operand"],
    ["x\n{{end}}", "unexpected {{end}}"],
    ['{{"abc}}', "unterminated quoted string"],
    ["{{fn}}", 'function "fn" not defined'],
    ["{{(1}}", "unclosed left paren"],
    ["{{.X}\n\n}}", "bad character U+007D '}'"],
    ["{{with $x := 1}}{{else with 2}}{{end}}{{$x}}", 'undefined variable "$x"'],
    ["{{-.A}}", 'bad number syntax: "-.A"'],
    ["{{'a}}", "unterminated character constant"],
    ["{{.A=}}", "bad character U+003D '='"],
    ["{{`abc}}", "unterminated raw quoted string"],
    ["{{.A,.B}}", 'unexpected "," in operand'],
    ["{{1)}}", "unexpected right paren"],
    ["{{ .X", "unclosed action"],
    ["{{/* x", "unclosed comment"],
    ["{{/* x */ }}", "comment ends before closing delimiter"],
    ["{{ else }}", "unexpected {{else}}"],
    ["{{ if 1 }}{{ else }}{{ else }}{{ end }}", "expected end; found {{else}}"],
    ["{{ if 1 }}{{ else if }}{{ end }}", "missing value for if"],
    ["{{ range list }}{{ else if 1 }}{{ end }}", "unexpected <if> in input"],
    ["{{ if $a, $b := 1 }}{{ end }}", "too many declarations in if"],
    ["{{ with }}{{ end }}", "missing value for with"],
    ["{{ : }}", "expected :="],
    ["{{ @ }}", 'unexpected "@" in command'],
    ["{{ \u00e9 }}", 'function "é" not defined'],
    ["{{ \u0001 }}", "unrecognized character in action: U+0001"],
    ["{{ template .X }}", "unexpected <.X> in template clause"],
  ])("%s", (src, message) => {
    const e = renderError(src);
    expect(e.code).toBe("TEMPLATE_PARSE");
    expect(e.message).toBe(message.replace("<.X>", '".X"'));
  });

  it.each([
    ["a {{.X | }}", "a <no value>"],
    ["{{ 3. }}", "3"],
    ["{{ $x := 1 }}{{ $x = 2 }}{{ $x }}", "2"],
    ["{{ range $i, $v := list 1 }}{{ $v }}{{ break }}{{ end }}{{/* c */}}", "1"],
    ['{{ define "a" }}{{ . }}{{ end }}{{ template "a" 1 }}{{ block "b" 2 }}x{{ end }}', "1x"],
    ["{{ .ARCH -}}", "aarch64"],
  ])("%s parses", (src, want) => {
    expect(render(src)).toBe(want);
  });
});

describe("error locations", () => {
  it.each([
    ["unclosed action points at its {{", "line1\n  x: {{ .ARCH ", 2, 6, "unclosed action"],
    ["unexpected end", "a\nb\n    {{ end }}", 3, 5, "unexpected {{end}}"],
    ["unknown function", "a: 1\nb: {{ uper .NAME }}", 2, 7, 'function "uper" not defined'],
    ["bad pipeline", "{{ .NAME | 3 }}", 1, 12, "non executable command in pipeline stage 2"],
    ["unclosed if points at the if", "x\n{{ if .A }}\ny", 2, 1, "unexpected EOF"],
    ["undefined variable", "\n\n {{ $nope }}", 3, 5, 'undefined variable "$nope"'],
    ["bad number", "{{ 1x }}", 1, 4, 'bad number syntax: "1x"'],
    ["unclosed comment", "ok\n{{/* open", 2, 1, "unclosed comment"],
  ])("%s", (_name, src, line, column, message) => {
    const e = renderError(src);
    expect(e.code).toBe("TEMPLATE_PARSE");
    expect(e.message).toBe(message);
    expect(e.location).toEqual({ file: "t.yaml", line, column });
    expect(e.hint).toBeTruthy();
  });

  it("suggests a close function name", () => {
    expect(renderError("{{ uper .NAME }}").hint).toContain('did you mean "upper"?');
    expect(renderError("{{ regexReplace .NAME }}").hint).toContain("sprig");
  });

  it.each([
    ["missing key to upper", "a: 1\nb: {{ upper .MISSING }}", 2, 13],
    ["function error at the command", 'x\n  {{ fail "no" }}', 2, 6],
    ["comparison error", "{{ if eq .NUM 42 }}{{ end }}", 1, 7],
    ["range over a string", '\n{{ range "abc" }}{{ end }}', 2, 1],
    [
      "error inside a defined template",
      '{{ define "t" }}\n  {{ index . 9 }}{{ end }}{{ template "t" list }}',
      2,
      6,
    ],
  ])("execution error: %s", (_name, src, line, column) => {
    const e = renderError(src);
    expect(e.code).toBe("TEMPLATE_EXEC");
    expect(e.location).toEqual({ file: "t.yaml", line, column });
    expect(e.hint).toBeTruthy();
  });

  it("reports errors in the same file name it was given", () => {
    expect(() => parseTemplate("{{ end }}", { file: "storage/zfs/pkg.yaml" })).toThrow(
      expect.objectContaining({
        code: "TEMPLATE_PARSE",
        location: { file: "storage/zfs/pkg.yaml", line: 1, column: 1 },
      }),
    );
  });
});

describe("bounds", () => {
  it("rejects absurd nesting instead of overflowing the stack", () => {
    const deep = `{{ ${"(".repeat(5000)}1${")".repeat(5000)} }}`;
    expect(renderError(deep).code).toBe("TEMPLATE_PARSE");
    const ifs = `${"{{ if 1 }}".repeat(3000)}x${"{{ end }}".repeat(3000)}`;
    expect(renderError(ifs).code).toBe("TEMPLATE_PARSE");
  });

  it("accepts reasonable nesting", () => {
    expect(render(`{{ ${"(".repeat(200)}1${")".repeat(200)} }}`)).toBe("1");
    expect(render(`${"{{ if 1 }}".repeat(200)}x${"{{ end }}".repeat(200)}`)).toBe("x");
  });

  it("stops work on exponentially shared values instead of exhausting memory", () => {
    const grow = "{{ $l := list 1 }}{{ range until 40 }}{{ $l = list $l $l }}{{ end }}";
    for (const use of ["{{ toJson $l }}", "{{ $l }}", "{{ deepCopy $l }}", '{{ printf "%v" $l }}']) {
      expect(renderError(grow + use).code).toBe("TEMPLATE_EXEC");
    }
    expect(render(`${grow}{{ deepEqual $l $l }}`)).toBe("true");
  });

  it("stops quadratic loops over growing lists", () => {
    const e = renderError("{{ $l := list }}{{ range until 100000 }}{{ $l = append $l . }}{{ end }}");
    expect(e.code).toBe("TEMPLATE_EXEC");
    expect(e.message).toContain("steps");
  });

  it("stops endless work with an execution error", () => {
    expect(
      renderError('{{ define "a" }}{{ template "a" }}{{ template "a" }}{{ end }}{{ template "a" }}').code,
    ).toBe("TEMPLATE_EXEC");
    expect(renderError("{{ range 100000000 }}{{ end }}").message).toContain("steps");
    expect(renderError('{{ repeat 100000000 "xxxxxxxx" }}').message).toContain("too large");
    expect(
      renderError(
        '{{ define "x" }}{{ . }}{{ . }}{{ . }}{{ . }}{{ end }}{{ range 1000000 }}{{ template "x" "abcdefghijklmnopqrstuvwxyz0123456789" }}{{ end }}',
      ).code,
    ).toBe("TEMPLATE_EXEC");
  });
});
