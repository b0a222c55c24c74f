import { readdir, readFile } from "node:fs/promises";
import { describe, expect, test } from "vitest";
import { FsFacts } from "./fs-facts.ts";
import { applyScript } from "./script-effects.ts";
import { expandBraces, simpleCommands } from "./shell-words.ts";

const ENV = { ARCH: "x86_64", PKG_NAME: "p" };

function run(script: string, setup?: (f: FsFacts) => void): FsFacts {
  const facts = new FsFacts();
  setup?.(facts);
  applyScript(facts, script, { where: "p/pkg.yaml steps[0].install[0]", env: ENV });
  return facts;
}
const state = (f: FsFacts, path: string) => f.lookup(path).state;

describe("shell words", () => {
  test("quotes, known and unknown variables, command substitution, braces", () => {
    const vars = new Map<string, string | undefined>([["A", "/x"]]);
    const [cmd] = [...simpleCommands(`mkdir -p "$A/b" '$A' \${A}/c $B/d $(pwd)/e a/{f,g}`, vars)];
    expect(cmd!.words.map((w) => [w.text, w.computed, w.prefix])).toEqual([
      ["mkdir", false, "mkdir"],
      ["-p", false, "-p"],
      ["/x/b", false, "/x/b"],
      ["$A", false, "$A"],
      ["/x/c", false, "/x/c"],
      ["/d", true, ""],
      ["/e", true, ""],
      ["a/f", false, "a/f"],
      ["a/g", false, "a/g"],
    ]);
    expect(expandBraces("x/{a,b}/{c,d}")).toEqual(["x/a/c", "x/a/d", "x/b/c", "x/b/d"]);
  });

  test("operators split commands; comments, here-documents and descriptors are not words", () => {
    const cmds = [
      ...simpleCommands(
        "a 1 && b 2 | c; d # e f\ncat <<EOF > /o\nmkdir /nope\nEOF\ng 2>&1 >/dev/null",
        new Map(),
      ),
    ];
    expect(cmds.map((c) => c.words.map((w) => w.text).join(" "))).toEqual([
      "a 1",
      "b 2",
      "c",
      "d",
      "cat",
      "g",
    ]);
    expect(cmds[4]!.writes.map((w) => w.text)).toEqual(["/o"]);
    expect(cmds[5]!.writes.map((w) => w.text)).toEqual(["/dev/null"]);
  });
});

describe("script effects", () => {
  test("mkdir, install -D, touch, ln and redirections create exactly what they name", () => {
    const f = run(
      "mkdir -p /rootfs/usr/local/lib/containers/{a,b}\ninstall -D -m 0755 bin /rootfs/usr/local/bin/x\ntouch /t\nln -s /usr/bin/y /rootfs/usr/bin/y\necho hi > /rootfs/etc/z",
    );
    for (const p of [
      "/rootfs/usr/local/lib/containers/a",
      "/rootfs/usr/local/lib/containers/b",
      "/rootfs/usr/local/bin/x",
      "/t",
      "/rootfs/usr/bin/y",
      "/rootfs/etc/z",
    ])
      expect(state(f, p), p).toBe("present");
    expect(state(f, "/rootfs/usr/local/lib/containers/c")).toBe("absent");
  });

  test("cp follows what is known: a file into a directory, a directory with -r, a glob", () => {
    const f = run(
      "mkdir -p /rootfs/etc/containers\ncp /pkg/a.yaml /rootfs/etc/containers/\ncp -r /pkg/tree /rootfs/opt\ncp /pkg/*.conf /rootfs/etc/",
      (f) => {
        f.add("/pkg/a.yaml", { kind: "file", origin: "p/a.yaml" });
        f.add("/pkg/tree/sub/file", { kind: "file" });
        f.add("/pkg/x.conf", { kind: "file" });
        f.add("/pkg/y.txt", { kind: "file" });
      },
    );
    expect(f.lookup("/rootfs/etc/containers/a.yaml")).toEqual({
      state: "present",
      entry: { kind: "file", origin: "p/a.yaml" },
    });
    expect(state(f, "/rootfs/opt/sub/file")).toBe("present");
    expect(state(f, "/rootfs/etc/x.conf")).toBe("present");
    expect(state(f, "/rootfs/etc/y.txt")).toBe("absent");
  });

  test("a glob over a directory with unknown content may match anything there", () => {
    const f = run("mkdir -p build /rootfs/bin\ntar -xf src.tar -C build\ncp build/* /rootfs/bin/");
    expect(state(f, "/rootfs/bin/tool")).toBe("unknown");
  });

  test("variables from the step environment and the script, and cd, resolve paths", () => {
    const f = run("D=/rootfs/usr/local/lib/containers/svc\nmkdir -p $D\ncd /rootfs && mkdir -p rel/$ARCH");
    expect(state(f, "/rootfs/usr/local/lib/containers/svc")).toBe("present");
    expect(state(f, "/rootfs/rel/x86_64")).toBe("present");
  });

  test("build systems and computed paths make the places they may write opaque, with a reason", () => {
    const f = run("make install DESTDIR=/rootfs\nmkdir -p /out/$(cat name)");
    expect(f.lookup("/rootfs/usr/local/sbin/d")).toEqual({
      state: "unknown",
      reasons: ["`make` in p/pkg.yaml steps[0].install[0]"],
    });
    expect(state(f, "/out/anything")).toBe("unknown");
    expect(state(f, "/elsewhere")).toBe("absent");
    // make without DESTDIR installs into its prefix, which lint does not know.
    expect(state(run("make install"), "/rootfs/x")).toBe("unknown");
  });

  test("rm forgets what it removes; reads change nothing", () => {
    const f = run("mkdir -p /rootfs/a /rootfs/b\nrm -rf /rootfs/a\ntest -d /rootfs/c && grep x /rootfs/d");
    expect(state(f, "/rootfs/a")).toBe("absent");
    expect(state(f, "/rootfs/b")).toBe("present");
    expect(state(f, "/rootfs/c")).toBe("absent");
  });
});

describe("docs", () => {
  test("every LINT_ code the source lints emit is in docs/error-codes.md", async () => {
    const doc = await readFile(new URL("../../../../docs/error-codes.md", import.meta.url), "utf8");
    const documented = new Set([...doc.matchAll(/^\| `(LINT_[A-Z_]+)` \|/gm)].map((m) => m[1]));
    const dir = new URL("./", import.meta.url);
    const codes = new Set<string>();
    for (const name of await readdir(dir)) {
      if (!name.endsWith(".ts") || name.endsWith(".test.ts")) continue;
      const text = await readFile(new URL(name, dir), "utf8");
      for (const m of text.matchAll(/"(LINT_[A-Z_]+)"/g)) codes.add(m[1]!);
    }
    expect(codes.size).toBeGreaterThan(5);
    expect([...codes].filter((c) => !documented.has(c))).toEqual([]);
  });
});
