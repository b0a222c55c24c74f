import { describe, expect, it } from "vitest";
import { render, renderError } from "../../test/template-helpers.ts";

describe("sprig strings", () => {
  it.each([
    ['{{ .LIBTIRPC_VERSION | replace "-" "." }}', "1.3.6"],
    ['{{ replace "a" "b" "banana" }}', "bbnbnb"],
    ['{{ replace "" "-" "ab" }}', "-a-b-"],
    ["{{ substr 0 7 .CONTAINER_TOOLKIT_REF }}", "a4ba1d4"],
    ['{{ substr 1 3 "hello" }}', "el"],
    ['{{ substr -1 2 "hello" }}', "he"],
    ['{{ substr 2 -1 "hello" }}', "llo"],
    ['{{ substr 2 99 "hello" }}', "llo"],
    ['{{ substr 0 0 "hello" }}', ""],
    ['{{ trunc 3 "abcdef" }}', "abc"],
    ['{{ trunc -2 "abcdef" }}', "ef"],
    ['{{ trunc 10 "ab" }}', "ab"],
    ['{{ trunc -10 "ab" }}', "ab"],
    ['{{ trim "  a b \\n" }}', "a b"],
    ['{{ trimAll "$" "$$5$" }}', "5"],
    ['{{ trimall "ab" "abxba" }}', "x"],
    ['{{ trimPrefix "v" "v1.2" }}', "1.2"],
    ['{{ trimSuffix ".0" "1.0" }}', "1"],
    ['{{ trimSuffix "x" "1.0" }}', "1.0"],
    ['{{ upper "héllo" }}', "HÉLLO"],
    ['{{ lower "HÉLLO" }}', "héllo"],
    ['{{ upper "straße" }}', "STRAßE"],
    ['{{ title "hello world-foo bar_baz" }}', "Hello World-Foo Bar_baz"],
    ['{{ untitle "Hello World" }}', "hello World"],
    ['{{ repeat 3 "ab" }}', "ababab"],
    ['{{ "ab" | repeat 2 }}', "abab"],
    ['{{ nospace "a b\\tc" }}', "abc"],
    ['{{ initials "hello big world" }}', "hbw"],
    ['{{ swapcase "Hello World" }}', "hELLO wORLD"],
    ['{{ abbrev 5 "hello world" }}', "he..."],
    ['{{ abbrev 20 "hello" }}', "hello"],
    ['{{ abbrev 3 "hello" }}', "hello"],
    ['{{ abbrevboth 5 10 "1234 5678 9123" }}', "...5678..."],
    ['{{ wrap 5 "hello world" }}', "hello\nworld"],
    ['{{ wrapWith 5 "\\t" "helloworld" }}', "hello\tworld"],
    ['{{ contains "cat" "catch" }}', "true"],
    ['{{ "catch" | contains "dog" }}', "false"],
    ['{{ hasPrefix "ca" "cat" }}', "true"],
    ['{{ hasSuffix "at" "cat" }}', "true"],
    ['{{ quote "a" 1 }}', '"a" "1"'],
    ['{{ quote "a\\"b" }}', '"a\\"b"'],
    ['{{ squote "a" 2 }}', "'a' '2'"],
    ['{{ cat "a" 1 true (list 1 2) }}', "a 1 true [1 2]"],
    ['{{ indent 2 "a\\nb" }}', "  a\n  b"],
    ['{{ nindent 2 "a" }}', "\n  a"],
    ['{{ plural "one" "many" 1 }}', "one"],
    ['{{ plural "one" "many" 2 }}', "many"],
    ['{{ sha1sum "abc" }}', "a9993e364706816aba3e25717850c26c9cd0d89d"],
    ['{{ sha256sum "abc" }}', "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
    [
      '{{ sha512sum "abc" }}',
      "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
    ],
    ['{{ adler32sum "abc" }}', "38600999"],
    ['{{ b64enc "hello" }}', "aGVsbG8="],
    ['{{ b64dec "aGVsbG8=" }}', "hello"],
    ['{{ b64dec "aGVs\\nbG8=" }}', "hello"],
    ['{{ b64dec "!!" }}', "illegal base64 data at input byte 0"],
    ['{{ b64dec "aGVsbG8" }}', "illegal base64 data at input byte 4"],
    ['{{ b32enc "hello" }}', "NBSWY3DP"],
    ['{{ b32enc "a" }}', "ME======"],
    ['{{ b32dec "NBSWY3DP" }}', "hello"],
    ['{{ b32dec "ME======" }}', "a"],
    ["{{ toString 1 }}", "1"],
    ["{{ toString 1.5 }}", "1.5"],
    ['{{ toStrings (list 1 "a" nil) }}', "[1 a]"],
    ['{{ split "." "a.b" }}', "map[_0:a _1:b]"],
    ['{{ (split "." "a.b")._1 }}', "b"],
    ['{{ splitList "," "a,b,c" }}', "[a b c]"],
    ['{{ splitList "" "abc" }}', "[a b c]"],
    ['{{ splitn "," 2 "a,b,c" }}', "map[_0:a _1:b,c]"],
    ['{{ join "," (list 1 2) }}', "1,2"],
    ['{{ join "-" (splitList "," "a,b") }}', "a-b"],
    ['{{ join "," "abc" }}', "abc"],
    ['{{ sortAlpha (list "b" "a" "C") }}', "[C a b]"],
    ['{{ snakecase "FirstName" }}', "first_name"],
    ['{{ snakecase "HTTPServer" }}', "http_server"],
    ['{{ kebabcase "FirstName" }}', "first-name"],
    ['{{ camelcase "http_server" }}', "HttpServer"],
    ["{{ hello }}", "Hello!"],
  ])("%s", (src, want) => {
    expect(render(src)).toBe(want);
  });

  it.each([
    ['{{ substr 3 1 "hello" }}', "slice bounds out of range [3:1]"],
    ['{{ substr -1 99 "abc" }}', "slice bounds out of range"],
    ['{{ substr 9 -1 "abc" }}', "slice bounds out of range"],
    ['{{ repeat -1 "a" }}', "negative Repeat count"],
    ['{{ abbrevboth 5 6 "123456789" }}', ""],
  ])("%s", (src, message) => {
    if (message === "") {
      expect(render(src)).toBe("123456789");
      return;
    }
    const e = renderError(src);
    expect(e.code).toBe("TEMPLATE_EXEC");
    expect(e.message).toContain(message);
  });
});

describe("sprig numbers", () => {
  it.each([
    ['{{ atoi "42" }}', "42"],
    ['{{ atoi "x" }}', "0"],
    ['{{ int "0x1F" }}', "31"],
    ['{{ int "1.0" }}', "1"],
    ['{{ int "1.5" }}', "0"],
    ["{{ int 1.9 }}", "1"],
    ['{{ int64 "010" }}', "8"],
    ["{{ int true }}", "1"],
    ['{{ float64 "1.5" }}', "1.5"],
    ['{{ float64 "x" }}', "0"],
    ["{{ add 1 2 3 }}", "6"],
    ['{{ add "3" 4 }}', "7"],
    ["{{ add1 5 }}", "6"],
    ["{{ sub 5 2 }}", "3"],
    ["{{ div 7 2 }}", "3"],
    ["{{ div -7 2 }}", "-3"],
    ["{{ mod 7 2 }}", "1"],
    ["{{ mod -7 2 }}", "-1"],
    ["{{ mul 2 3 4 }}", "24"],
    ["{{ add 9223372036854775807 1 }}", "-9223372036854775808"],
    ["{{ max 1 5 3 }}", "5"],
    ["{{ biggest 1 5 3 }}", "5"],
    ["{{ min 3 1 2 }}", "1"],
    ["{{ addf 1.1 2.2 }}", "3.3"],
    ["{{ subf 5 1.5 }}", "3.5"],
    ["{{ mulf 1.1 3 }}", "3.3"],
    ["{{ divf 1 3 }}", "0.3333333333333333"],
    ["{{ divf 10 4 }}", "2.5"],
    ["{{ add1f 1.5 }}", "2.5"],
    ["{{ maxf 1 2.5 }}", "2.5"],
    ["{{ minf 1 2.5 }}", "1"],
    ["{{ floor 1.5 }}", "1"],
    ["{{ ceil 1.2 }}", "2"],
    ["{{ round 1.2345 2 }}", "1.23"],
    ["{{ round 2.5 0 }}", "3"],
    ["{{ seq 5 }}", "1 2 3 4 5"],
    ["{{ seq 3 1 }}", "3 2 1"],
    ["{{ seq 0 2 10 }}", "0 2 4 6 8 10"],
    ["{{ seq 1 0 }}", "1 0"],
    ["{{ until 3 }}", "[0 1 2]"],
    ["{{ until -2 }}", "[0 -1]"],
    ["{{ untilStep 0 10 3 }}", "[0 3 6 9]"],
    ['{{ toDecimal "0777" }}', "511"],
    ["{{ toDecimal 777 }}", "511"],
    [
      '{{ typeOf (atoi "1") }} {{ typeOf (int "1") }} {{ typeOf (int64 1) }} {{ typeOf (float64 1) }}',
      "int int int64 float64",
    ],
  ])("%s", (src, want) => {
    expect(render(src)).toBe(want);
  });

  it.each([
    ["{{ div 1 0 }}", "integer divide by zero"],
    ["{{ mod 1 0 }}", "integer divide by zero"],
    ["{{ divf 1 0 }}", "decimal division by 0"],
    ["{{ until 100000000 }}", "too large"],
  ])("%s fails", (src, message) => {
    const e = renderError(src);
    expect(e.code).toBe("TEMPLATE_EXEC");
    expect(e.message).toContain(message);
  });
});

describe("sprig lists", () => {
  it.each([
    ["{{ list 1 2 }}", "[1 2]"],
    ["{{ tuple 1 2 }}", "[1 2]"],
    ["{{ first (list 1 2) }}", "1"],
    ["{{ last (list 1 2) }}", "2"],
    ["{{ rest (list 1 2) }}", "[2]"],
    ["{{ initial (list 1 2) }}", "[1]"],
    ["{{ append (list 1) 2 }}", "[1 2]"],
    ["{{ push (list 1) 2 }}", "[1 2]"],
    ["{{ prepend (list 1) 0 }}", "[0 1]"],
    ["{{ reverse (list 1 2 3) }}", "[3 2 1]"],
    ["{{ uniq (list 1 1 2 1) }}", "[1 2]"],
    ["{{ without (list 1 2 3 2) 2 }}", "[1 3]"],
    ["{{ has 2 (list 1 2) }}", "true"],
    ["{{ has 3 (list 1 2) }}", "false"],
    ["{{ has 1 .MISSING }}", "false"],
    ['{{ compact (list "" 1 0 "a" nil) }}', "[1 a]"],
    ["{{ slice (list 1 2 3) 1 }}", "[2 3]"],
    ["{{ slice (list 1 2 3) 1 2 }}", "[2]"],
    ["{{ concat (list 1) (list 2 3) }}", "[1 2 3]"],
    ["{{ chunk 2 (list 1 2 3) }}", "[[1 2] [3]]"],
    ["{{ rest (list) }}", "[]"],
    ["{{ first (list) }}", "<no value>"],
    ['{{ first (splitList "," "x,y") }}', "x"],
    ["{{ mustFirst (list 7) }}", "7"],
    ['{{ len (append (splitList "," "a") "b") }}', "2"],
  ])("%s", (src, want) => {
    expect(render(src)).toBe(want);
  });

  it.each([
    ['{{ first "abc" }}', "Cannot find first on type string"],
    ['{{ append "abc" 1 }}', "Cannot push on type string"],
    ["{{ first .MISSING }}", "nil pointer dereference"],
    ["{{ slice (list 1 2) 3 }}", "slice index out of bounds"],
  ])("%s fails", (src, message) => {
    const e = renderError(src);
    expect(e.code).toBe("TEMPLATE_EXEC");
    expect(e.message).toContain(message);
  });
});

describe("sprig dicts", () => {
  it.each([
    ['{{ dict "a" 1 }}', "map[a:1]"],
    ['{{ dict "a" }}', "map[a:]"],
    ["{{ dict 1 2 }}", "map[1:2]"],
    ['{{ get (dict "a" 1) "a" }}', "1"],
    ['[{{ get (dict) "x" }}]', "[]"],
    ['{{ set (dict) "a" 1 }}', "map[a:1]"],
    ['{{ $d := dict }}{{ $_ := set $d "k" "v" }}{{ $d.k }}', "v"],
    ['{{ unset (dict "a" 1) "a" }}', "map[]"],
    ['{{ hasKey (dict "a" 1) "a" }}', "true"],
    ['{{ hasKey (dict "a" 1) "b" }}', "false"],
    ['{{ keys (dict "b" 1 "a" 2) }}', "[a b]"],
    ['{{ values (dict "b" 1 "a" 2) }}', "[2 1]"],
    ['{{ pluck "a" (dict "a" 1) (dict "a" 2) (dict) }}', "[1 2]"],
    ['{{ pick (dict "a" 1 "b" 2) "a" }}', "map[a:1]"],
    ['{{ omit (dict "a" 1 "b" 2) "a" }}', "map[b:2]"],
    ['{{ merge (dict "a" 1) (dict "a" 2 "b" 3) }}', "map[a:1 b:3]"],
    ['{{ merge (dict "a" "") (dict "a" 2) }}', "map[a:2]"],
    ['{{ mergeOverwrite (dict "a" 1) (dict "a" 2 "b" 3) }}', "map[a:2 b:3]"],
    ['{{ merge (dict "n" (dict "x" 1)) (dict "n" (dict "y" 2)) }}', "map[n:map[x:1 y:2]]"],
    ['{{ dig "a" "b" "def" (dict "a" (dict "b" 1)) }}', "1"],
    ['{{ dig "a" "x" "def" (dict "a" (dict)) }}', "def"],
    ['{{ $a := dict "x" (list 1) }}{{ $b := deepCopy $a }}{{ deepEqual $a $b }}', "true"],
  ])("%s", (src, want) => {
    expect(render(src)).toBe(want);
  });

  it("rejects a map[string]string where sprig wants map[string]interface{}", () => {
    const e = renderError('{{ hasKey (split "," "a") "_0" }}');
    expect(e.code).toBe("TEMPLATE_EXEC");
    expect(e.message).toContain(
      "wrong type for value; expected map[string]interface {}; got map[string]string",
    );
  });
});

describe("sprig defaults, JSON and reflection", () => {
  it.each([
    ['{{ default "x" "" }}', "x"],
    ['{{ default "x" "y" }}', "y"],
    ['{{ default "x" 0 }}', "x"],
    ['{{ default "x" (list) }}', "x"],
    ['{{ "" | default "x" }}', "x"],
    ['{{ coalesce "" .MISSING "z" }}', "z"],
    ['{{ coalesce "" 0 }}', "<no value>"],
    ['{{ empty "" }}', "true"],
    ['{{ empty "a" }}', "false"],
    ['{{ all 1 "a" }}', "true"],
    ['{{ all 1 "" }}', "false"],
    ['{{ any 0 "" }}', "false"],
    ['{{ any 0 "x" }}', "true"],
    ['{{ ternary "a" "b" true }}', "a"],
    ['{{ ternary "a" "b" false }}', "b"],
    ['{{ toJson (dict "a" (list 1 2.5 "<x>") "b" nil) }}', '{"a":[1,2.5,"\\u003cx\\u003e"],"b":null}'],
    ['{{ toPrettyJson (dict "a" (list 1) "b" (dict)) }}', '{\n  "a": [\n    1\n  ],\n  "b": {}\n}'],
    ['{{ toRawJson (dict "a" "<x>") }}', '{"a":"<x>"}'],
    ["{{ toJson 1e21 }} {{ toJson 0.0000001 }} {{ toJson 0.5 }}", "1e+21 1e-7 0.5"],
    ['{{ toJson "tab\\there\\u2028" }}', '"tab\\there\\u2028"'],
    ['{{ toJson (semver "v1.2.3") }}', '"1.2.3"'],
    ['{{ fromJson "{\\"a\\":[1,\\"x\\"]}" }}', "map[a:[1 x]]"],
    ['{{ (fromJson "{\\"a\\":1}").a }}', "1"],
    ['{{ fromJson "bad" }}', "<no value>"],
    ['{{ typeOf (fromJson "1") }}', "float64"],
    ["{{ typeOf 1 }}", "int"],
    ["{{ typeOf (add 1 1) }}", "int64"],
    ['{{ typeOf "a" }}', "string"],
    ["{{ typeOf (list) }}", "[]interface {}"],
    ["{{ typeOf (dict) }}", "map[string]interface {}"],
    ['{{ typeOf (splitList "," "") }}', "[]string"],
    ["{{ typeOf 1.5 }}", "float64"],
    ['{{ typeOf (semver "1.0.0") }}', "*semver.Version"],
    ["{{ kindOf (list) }}", "slice"],
    ["{{ kindOf (dict) }}", "map"],
    ['{{ kindIs "string" "a" }}', "true"],
    ['{{ typeIs "int" 1 }}', "true"],
    ['{{ typeIsLike "semver.Version" (semver "1.0.0") }}', "true"],
    ["{{ deepEqual (list 1) (list 1) }}", "true"],
    ["{{ deepEqual 1 (add 1 0) }}", "false"],
  ])("%s", (src, want) => {
    expect(render(src)).toBe(want);
  });

  it.each([
    ['{{ mustFromJson "bad" }}', "error calling mustFromJson"],
    ['{{ fail "boom" }}', "error calling fail: boom"],
    ["{{ randInt 1 5 }}", "randInt is not supported"],
    ['{{ mustToJson (float64 "NaN") }}', "json: unsupported value: NaN"],
  ])("%s fails", (src, message) => {
    const e = renderError(src);
    expect(e.code).toBe("TEMPLATE_EXEC");
    expect(e.message).toContain(message);
  });
});

describe("sprig semver", () => {
  it.each([
    ['{{ semverCompare ">=1.2.0" "1.3.0" }}', "true"],
    ['{{ semverCompare "^1.2" "2.0.0" }}', "false"],
    ['{{ semverCompare "~1.2.3" "1.2.9" }}', "true"],
    ['{{ semverCompare "~1.2.3" "1.3.0" }}', "false"],
    ['{{ semverCompare ">1.0.0-alpha" "1.0.0-beta" }}', "true"],
    ['{{ semverCompare ">=1.0.0" "1.1.0-rc1" }}', "false"],
    ['{{ semverCompare "1.2.x" "1.2.7" }}', "true"],
    ['{{ semverCompare "*" "3.0.0" }}', "true"],
    ['{{ semverCompare ">= 1.2, < 2.0" "1.5.0" }}', "true"],
    ['{{ semverCompare ">= 1.2 < 2.0" "2.5.0" }}', "false"],
    ['{{ semverCompare "<1.0 || >=3" "3.1.0" }}', "true"],
    ['{{ semverCompare "1.2 - 1.4" "1.4.5" }}', "true"],
    ['{{ semverCompare "1.2 - 1.4" "1.5.0" }}', "false"],
    ['{{ semverCompare "!=1.2.3" "1.2.4" }}', "true"],
    ['{{ semverCompare "=1.2.3" "v1.2.3" }}', "true"],
    ['{{ semverCompare "^0.2.3" "0.3.0" }}', "false"],
    ['{{ semverCompare "^0.2.3" "0.2.9" }}', "true"],
    ['{{ (semver "1.2.3-beta.1+build").Prerelease }}', "beta.1"],
    ['{{ (semver "1.2.3-beta.1+build").Metadata }}', "build"],
    ['{{ (semver "1.2.3").Major }}', "1"],
    ['{{ (semver "v1.2").Original }}', "v1.2"],
    ['{{ semver "v1.2" }}', "1.2.0"],
    ['{{ (semver "1.2.3").Compare (semver "1.2.4") }}', "-1"],
    ['{{ (semver "1.2.3").LessThan (semver "1.2.4") }}', "true"],
    ['{{ (semver "1.0.0-alpha").LessThan (semver "1.0.0-alpha.1") }}', "true"],
    ['{{ (semver "1.0.0-2").LessThan (semver "1.0.0-10") }}', "true"],
  ])("%s", (src, want) => {
    expect(render(src)).toBe(want);
  });

  it.each([
    ['{{ semverCompare "bad" "1.0.0" }}', "improper constraint"],
    ['{{ semverCompare ">1" "x" }}', "Invalid Semantic Version"],
    ['{{ semver "1.2.3.4" }}', "Invalid Semantic Version"],
  ])("%s fails", (src, message) => {
    const e = renderError(src);
    expect(e.code).toBe("TEMPLATE_EXEC");
    expect(e.message).toContain(message);
  });
});

describe("sprig paths, URLs and durations", () => {
  it.each([
    ['{{ base "/a/b.txt" }}', "b.txt"],
    ['{{ base "a/b/" }}', "b"],
    ['{{ base "" }}', "."],
    ['{{ base "/" }}', "/"],
    ['{{ dir "/a/b.txt" }}', "/a"],
    ['{{ dir "a" }}', "."],
    ['{{ dir "/" }}', "/"],
    ['{{ ext "x.tar.gz" }}', ".gz"],
    ['{{ ext "a.b/c" }}', ""],
    ['{{ clean "a//b/../c/." }}', "a/c"],
    ['{{ clean "" }}', "."],
    ['{{ clean "/../a" }}', "/a"],
    ['{{ clean "../../a/.." }}', "../.."],
    ['{{ clean "a/../.." }}', ".."],
    ['{{ isAbs "/x" }}', "true"],
    ['{{ isAbs "x" }}', "false"],
    ['{{ osBase "/a/b" }}', "b"],
    [
      '{{ $u := urlParse "https://user:pw@example.com:8080/a/b?x=1#frag" }}{{ $u.scheme }} {{ $u.host }} {{ $u.hostname }} {{ $u.path }} {{ $u.query }} {{ $u.fragment }} {{ $u.userinfo }}',
      "https example.com:8080 example.com /a/b x=1 frag user:pw",
    ],
    [
      '{{ urlJoin (dict "scheme" "https" "host" "example.com" "path" "/a b" "query" "x=1") }}',
      "https://example.com/a%20b?x=1",
    ],
    ['{{ duration "90" }}', "1m30s"],
    ["{{ duration (int64 3661) }}", "1h1m1s"],
    ["{{ duration 90 }}", "0s"],
    ['{{ duration "0" }}', "0s"],
    ['{{ durationRound "2h10m" }}', "2h"],
    ['{{ durationRound "90s" }}', "1m"],
    ['{{ durationRound "bad" }}', "0s"],
  ])("%s", (src, want) => {
    expect(render(src)).toBe(want);
  });
});

describe("the hermetic function set", () => {
  it.each([
    "env",
    "expandenv",
    "now",
    "date",
    "dateInZone",
    "dateModify",
    "uuidv4",
    "randAlphaNum",
    "randBytes",
    "getHostByName",
    "required",
    "tpl",
    "include",
  ])("%s is not defined, as in bldr", (name) => {
    const e = renderError(`{{ ${name} "x" }}`);
    expect(e.code).toBe("TEMPLATE_PARSE");
    expect(e.message).toBe(`function "${name}" not defined`);
  });

  it.each(["toDate", "ago", "bcrypt", "genCA", "shuffle", "randInt"])(
    "%s parses (it exists in sprig) but fails when called",
    (name) => {
      const e = renderError(`{{ if false }}{{ ${name} "x" }}{{ end }}{{ ${name} "x" }}`);
      expect(e.code).toBe("TEMPLATE_EXEC");
      expect(e.message).toContain(`${name} is not supported`);
      expect(render(`{{ if false }}{{ ${name} "x" }}{{ end }}ok`)).toBe("ok");
    },
  );
});
