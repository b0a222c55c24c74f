import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { makeTree, PKGFILE } from "../../test/test-tree.ts";
import { isTalosExtError } from "../errors.ts";
import { loadTree } from "./load-tree.ts";

/** Fragments that push the renderer, the YAML parser and the schema into their error paths. */
const fragment = fc.constantFrom(
  "{{",
  "}}",
  "{{ .ARCH }}",
  '{{ if eq .ARCH "aarch64" }}',
  "{{ end }}",
  "{{ else }}",
  "{{ .X | upper }}",
  '{{ fail "x" }}',
  "name: ",
  "variant: scratch\n",
  "variant: alpine\n",
  "dependencies:\n  - stage: ",
  "  - image: ",
  "steps:\n  - build: ",
  "finalize:\n  - from: /\n    to: /\n",
  "format: v1alpha2\n",
  "vars:\n  A: ",
  ": ",
  "- ",
  "[",
  "]",
  "{",
  "}",
  "\n",
  "  ",
  "\t",
  "#",
  "&a ",
  "*a",
  "---\n",
  '"',
  "'",
  "\u0000",
  "\uFEFF",
);
const content = fc.oneof(
  fc.string(),
  fc.array(fragment, { maxLength: 30 }).map((parts) => parts.join("")),
);

describe("loadTree property", () => {
  it("never throws for any file contents: every problem is a diagnostic", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          pkgfile: fc.oneof(content, fc.constant(PKGFILE)),
          rootVars: content,
          varsA: content,
          pkgA: content,
          pkgB: content,
          tmpl: content,
          mode: fc.constantFrom("frontend" as const, "cli" as const),
          platform: fc.constantFrom("linux/amd64" as const, "linux/arm64" as const),
        }),
        async (c) => {
          const t = await makeTree({
            Pkgfile: c.pkgfile,
            "vars.yaml": c.rootVars,
            "a/vars.yaml": c.varsA,
            "a/pkg.yaml": c.pkgA,
            "a/x.tmpl": c.tmpl,
            "b/pkg.yaml": c.pkgB,
          });
          try {
            const tree = await loadTree({ root: t.root, mode: c.mode, platform: c.platform });
            for (const d of tree.diagnostics) {
              expect(typeof d.code).toBe("string");
              expect(["error", "warning", "info"]).toContain(d.severity);
            }
          } catch (e) {
            // Only an unusable root may throw, and this root is fine.
            throw new Error(`loadTree threw ${isTalosExtError(e) ? e.code : String(e)}`, { cause: e });
          } finally {
            await t.cleanup();
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
