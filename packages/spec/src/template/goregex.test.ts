// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Go replacement templates such as "${1}" are the subject of these tests
import { describe, expect, it } from "vitest";
import { render, renderError } from "../../test/template-helpers.ts";
import { TalosExtError } from "../errors.ts";
import { compileGoRegex, expandGoReplacement, goRegexReplaceAll } from "./index.ts";

describe("goRegexReplaceAll (cases from the extensions tree)", () => {
  it.each([
    [".\\d+$", "2.84.1", "${1}", "2.84"],
    ["\\.0$", "2.41.0", "${1}", "2.41"],
    ["\\.0$", "2.41.1", "${1}", "2.41.1"],
    ["a(x*)b", "-ab-axxb-", "${1}W", "-W-xxW-"],
    ["a(x*)b", "-ab-axxb-", "$1W", "---"],
    ["a(x*)b", "-ab-axxb-", "$1", "--xx-"],
    ["(?P<first>\\w+) (?P<last>\\w+)", "John Smith", "${last}, ${first}", "Smith, John"],
    ["(?<first>\\w+) (?<last>\\w+)", "John Smith", "$last $first", "Smith John"],
    ["b", "abc", "$$", "a$c"],
    ["b", "abc", "[$0]", "a[b]c"],
    ["x*", "abc", "-", "-a-b-c-"],
    ["a*", "baaac", "X", "XbXcX"],
    ["", "ab", "-", "-a-b-"],
    ["😀", "a😀b", "x", "axb"],
    [".", "é😀", "x", "xx"],
  ])("%s on %s with %s", (re, s, repl, want) => {
    expect(goRegexReplaceAll(re, s, repl)).toBe(want);
  });
});

describe("expandGoReplacement", () => {
  it.each([
    ["${1}", ["x.1"], [""], ""],
    ["$1x", ["m", "a"], ["", ""], ""],
    ["$1.x", ["m", "a"], ["", ""], "a.x"],
    ["$$", ["m"], [""], "$"],
    ["$", ["m"], [""], "$"],
    ["${", ["m"], [""], "${"],
    ["${1", ["m", "a"], ["", ""], "${1"],
    ["$0", ["whole"], [""], "whole"],
    ["$01", ["w", "a"], ["", ""], ""],
    ["${name}", ["w", "v"], ["", "name"], "v"],
    ["$name!", ["w", "v"], ["", "name"], "v!"],
    ["$2", ["w", "a", undefined], ["", "", ""], ""],
    ["a$1.b", ["w", "X"], ["", ""], "aX.b"],
  ] as const)("%s", (template, groups, names, want) => {
    expect(expandGoReplacement(template, groups, names)).toBe(want);
  });
});

describe("RE2 semantics in templates", () => {
  it.each([
    ['{{ regexMatch "^[a-z]+$" "abc" }}', "true"],
    ['{{ regexMatch "(" "x" }}', "false"],
    ['{{ regexFind "[0-9]+" "ab123cd45" }}', "123"],
    ['{{ regexFindAll "[0-9]+" "a1b22c333" -1 }}', "[1 22 333]"],
    ['{{ regexFindAll "[0-9]+" "a1b22c333" 2 }}', "[1 22]"],
    ['{{ regexFindAll "x" "abc" -1 }}', "[]"],
    ['{{ regexReplaceAllLiteral "a(x*)b" "-ab-axxb-" "${1}" }}', "-${1}-${1}-"],
    ['{{ regexSplit "z+" "pizza" -1 }}', "[pi a]"],
    ['{{ regexSplit "" "abc" -1 }}', "[a b c]"],
    ['{{ regexSplit "a" "banana" 2 }}', "[b nana]"],
    ['{{ len (regexSplit "x" "" -1) }}', "1"],
    ['{{ regexQuoteMeta "1.2+[x]" }}', "1\\.2\\+\\[x\\]"],
    ['{{ regexReplaceAll "." "a\\nb" "X" }}', "X\nX"],
    ['{{ regexReplaceAll "(?s)." "a\\nb" "X" }}', "XXX"],
    ['{{ regexMatch "a$" "a\\n" }}', "false"],
    ['{{ regexMatch "(?m)a$" "a\\nb" }}', "true"],
    ['{{ regexFindAll "(?m)^\\\\w" "ab\\ncd" -1 }}', "[a c]"],
    ['{{ regexFindAll "^\\\\w" "ab\\ncd" -1 }}', "[a]"],
    ['{{ regexMatch "\\\\Aab\\\\z" "ab" }}', "true"],
    ['{{ regexMatch "(?i)abc" "ABC" }}', "true"],
    ['{{ regexFind "a(?i)b" "aB" }}', "aB"],
    ['{{ regexFind "a(?i)b" "AB" }}', ""],
    ['{{ regexFindAll "x(?i)y|z" "xY Z" -1 }}', "[xY Z]"],
    ['{{ regexFind "(?i:a)b" "Ab AB" }}', "Ab"],
    ['{{ regexFind "(?U)a+" "aaa" }}', "a"],
    ['{{ regexFind "(?U)a+?" "aaa" }}', "aaa"],
    ['{{ regexReplaceAll "[[:digit:]]+" "a12b" "#" }}', "a#b"],
    ['{{ regexReplaceAll "[[:^alpha:]]" "a1b" "X" }}', "aXb"],
    ['{{ regexReplaceAll "[^[:space:]]" "a b" "." }}', ". ."],
    ['{{ regexReplaceAll "\\\\p{Greek}+" "abγδe" "G" }}', "abGe"],
    ['{{ regexFind "\\\\pL+" "123абв" }}', "абв"],
    ['{{ regexFind "\\\\PL+" "ab12cd" }}', "12"],
    ['{{ regexReplaceAll "\\\\s" "a\\u00a0b c" "_" }}', "a\u00a0b_c"],
    ['{{ regexReplaceAll "[\\\\s]" "a\\tb" "_" }}', "a_b"],
    ['{{ regexReplaceAll "[^\\\\S]" "a\\tb" "_" }}', "a_b"],
    ['{{ regexMatch "a{" "a{" }}', "true"],
    ['{{ regexMatch "^a{,2}$" "a{,2}" }}', "true"],
    ['{{ regexMatch "^a{2}$" "aa" }}', "true"],
    ['{{ regexReplaceAll "\\\\Q1.2+\\\\E" "x1.2+y" "_" }}', "x_y"],
    ['{{ regexMatch "^\\\\Qab\\\\E+$" "abbb" }}', "true"],
    ['{{ regexMatch "\\\\141" "a" }}', "true"],
    ['{{ regexMatch "\\\\x{263a}" "☺" }}', "true"],
    ['{{ regexMatch "\\\\x41" "A" }}', "true"],
    ['{{ regexReplaceAll "[]a]" "a]b" "_" }}', "__b"],
    ['{{ regexReplaceAll "[a-]" "a-b" "_" }}', "__b"],
    ['{{ regexMatch "(?i)[a-c]+" "ABC" }}', "true"],
    ['{{ regexMatch "^.$" "😀" }}', "true"],
    ['{{ regexMatch "^\\\\.+$" "..." }}', "true"],
    ['{{ regexMatch "^\\\\-$" "-" }}', "true"],
    ['{{ regexMatch "^(a|)$" "" }}', "true"],
    ['{{ regexReplaceAll "(a)|b" "ab" "[$1]" }}', "[a][]"],
  ])("%s", (src, want) => {
    expect(render(src)).toBe(want);
  });

  it.each([
    ['{{ mustRegexMatch "(" "x" }}', "error parsing regexp: missing closing ): `(`"],
    [
      '{{ regexReplaceAll "(" "x" "y" }}',
      'regexp: Compile("("): error parsing regexp: missing closing ): `(`',
    ],
    ['{{ mustRegexMatch "(a)\\\\1" "aa" }}', "invalid escape sequence: `\\1`"],
    ['{{ mustRegexMatch "a(?=b)" "ab" }}', "invalid or unsupported Perl syntax: `(?=`"],
    ['{{ mustRegexMatch "a(?!b)" "ab" }}', "invalid or unsupported Perl syntax: `(?!`"],
    ['{{ mustRegexMatch "(?<=a)b" "ab" }}', "invalid named capture"],
    ['{{ mustRegexMatch "a**" "a" }}', "invalid nested repetition operator: `**`"],
    ['{{ mustRegexMatch "a+*" "a" }}', "invalid nested repetition operator: `+*`"],
    ['{{ mustRegexMatch "*a" "a" }}', "missing argument to repetition operator: `*`"],
    ['{{ mustRegexMatch "a{1001}" "a" }}', "invalid repeat count: `{1001}`"],
    ['{{ mustRegexMatch "a{2,1}" "a" }}', "invalid repeat count: `{2,1}`"],
    ['{{ mustRegexMatch "(?P<>a)" "a" }}', "invalid named capture"],
    ['{{ mustRegexMatch "(?P<n>a)(?P<n>b)" "ab" }}', "duplicate capture group name: `n`"],
    ['{{ mustRegexMatch "\\\\Z" "a" }}', "invalid escape sequence: `\\Z`"],
    ['{{ mustRegexMatch "[z-a]" "a" }}', "invalid character class range: `z-a`"],
    ['{{ mustRegexMatch "[[:foo:]]" "a" }}', "invalid character class range: `[:foo:]`"],
    ['{{ mustRegexMatch "[[:toString:]]" "a" }}', "invalid character class range: `[:toString:]`"],
    ['{{ mustRegexMatch "\\\\p{Nope}" "a" }}', "invalid character class range: `\\p{Nope}`"],
    ['{{ mustRegexMatch "[a" "a" }}', "missing closing ]: `[a`"],
    ['{{ mustRegexMatch "a)" "a" }}', "unexpected ): `a)`"],
    ['{{ mustRegexMatch "a\\\\" "a" }}', "trailing backslash at end of expression"],
    ['{{ mustRegexMatch "(?-)a" "a" }}', "invalid or unsupported Perl syntax"],
    ['{{ mustRegexFind "\\\\8" "a" }}', "invalid escape sequence: `\\8`"],
  ])("%s fails like Go", (src, message) => {
    const e = renderError(src);
    expect(e.code).toBe("TEMPLATE_EXEC");
    expect(e.message).toContain(message);
  });

  it("compileGoRegex throws TalosExtError on its own", () => {
    expect(() => compileGoRegex("(")).toThrow(TalosExtError);
    expect(() => compileGoRegex("a(?=b)")).toThrow(TalosExtError);
    expect(() => compileGoRegex("a(?=b)")).toThrow(
      expect.objectContaining({
        code: "TEMPLATE_EXEC",
        message: "error parsing regexp: invalid or unsupported Perl syntax: `(?=`",
      }),
    );
    const re = compileGoRegex("(?P<year>\\d{4})-(\\d+)");
    expect(re.numSubexp).toBe(2);
    expect(re.subexpNames).toEqual(["", "year", ""]);
  });
});
