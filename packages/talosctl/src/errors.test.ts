import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { TALOSCTL_ERROR_CODES, TalosctlError } from "./errors.ts";

describe("error codes", () => {
  it("docs/error-codes.md lists exactly the codes of the registry", async () => {
    const doc = await readFile(new URL("../../../docs/error-codes.md", import.meta.url), "utf8");
    const section = doc.slice(
      doc.indexOf("## TALOSCTL_"),
      doc.indexOf("\n## ", doc.indexOf("## TALOSCTL_") + 1),
    );
    const documented = [...section.matchAll(/^\| `(TALOSCTL_[A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(TALOSCTL_ERROR_CODES).sort());
  });

  it("serialises without stack or cause, and redacts nothing it did not get", () => {
    const e = new TalosctlError({
      code: "TALOSCTL_TIMEOUT",
      message: "m",
      node: "n",
      command: ["talosctl"],
      timedOut: true,
      cause: new Error("x"),
    });
    expect(e.toJSON()).toEqual({
      code: "TALOSCTL_TIMEOUT",
      message: "m",
      node: "n",
      command: ["talosctl"],
      timedOut: true,
    });
  });
});
