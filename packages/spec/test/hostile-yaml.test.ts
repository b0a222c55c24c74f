/**
 * Alias bombs and invalid UTF-8 in the YAML an extension image carries (manifest.yaml, service
 * specs): the same decoder and budgets as the tree loader, so validation ends quickly with a code.
 * (Invalid UTF-8 there is covered by decodeYamlBytes' own tests: these fixtures are text.)
 */
import { describe, expect, it } from "vitest";
import { validateExtensionTree } from "../src/index.ts";
import { goodExtension, memoryTree } from "./support/fixtures.ts";

const BOMB = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ..."bcdefghi".split("").map((k, i) => `${k}: &${k} [${Array(9).fill(`*${"abcdefghi"[i]}`).join(",")}]`),
  "",
].join("\n");

const MAP_BOMB = [
  "a: &a {a: 1, b: 1, c: 1, d: 1, e: 1, f: 1, g: 1, h: 1, i: 1}",
  ..."bcdefgh".split("").map((k, i) => {
    const prev = "abcdefgh"[i];
    return `${k}: &${k} {${[..."abcdefghi"].map((x) => `${x}: *${prev}`).join(", ")}}`;
  }),
  "",
].join("\n");

describe("extension YAML on hostile input", () => {
  it.each([
    ["manifest.yaml", BOMB],
    ["manifest.yaml", MAP_BOMB],
    ["rootfs/usr/local/etc/containers/multipathd.yaml", BOMB],
  ])("an alias bomb in %s is YAML_ALIAS_BUDGET", (path, text) => {
    const report = validateExtensionTree(memoryTree(goodExtension({ [path]: text })));
    expect(report.diagnostics).toContainEqual(
      expect.objectContaining({ code: "YAML_ALIAS_BUDGET", severity: "error" }),
    );
  });
});
