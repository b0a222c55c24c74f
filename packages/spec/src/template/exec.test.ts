import { describe, expect, it } from "vitest";
import { DATA, render, renderError } from "../../test/template-helpers.ts";
import { executeTemplate, parseTemplate } from "./index.ts";

describe("text and actions", () => {
  it.each([
    ["plain text", "a: 1\n  b: [x, y]\n", "a: 1\n  b: [x, y]\n"],
    ["field", "v={{ .ARCH }}", "v=aarch64"],
    ["field without spaces", "{{.ARCH}}", "aarch64"],
    ["dot is the data map, printed like Go's %v", "{{ . }}", ""],
    ["root variable", "{{ $.NAME }}", "Talos"],
    ["comment", "a{{/* note */}}b", "ab"],
    ["multi-line comment", "a{{/* one\ntwo */}}b", "ab"],
    ["comment with trim markers", "a  {{- /* c */ -}}  b", "ab"],
    ["left trim", "a \n\t {{- 1 }} b", "a1 b"],
    ["right trim", "a {{ 1 -}} \n\n b", "a 1b"],
    ["both trims", "x\n  {{- .NAME -}}\n  y", "xTalosy"],
    ["a minus without space is a number", "{{-3}}", "-3"],
    ["trim keeps non-space text", "a.{{- 1 -}}.b", "a.1.b"],
    ["action spanning lines", '{{ printf "%s"\n  .NAME }}', "Talos"],
    ["text around many actions", "[{{1}}|{{2}}|{{3}}]", "[1|2|3]"],
  ])("%s", (_name, src, want) => {
    if (src === "{{ . }}") {
      expect(render(src, { B: "2", A: "1" })).toBe("map[A:1 B:2]");
      return;
    }
    expect(render(src)).toBe(want);
  });

  it("keeps every byte of text exactly, including CRLF and unicode", () => {
    const src = "a:\r\n  - é 😀\t{{ .NAME }}\r\n\u00a0end";
    expect(render(src)).toBe("a:\r\n  - é 😀\tTalos\r\n\u00a0end");
  });
});

describe("literals", () => {
  it.each([
    ["decimal", "{{ 42 }}", "42"],
    ["negative", "{{ -5 }}", "-5"],
    ["plus sign", "{{ +5 }}", "5"],
    ["hex", "{{ 0x1F }}", "31"],
    ["octal with 0o", "{{ 0o17 }}", "15"],
    ["octal with leading zero", "{{ 017 }}", "15"],
    ["binary", "{{ 0b101 }}", "5"],
    ["underscores", "{{ 1_000_000 }}", "1000000"],
    ["float", "{{ 3.5 }}", "3.5"],
    ["float with exponent", "{{ 1.5e3 }}", "1500"],
    ["float printed with exponent", "{{ 1e6 }}", "1e+06"],
    ["large float", "{{ 1234567.0 }}", "1.234567e+06"],
    ["small float", "{{ 0.00001 }}", "1e-05"],
    ["leading dot float", "{{ .5 }}", "0.5"],
    ["hex float", "{{ 0x1p4 }}", "16"],
    ["char", "{{ 'a' }}", "97"],
    ["escaped char", "{{ '\\n' }}", "10"],
    ["unicode char", "{{ '\\u00e9' }}", "233"],
    ["true", "{{ true }}", "true"],
    ["false", "{{ false }}", "false"],
    ["string escapes", '{{ "a\\tb\\\\c\\"d" }}', 'a\tb\\c"d'],
    ["unicode escapes", '{{ "\\u00e9\\U0001F600" }}', "é😀"],
    ["byte escapes form UTF-8", '{{ "\\xc3\\xa9" }}', "é"],
    ["octal escape", '{{ "\\101" }}', "A"],
    ["raw string", "{{ `a\\nb` }}", "a\\nb"],
    ["raw string across lines", "{{ `a\nb` }}", "a\nb"],
    ["raw string drops CR", "{{ `a\r\nb` }}", "a\nb"],
  ])("%s", (_name, src, want) => {
    expect(render(src)).toBe(want);
  });

  it.each([
    ["integer overflow", "{{ 99999999999999999999 }}", "TEMPLATE_PARSE", /integer overflow/],
    ["bad octal", "{{ 089 }}", "TEMPLATE_PARSE", /integer overflow: "089"/],
    ["bad underscores", "{{ 1__0 }}", "TEMPLATE_PARSE", /illegal number syntax/],
    ["uint overflowing int", "{{ 0xFFFFFFFFFFFFFFFF }}", "TEMPLATE_EXEC", /overflows int/],
    ["bad string escape", '{{ "\\q" }}', "TEMPLATE_PARSE", /invalid syntax/],
    ["unterminated string", '{{ "abc }}', "TEMPLATE_PARSE", /unterminated quoted string/],
    ["newline in string", '{{ "a\nb" }}', "TEMPLATE_PARSE", /unterminated quoted string/],
    ["unterminated raw string", "{{ `abc }}", "TEMPLATE_PARSE", /unterminated raw quoted string/],
    ["bad char", "{{ 'ab' }}", "TEMPLATE_PARSE", /malformed character constant|invalid syntax/],
    ["nil is not a command", "{{ nil }}", "TEMPLATE_EXEC", /nil is not a command/],
    ["complex numbers", "{{ 1+2i }}", "TEMPLATE_PARSE", /complex/],
  ])("%s fails", (_name, src, code, message) => {
    const e = renderError(src);
    expect(e.code).toBe(code);
    expect(e.message).toMatch(message);
  });
});

describe("missing keys (bldr's data is map[string]string)", () => {
  it.each([
    ["prints <no value>", "{{ .MISSING }}", "<no value>"],
    ["is false in if", "{{ if .MISSING }}y{{ else }}n{{ end }}", "n"],
    ["eq with a string is false", '{{ eq .MISSING "x" }}', "false"],
    ["ne with empty string is true", '{{ ne .MISSING "" }}', "true"],
    ["default replaces it", '{{ .MISSING | default "bar" }}', "bar"],
    ["default as an argument", '{{ default "bar" .MISSING }}', "bar"],
    ["cat skips it", '{{ cat "a" .MISSING "b" }}', "a b"],
    ["not of it is true", "{{ not .MISSING }}", "true"],
    ["field of it is still no value", "{{ .MISSING.deeper }}", "<no value>"],
    ["index on the data map gives the zero string", '[{{ index . "MISSING" }}]', "[]"],
    ["print gets nil", "{{ print .MISSING }}", "<nil>"],
    ["printf %s gets nil", '{{ printf "%s" .MISSING }}', "%!s(<nil>)"],
    ["empty says true", "{{ empty .MISSING }}", "true"],
    ["and returns it", '{{ and .MISSING "x" }}', "<no value>"],
    ["or skips it", '{{ or .MISSING "x" }}', "x"],
    ["html shows <no value>", "{{ html .MISSING }}", "&lt;no value&gt;"],
    ["typeOf", "{{ typeOf .MISSING }}", "<nil>"],
    ["kindOf", "{{ kindOf .MISSING }}", "invalid"],
    ["quote skips it", "[{{ quote .MISSING }}]", "[]"],
    ["toString", "{{ toString .MISSING }}", "<nil>"],
    [
      "ne against the literal text used by grype-scan",
      '{{ if ne .BUILD_ARG_GRYPE_EXTRA_ARGS "" }}set{{ end }}',
      "set",
    ],
  ])("%s", (_name, src, want) => {
    expect(render(src)).toBe(want);
  });

  it("is an execution error for a function that wants a string", () => {
    const e = renderError("line1\n  {{ upper .MISSING }}");
    expect(e.code).toBe("TEMPLATE_EXEC");
    expect(e.message).toContain("invalid value; expected string");
    expect(e.location).toEqual({ file: "t.yaml", line: 2, column: 12 });
    expect(e.hint).toMatch(/default/);
  });

  it.each([
    ["{{ .MISSING | upper }}", "invalid value; expected string"],
    ['{{ replace "-" "." .MISSING }}', "invalid value; expected string"],
    ["{{ substr 0 7 .MISSING }}", "invalid value; expected string"],
    ['{{ regexReplaceAll "a" .MISSING "b" }}', "invalid value; expected string"],
    ['{{ ternary "a" "b" .MISSING }}', "invalid value; expected bool"],
    ["{{ len .MISSING }}", "error calling len"],
    ['{{ lt .MISSING "a" }}', "invalid type for comparison"],
  ])("%s fails", (src, message) => {
    const e = renderError(src);
    expect(e.code).toBe("TEMPLATE_EXEC");
    expect(e.message).toContain(message);
  });
});

describe("if / else", () => {
  it.each([
    ["true branch", '{{ if eq .ARCH "aarch64" }}arm{{ end }}', "arm"],
    ["false branch", '{{ if eq .ARCH "x86_64" }}x86{{ else }}other{{ end }}', "other"],
    ["else if chain", '{{ if eq .ARCH "x" }}1{{ else if eq .ARCH "aarch64" }}2{{ else }}3{{ end }}', "2"],
    [
      "else if chain falls through",
      '{{ if eq .ARCH "x" }}1{{ else if eq .ARCH "y" }}2{{ else }}3{{ end }}',
      "3",
    ],
    ["long else if chain", "{{ if 0 }}a{{ else if 0 }}b{{ else if 0 }}c{{ else if 1 }}d{{ end }}", "d"],
    ["empty string is false", "{{ if .EMPTY }}y{{ else }}n{{ end }}", "n"],
    ["zero is false", "{{ if 0 }}y{{ else }}n{{ end }}", "n"],
    ["zero float is false", "{{ if 0.0 }}y{{ else }}n{{ end }}", "n"],
    ["non-zero is true", "{{ if -1 }}y{{ end }}", "y"],
    ["empty list is false", "{{ if list }}y{{ else }}n{{ end }}", "n"],
    ["empty map is false", "{{ if dict }}y{{ else }}n{{ end }}", "n"],
    ["non-empty list is true", '{{ if list "" }}y{{ end }}', "y"],
    ["false is false", "{{ if false }}y{{ else }}n{{ end }}", "n"],
    ["nested", "{{ if 1 }}{{ if 0 }}a{{ else }}b{{ end }}{{ end }}", "b"],
    ["with declaration", "{{ if $x := .NAME }}{{ $x }}{{ end }}", "Talos"],
    ["declared variable visible in else", "{{ if $x := .EMPTY }}y{{ else }}[{{ $x }}]{{ end }}", "[]"],
  ])("%s", (_name, src, want) => {
    expect(render(src)).toBe(want);
  });
});

describe("and / or / not", () => {
  it.each([
    ['{{ and "a" "b" }}', "b"],
    ['{{ and "" "b" }}', ""],
    ['{{ and 1 0 "x" }}', "0"],
    ['{{ or "" "b" }}', "b"],
    ['{{ or "" 0 }}', "0"],
    ['{{ or "x" (fail "not evaluated") }}', "x"],
    ['{{ and "" (fail "not evaluated") }}', ""],
    ['{{ "b" | and "a" }}', "b"],
    ['{{ "" | or 0 }}', ""],
    ["{{ not 0 }}", "true"],
    ['{{ not "x" }}', "false"],
    ['{{ if and (eq .ARCH "aarch64") (ne .NAME "") }}ok{{ end }}', "ok"],
  ])("%s", (src, want) => {
    expect(render(src)).toBe(want);
  });
});

describe("comparison", () => {
  it.each([
    ["{{ eq 1 1 }}", "true"],
    ['{{ eq "a" "b" "c" "a" }}', "true"],
    ['{{ eq "a" "b" "c" }}', "false"],
    ["{{ ne 1 2 }}", "true"],
    ["{{ lt 1 2 }}", "true"],
    ['{{ lt "a" "b" }}', "true"],
    ["{{ le 2 2 }}", "true"],
    ["{{ gt 3 2 }}", "true"],
    ["{{ ge 1 2 }}", "false"],
    ["{{ lt 1.5 2.5 }}", "true"],
    ["{{ eq true true }}", "true"],
    ['{{ eq (index "a" 0) 97 }}', "true"],
    ['{{ lt (index "a" 0) 98 }}', "true"],
    ["{{ eq (add 1 1) 2 }}", "true"],
    ['{{ eq .ARCH "aarch64" }}', "true"],
  ])("%s", (src, want) => {
    expect(render(src)).toBe(want);
  });

  it.each([
    ['{{ eq 1 "1" }}', "incompatible types for comparison"],
    ["{{ eq 1 1.0 }}", "incompatible types for comparison"],
    ["{{ lt true false }}", "invalid type for comparison"],
    ["{{ eq 1 }}", "missing argument for comparison"],
    ["{{ eq (list 1) (list 1) }}", "non-comparable"],
    ["{{ lt (list) 1 }}", "invalid type for comparison"],
  ])("%s fails", (src, message) => {
    const e = renderError(src);
    expect(e.code).toBe("TEMPLATE_EXEC");
    expect(e.message).toContain(message);
  });
});

describe("range", () => {
  it.each([
    ["list", '{{ range list "a" "b" }}[{{ . }}]{{ end }}', "[a][b]"],
    ["index and value", '{{ range $i, $v := list "a" "b" }}{{ $i }}={{ $v }};{{ end }}', "0=a;1=b;"],
    ["value only", '{{ range $v := list "a" "b" }}{{ $v }}{{ end }}', "ab"],
    [
      "map in key order",
      '{{ range $k, $v := dict "z" 1 "a" 2 "m" 3 }}{{ $k }}{{ $v }} {{ end }}',
      "a2 m3 z1 ",
    ],
    ["data map in key order", "{{ range $k, $v := . }}{{ $k }}={{ $v }},{{ end }}", "A=1,B=2,"],
    ["integer", "{{ range 3 }}{{ . }}{{ end }}", "012"],
    ["integer into a variable", "{{ range $i := 3 }}{{ $i }}{{ end }}", "012"],
    ["zero integer uses else", "{{ range 0 }}x{{ else }}none{{ end }}", "none"],
    ["empty list uses else", "{{ range list }}x{{ else }}empty{{ end }}", "empty"],
    ["missing value uses else", "{{ range .MISSING }}x{{ else }}nothing{{ end }}", "nothing"],
    ["break", "{{ range until 10 }}{{ if eq . 3 }}{{ break }}{{ end }}{{ . }}{{ end }}", "012"],
    ["continue", "{{ range until 5 }}{{ if eq . 2 }}{{ continue }}{{ end }}{{ . }}{{ end }}", "0134"],
    [
      "nested ranges with break",
      "{{ range until 2 }}{{ range until 5 }}{{ if eq . 1 }}{{ break }}{{ end }}{{ . }}{{ end }}|{{ end }}",
      "0|0|",
    ],
    ["root stays reachable", "{{ range until 2 }}{{ $.NAME }}{{ end }}", "TalosTalos"],
    ["nil elements print no value", "{{ range list nil 1 }}[{{ . }}]{{ end }}", "[<no value>][1]"],
    [
      "variables assigned in the body are kept",
      "{{ $n := 0 }}{{ range until 3 }}{{ $n = add $n . }}{{ end }}{{ $n }}",
      "3",
    ],
    [
      "assignment form",
      "{{ $i := 0 }}{{ $v := 0 }}{{ range $i, $v = list 7 8 }}{{ end }}{{ $i }}{{ $v }}",
      "18",
    ],
    ["split result", '{{ range splitList "," "a,b,c" }}<{{ . }}>{{ end }}', "<a><b><c>"],
  ])("%s", (_name, src, want) => {
    const data = src.includes("range $k, $v := .") ? { B: "2", A: "1" } : DATA;
    expect(render(src, data)).toBe(want);
  });

  it.each([
    ['{{ range "abc" }}{{ end }}', "range can't iterate over abc"],
    ["{{ range $i, $v := 3 }}{{ end }}", "can't use 3 to iterate over more than one variable"],
    ["{{ range true }}{{ end }}", "range can't iterate over true"],
  ])("%s fails", (src, message) => {
    const e = renderError(src);
    expect(e.code).toBe("TEMPLATE_EXEC");
    expect(e.message).toContain(message);
  });

  it.each([
    ["{{ break }}", "{{break}} outside {{range}}"],
    ["{{ if 1 }}{{ continue }}{{ end }}", "{{continue}} outside {{range}}"],
    ['{{ range list }}{{ define "x" }}{{ end }}{{ end }}', "unexpected <define>"],
    ["{{ range $a, $b, $c := list }}{{ end }}", "too many declarations in range"],
    ["{{ range $a, 1 := list }}{{ end }}", "range can only initialize variables"],
  ])("%s is a parse error", (src, message) => {
    const e = renderError(src);
    expect(e.code).toBe("TEMPLATE_PARSE");
    expect(e.message).toContain(message);
  });
});

describe("with", () => {
  it.each([
    ["sets dot", "{{ with .NAME }}{{ . }}!{{ end }}", "Talos!"],
    ["skips empty", "{{ with .EMPTY }}x{{ else }}empty{{ end }}", "empty"],
    ["skips missing", "{{ with .MISSING }}x{{ end }}", ""],
    ["else with", "{{ with .MISSING }}a{{ else with .NAME }}{{ . }}{{ end }}", "Talos"],
    ["else with falls to else", "{{ with .MISSING }}a{{ else with .EMPTY }}b{{ else }}c{{ end }}", "c"],
    ["declaration", "{{ with $n := .NAME }}{{ $n }}{{ . }}{{ end }}", "TalosTalos"],
    ["dot restored after", "{{ with .NAME }}{{ end }}{{ .ARCH }}", "aarch64"],
  ])("%s", (_name, src, want) => {
    expect(render(src)).toBe(want);
  });
});

describe("variables", () => {
  it.each([
    ["declare and use", '{{ $x := "a" }}{{ $x }}', "a"],
    ["declaration prints nothing", '[{{ $x := "a" }}]', "[]"],
    [
      "assign in a nested block changes the outer variable",
      "{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}",
      "2",
    ],
    ["shadowing in a block", "{{ $x := 1 }}{{ if true }}{{ $x := 2 }}{{ $x }}{{ end }}{{ $x }}", "21"],
    ["field of a variable", '{{ $d := dict "a" (dict "b" 7) }}{{ $d.a.b }}', "7"],
    [
      "$ inside a template call is the template's dot",
      '{{ define "t" }}{{ $ }}{{ end }}{{ template "t" "arg" }}',
      "arg",
    ],
    ["variable from a pipeline", "{{ $v := .NAME | upper }}{{ $v }}", "TALOS"],
  ])("%s", (_name, src, want) => {
    expect(render(src)).toBe(want);
  });

  it("rejects an undefined variable at parse time with its location", () => {
    const e = renderError("ok\n{{ if true }}{{ $y := 1 }}{{ end }}{{ $y }}");
    expect(e.code).toBe("TEMPLATE_PARSE");
    expect(e.message).toBe('undefined variable "$y"');
    expect(e.location).toEqual({ file: "t.yaml", line: 2, column: 39 });
  });

  it("rejects assignment to an undeclared variable at execution", () => {
    const e = renderError("{{ $z = 1 }}");
    expect(e.code).toBe("TEMPLATE_EXEC");
    expect(e.message).toContain("undefined variable: $z");
  });
});

describe("pipelines and commands", () => {
  it.each([
    ["chained functions", '{{ "a" | upper | printf "%s!" }}', "A!"],
    ["piped value is the last argument", '{{ "x" | printf "%s-%s" "y" }}', "y-x"],
    ["parenthesized argument", '{{ print (upper "a") "b" }}', "Ab"],
    ["parenthesized command", '{{ (print "a") }}', "a"],
    ["nested parentheses", "{{ add (add (add 1 2) 3) 4 }}", "10"],
    ["field of a parenthesized pipeline", '{{ (dict "a" "b").a }}', "b"],
    ["method of a value", '{{ (semver "1.2.3").Minor }}', "2"],
    ["missing field of a dict", "{{ (dict).x }}", "<no value>"],
  ])("%s", (_name, src, want) => {
    expect(render(src)).toBe(want);
  });

  it.each([
    ["{{ 1 2 }}", "TEMPLATE_EXEC", "can't give argument to non-function 1"],
    ["{{ .NAME 1 }}", "TEMPLATE_EXEC", "NAME is not a method but has arguments"],
    ["{{ .NAME.x }}", "TEMPLATE_EXEC", "can't evaluate field x in type string"],
    ['{{ "a" | "b" }}', "TEMPLATE_PARSE", "non executable command in pipeline stage 2"],
    ["{{ upper }}", "TEMPLATE_EXEC", "wrong number of args for upper: want 1 got 0"],
    ['{{ upper "a" "b" }}', "TEMPLATE_EXEC", "wrong number of args for upper: want 1 got 2"],
    ["{{ upper 5 }}", "TEMPLATE_EXEC", "expected string; found 5"],
    ["{{ 5 | upper }}", "TEMPLATE_EXEC", "wrong type for value; expected string; got int"],
    ['{{ repeat (add 1 1) "x" }}', "TEMPLATE_EXEC", "wrong type for value; expected int; got int64"],
    ["{{ substr 0 nil .NAME }}", "TEMPLATE_EXEC", "cannot assign nil to int"],
    ['{{ call .NAME "x" }}', "TEMPLATE_EXEC", "error calling call"],
    ["{{ (1).x }}", "TEMPLATE_EXEC", "can't evaluate field x in type int"],
    ['{{ "a".x }}', "TEMPLATE_PARSE", "unexpected . after term"],
    ["{{ }}", "TEMPLATE_PARSE", "missing value for command"],
    ["{{ ( ) }}", "TEMPLATE_PARSE", "missing value for parenthesized pipeline"],
  ])("%s fails", (src, code, message) => {
    const e = renderError(src);
    expect(e.code).toBe(code);
    expect(e.message).toContain(message);
  });
});

describe("define / template / block", () => {
  it.each([
    [
      "define and call with data",
      '{{ define "greet" }}hi {{ . }}{{ end }}{{ template "greet" .NAME }}',
      "hi Talos",
    ],
    ["call before the definition", '{{ template "x" 1 }}{{ define "x" }}<{{ . }}>{{ end }}', "<1>"],
    ["call without data gives no value", '{{ define "x" }}{{ . }}{{ end }}{{ template "x" }}', "<no value>"],
    ["block defines and runs", '{{ block "b" .NAME }}[{{ . }}]{{ end }}', "[Talos]"],
    ["definitions do not print", 'a{{ define "x" }}ignored{{ end }}b', "ab"],
    [
      "template variables are not inherited",
      '{{ define "x" }}{{ $ }}{{ end }}{{ $v := 1 }}{{ template "x" 2 }}',
      "2",
    ],
    [
      "recursion with a stop",
      '{{ define "r" }}{{ if gt . 0 }}{{ . }}{{ template "r" sub . 1 }}{{ end }}{{ end }}{{ template "r" 3 }}',
      "321",
    ],
  ])("%s", (_name, src, want) => {
    expect(render(src)).toBe(want);
  });

  it.each([
    ['{{ template "nope" }}', "TEMPLATE_EXEC", 'template "nope" not defined'],
    [
      '{{ define "a" }}{{ template "a" }}{{ end }}{{ template "a" }}',
      "TEMPLATE_EXEC",
      "exceeded maximum template depth",
    ],
    [
      '{{ define "a" }}1{{ end }}{{ define "a" }}2{{ end }}',
      "TEMPLATE_PARSE",
      'multiple definition of template "a"',
    ],
    ['{{ define "a" }}x', "TEMPLATE_PARSE", "unexpected EOF"],
    ["{{ define a }}{{ end }}", "TEMPLATE_PARSE", "unexpected"],
    ['{{ template "a" | }}', "TEMPLATE_PARSE", 'unexpected "|" in template clause'],
  ])("%s fails", (src, code, message) => {
    const e = renderError(src);
    expect(e.code).toBe(code);
    expect(e.message).toContain(message);
  });
});

describe("printing values like fmt's %v", () => {
  it.each([
    ["int", "{{ 7 }}", "7"],
    ["float", "{{ 2.5 }}", "2.5"],
    ["whole float", "{{ 2.0 }}", "2"],
    ["float 1e21", "{{ 1e21 }}", "1e+21"],
    ["bool", "{{ true }}", "true"],
    ["list", '{{ list "a" "b" "c" }}', "[a b c]"],
    ["list of mixed values", '{{ list 1 "a" 2.5 true nil }}', "[1 a 2.5 true <nil>]"],
    ["nested list", "{{ list (list 1 2) (list) }}", "[[1 2] []]"],
    ["map with sorted keys", '{{ dict "b" 2 "a" 1 }}', "map[a:1 b:2]"],
    ["empty map", "{{ dict }}", "map[]"],
    ["string map", '{{ split "," "x,y" }}', "map[_0:x _1:y]"],
    ["string slice", '{{ splitList "," "x,y" }}', "[x y]"],
    ["semver", '{{ semver "v1.2.3" }}', "1.2.3"],
    ["nil from a function", "{{ first list }}", "<no value>"],
  ])("%s", (_name, src, want) => {
    expect(render(src)).toBe(want);
  });
});

describe("plain function set (bldr eval)", () => {
  it("has Go's built-ins only", () => {
    expect(render('{{ printf "%s" .NAME }}', DATA, { functions: "plain" })).toBe("Talos");
    const e = renderError("line\n{{ upper .NAME }}", DATA, { functions: "plain" });
    expect(e.code).toBe("TEMPLATE_PARSE");
    expect(e.message).toBe('function "upper" not defined');
    expect(e.location).toEqual({ file: "t.yaml", line: 2, column: 4 });
  });

  it("uses Go's slice, which sprig replaces", () => {
    expect(render('{{ slice "hello" 1 3 }}', DATA, { functions: "plain" })).toBe("el");
    expect(render('{{ slice "hello" 2 }}', DATA, { functions: "plain" })).toBe("llo");
    expect(renderError('{{ slice "hello" 3 1 }}', DATA, { functions: "plain" }).message).toContain(
      "invalid slice index: 3 > 1",
    );
    expect(renderError('{{ slice "hello" 1 3 }}').message).toContain(
      "list should be type of slice or array but string",
    );
  });

  it("checks a template parsed once against the set used to execute it", () => {
    const t = parseTemplate("{{ upper .NAME }}", { file: "x" });
    expect(executeTemplate(t, DATA).output).toBe("TALOS");
    expect(() => executeTemplate(t, DATA, { functions: "plain" })).toThrow(/function "upper" not defined/);
  });

  it("reuses a parsed template with different data", () => {
    const t = parseTemplate('{{ if eq .ARCH "x86_64" }}amd64{{ else }}arm64{{ end }}', { file: "x" });
    expect(executeTemplate(t, { ARCH: "x86_64" }).output).toBe("amd64");
    expect(executeTemplate(t, { ARCH: "aarch64" }).output).toBe("arm64");
  });
});

describe("builtins", () => {
  it.each([
    ['{{ len "héllo" }}', "6"],
    ["{{ len (list 1 2) }}", "2"],
    ['{{ len (dict "a" 1) }}', "1"],
    ['{{ index "abc" 1 }}', "98"],
    ["{{ index (list 1 2 3) 2 }}", "3"],
    ['{{ index (dict "a" (list 5 6)) "a" 1 }}', "6"],
    ['{{ index (dict "a" 1) "zz" }}', "<no value>"],
    ['{{ index . "NAME" }}', "Talos"],
    ['{{ print 1 2 "a" "b" 3 }}', "1 2ab3"],
    ['{{ println 1 "a" }}', "1 a\n"],
    ['{{ html "<a href=\'x\'>&\\"" }}', "&lt;a href=&#39;x&#39;&gt;&amp;&#34;"],
    ['{{ js "it\'s \\"q\\" <b>=&" }}', 'it\\\'s \\"q\\" \\u003Cb\\u003E\\u003D\\u0026'],
    ['{{ js "a\\nb" }}', "a\\u000Ab"],
    ['{{ urlquery "a b&c=d/é" }}', "a+b%26c%3Dd%2F%C3%A9"],
    ['{{ html 1 "a" 2 }}', "1a2"],
  ])("%s", (src, want) => {
    expect(render(src)).toBe(want);
  });

  it.each([
    ["{{ index (list 1) 5 }}", "index out of range: 5"],
    ["{{ index (list 1) 1 }}", "slice index out of range"],
    ["{{ index (list 1) -1 }}", "index out of range: -1"],
    ['{{ index (list 1) "a" }}', "cannot index slice/array with type string"],
    ["{{ index 5 1 }}", "can't index item of type int"],
    ["{{ index .MISSING 1 }}", "index of untyped nil"],
    ["{{ index (dict) 1 }}", "value has type int; should be string"],
    ["{{ len 5 }}", "len of type int"],
  ])("%s fails", (src, message) => {
    const e = renderError(src);
    expect(e.code).toBe("TEMPLATE_EXEC");
    expect(e.message).toContain(message);
  });
});
