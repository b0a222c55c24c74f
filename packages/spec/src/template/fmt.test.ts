import { describe, expect, it } from "vitest";
import { render } from "../../test/template-helpers.ts";
import { formatFloat, sprintf } from "./fmt.ts";
import { float, int, list, str } from "./values.ts";

describe("formatFloat (strconv.FormatFloat)", () => {
  it.each([
    [1e6, "g", -1, "1e+06"],
    [100000, "g", -1, "100000"],
    [123456789, "g", -1, "1.23456789e+08"],
    [0.0001, "g", -1, "0.0001"],
    [0.00001, "g", -1, "1e-05"],
    [3.5, "g", -1, "3.5"],
    [0, "g", -1, "0"],
    [-0, "g", -1, "-0"],
    [0.1 + 0.2, "g", -1, "0.30000000000000004"],
    [1e21, "g", -1, "1e+21"],
    [1e100, "g", -1, "1e+100"],
    [5e-324, "g", -1, "5e-324"],
    [Number.NaN, "g", -1, "NaN"],
    [Infinity, "g", -1, "+Inf"],
    [-Infinity, "f", 2, "-Inf"],
    [3.14158, "f", 2, "3.14"],
    [2.5, "f", 0, "2"],
    [3.5, "f", 0, "4"],
    [0.125, "f", 2, "0.12"],
    [0.375, "f", 2, "0.38"],
    [2.675, "f", 2, "2.67"],
    [0.0009, "f", 2, "0.00"],
    [0.009, "f", 2, "0.01"],
    [9.99, "f", 1, "10.0"],
    [1e22, "f", 1, "10000000000000000000000.0"],
    [123456.789, "e", 6, "1.234568e+05"],
    [0, "e", 2, "0.00e+00"],
    [1e-10, "E", 3, "1.000E-10"],
    [1.5, "e", -1, "1.5e+00"],
    [123.456, "g", 2, "1.2e+02"],
    [1, "g", 3, "1"],
    [0.000012345, "g", 3, "1.23e-05"],
    [1e-7, "G", -1, "1E-07"],
  ] as const)("%s %s %s", (v, fmt, prec, want) => {
    expect(formatFloat(v, fmt, prec)).toBe(want);
  });
});

describe("printf", () => {
  it.each([
    ["%s", [str("x")], "x"],
    ["%d", [int(42)], "42"],
    ["%v", [float(1e6)], "1e+06"],
    ["%5.2f|", [float(3.14158)], " 3.14|"],
    ["%8.3f", [float(-3.14158)], "  -3.142"],
    ["%08.3f", [float(-3.14158)], "-003.142"],
    ["%+.2e", [float(12345.678)], "+1.23e+04"],
    ["%e", [float(123456.789)], "1.234568e+05"],
    ["%g", [float(0.00001)], "1e-05"],
    ["%.3g", [float(3.14158)], "3.14"],
    ["%x", [str("hello")], "68656c6c6f"],
    ["% x", [str("hi")], "68 69"],
    ["%X", [int(255)], "FF"],
    ["%#x", [int(255)], "0xff"],
    ["%#o", [int(8)], "010"],
    ["%o", [int(8)], "10"],
    ["%O", [int(8)], "0o10"],
    ["%b", [int(5)], "101"],
    ["%x", [int(-255)], "-ff"],
    ["%c", [int(0x263a)], "☺"],
    ["%q", [int(97)], "'a'"],
    ["%U", [int(0x1f600)], "U+1F600"],
    ["%#U", [int(65)], "U+0041 'A'"],
    ["%5t", [{ k: "bool", v: true }], " true"],
    ["%-5d|", [int(42)], "42   |"],
    ["%05d", [int(-42)], "-0042"],
    ["%.3d", [int(7)], "007"],
    ["%+d", [int(5)], "+5"],
    ["% d", [int(5)], " 5"],
    ["%6.2f%%", [float(12.3456)], " 12.35%"],
    ["%q", [str('a"b\n')], '"a\\"b\\n"'],
    ["%#q", [str("abc")], "`abc`"],
    ["%+q", [str("é")], '"\\u00e9"'],
    ["%q", [str("é\u00a0")], '"é\\u00a0"'],
    ["%10.3s|", [str("abcdef")], "       abc|"],
    ["%-4s|", [str("ab")], "ab  |"],
    ["%05s", [str("ab")], "   ab"],
    ["%.2s", [str("héllo")], "hé"],
    ["%v", [list([int(1), str("a")])], "[1 a]"],
    ["%d", [list([int(1), int(2)])], "[1 2]"],
    ["%q", [list([str("a"), str("b")])], '["a" "b"]'],
    ["%T %T %T", [int(1), str(""), list([])], "int string []interface {}"],
    ["%#v", [str("x")], '"x"'],
    ["%#v", [list([int(1), str("a")])], '[]interface {}{1, "a"}'],
    ["%[2]d %[1]d", [int(1), int(2)], "2 1"],
    ["%*d", [int(5), int(42)], "   42"],
    ["%-*d|", [int(5), int(42)], "42   |"],
    ["%.*f", [int(2), float(3.14158)], "3.14"],
    ["%%", [], "%"],
  ] as const)("%s", (format, args, want) => {
    expect(sprintf(format, args as never)).toBe(want);
  });

  it.each([
    ["%d", [str("x")], "%!d(string=x)"],
    ["%s", [int(5)], "%!s(int=5)"],
    ["%t", [int(1)], "%!t(int=1)"],
    ["%d", [], "%!d(MISSING)"],
    ["%d %d", [int(1)], "1 %!d(MISSING)"],
    ["%d", [int(1), int(2)], "1%!(EXTRA int=2)"],
    ["%d", [int(1), str("a"), { k: "nil" }], "1%!(EXTRA string=a, <nil>)"],
    ["%", [], "%!(NOVERB)"],
    ["%z", [int(1)], "%!z(int=1)"],
    ["%d", [{ k: "nil" }], "%!d(<nil>)"],
    ["%v", [{ k: "nil" }], "<nil>"],
    ["%*d", [str("x"), int(1)], "%!(BADWIDTH)1"],
    ["%[3]d", [int(1)], "%!d(BADINDEX)"],
    ["%5d", [str("x")], "%!d(string=    x)"],
  ] as const)("%s reports %s", (format, args, want) => {
    expect(sprintf(format, args as never)).toBe(want);
  });

  it("is reachable from templates", () => {
    expect(render('{{ printf "%s-%03d" .NAME 7 }}')).toBe("Talos-007");
    expect(render('{{ printf "%v %v" (list "a") (dict "k" 1.5) }}')).toBe("[a] map[k:1.5]");
    expect(render('{{ printf "%d" "x" }}')).toBe("%!d(string=x)");
  });
});
