/**
 * spec: load + render + validate a generated tree of 500 packages with the spec library, against
 * reading and `yaml.parse`-ing the same files (what a hand-rolled script would do, with none of
 * the templating, schemas, graph or lints). A second measure loads one huge vars.yaml (150,000
 * keys) to show that variable loading stays linear: within a small factor of parsing it.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { generateTree } from "../gen/tree.ts";
import { compare, round3, withTempDir } from "../lib.ts";
import { loadSpec, loadYaml, yamlVersion } from "../modules.ts";
import { type BenchCase, type CaseContext, type Row, ratio } from "../types.ts";

const AIM = 3;

export const specCase: BenchCase = {
  name: "spec",
  title: "load + render + validate a bldr tree (loadTree + resolveAll + lintTree) vs yaml.parse",
  async run(ctx: CaseContext): Promise<Row[]> {
    const spec = await loadSpec();
    const yaml = loadYaml();
    const count = ctx.quick ? 100 : 500;
    return withTempDir("spec", async (dir) => {
      const tree = await generateTree(dir, count);
      ctx.note(
        `generated tree: ${count} packages, ${tree.files.length} files, ${(tree.bytes / 1024).toFixed(0)} KiB`,
      );

      // Sanity: the tree must load cleanly, or we would be timing the error path.
      const check = await spec.loadTree({ root: dir, platform: "linux/amd64" });
      const resolved = spec.resolveAll(check);
      const lints = await spec.lintTree(check);
      const all = [...check.diagnostics, ...resolved.diagnostics, ...lints];
      const errors = all.filter((d) => d.severity === "error");
      if (check.packages.size !== count) {
        throw new Error(`loadTree found ${check.packages.size} packages, expected ${count}`);
      }
      if (errors.length > 0) {
        throw new Error(
          `the generated tree has ${errors.length} errors, e.g. ${errors[0]!.code}: ${errors[0]!.message}`,
        );
      }
      if (all.length > 0) ctx.note(`spec reports ${all.length} non-error findings on the generated tree`);

      const paths = tree.files.map((f) => join(dir, f));
      const texts = await Promise.all(paths.map((p) => readFile(p, "utf8")));
      let parsed = 0;
      const timings = await compare(
        [
          {
            name: "ours",
            run: async () => {
              const t = await spec.loadTree({ root: dir, platform: "linux/amd64" });
              spec.resolveAll(t);
              await spec.lintTree(t);
            },
          },
          {
            // What a hand-rolled script does: read each file, parse it.
            name: "read+parse",
            run: async () => {
              parsed = 0;
              for (const p of paths) {
                yaml.parse(await readFile(p, "utf8"));
                parsed++;
              }
            },
          },
          {
            // The parser alone, on text already in memory: the strictest baseline.
            name: "parse",
            run: async () => {
              for (const text of texts) yaml.parse(text);
            },
          },
        ],
        { runs: ctx.runs, warmup: ctx.warmup, log: ctx.log },
      );
      const varsRow = await varsMeasure(ctx, spec, yaml);
      const ours = timings.get("ours")!;
      const details = {
        packages: count,
        files: tree.files.length,
        treeBytes: tree.bytes,
        msPerPackage: round3(ours.medianMs / count),
      };
      const rows: Row[] = (
        [
          ["read+parse", `readFile + yaml.parse of the same ${parsed} files, one after another`],
          ["parse", `yaml.parse of the same ${texts.length} files' text, already read into memory`],
        ] as const
      ).map(([name, command]) => {
        const base = timings.get(name)!;
        const r = ratio(ours, base);
        return {
          measure: `${count} pkgs: loadTree+resolveAll+lintTree vs ${name === "parse" ? "parse only" : "read + parse"}`,
          ours,
          baseline: {
            name: `yaml.parse (${name})`,
            command: `${command} (yaml ${yamlVersion()}, as packages/spec resolves it)`,
            timing: base,
          },
          ratio: r,
          aim: `<= ${AIM}x yaml.parse`,
          met: r <= AIM,
          details: { ...details, baselineMsPerPackage: round3(base.medianMs / count) },
        };
      });
      return [...rows, varsRow];
    });
  },
};

/** One vars.yaml with many keys: loadTree (render + decode + schema + layering) vs yaml.parse. */
async function varsMeasure(
  ctx: CaseContext,
  spec: Awaited<ReturnType<typeof loadSpec>>,
  yaml: ReturnType<typeof loadYaml>,
): Promise<Row> {
  const keys = ctx.quick ? 20_000 : 150_000;
  const parseWith = yaml.parse as (text: string, options: { uniqueKeys: boolean }) => unknown;
  return withTempDir("spec-vars", async (dir) => {
    const lines: string[] = [];
    for (let i = 0; i < keys; i++) lines.push(`VAR_${i}: value-${i}-abcdefghijklmnopqrstuvwxyz0123456789`);
    const text = `${lines.join("\n")}\n`;
    await writeFile(join(dir, "Pkgfile"), "# syntax = ghcr.io/siderolabs/bldr:v0.6.3\nformat: v1alpha2\n");
    await writeFile(join(dir, "vars.yaml"), text);
    await writeFile(join(dir, "pkg.yaml"), "name: a\nvariant: scratch\nshell: '{{ .VAR_0 }}'\n");
    const check = await spec.loadTree({ root: dir, platform: "linux/amd64" });
    if (
      check.diagnostics.length > 0 ||
      check.packages.get("a")?.pkg.shell !== "value-0-abcdefghijklmnopqrstuvwxyz0123456789"
    ) {
      throw new Error(`the vars tree does not load cleanly: ${JSON.stringify(check.diagnostics[0])}`);
    }
    const timings = await compare(
      [
        { name: "ours", run: () => spec.loadTree({ root: dir, platform: "linux/amd64" }) },
        // yaml's default duplicate-key check scans the mapping per key (20k keys: 19 s, 150k: far
        // longer); without it the parser is linear, which is the cost worth comparing with.
        { name: "parse", run: async () => parseWith(text, { uniqueKeys: false }) },
      ],
      { runs: ctx.runs, warmup: ctx.warmup, log: ctx.log },
    );
    const ours = timings.get("ours")!;
    const base = timings.get("parse")!;
    const r = ratio(ours, base);
    return {
      measure: `vars.yaml with ${keys} keys: loadTree vs parse only`,
      ours,
      baseline: {
        name: "yaml.parse (vars.yaml)",
        command: `yaml.parse(text, { uniqueKeys: false }) of the same ${(text.length / 1e6).toFixed(1)} MB text, in memory (yaml ${yamlVersion()})`,
        timing: base,
      },
      ratio: r,
      aim: `<= ${AIM}x yaml.parse`,
      met: r <= AIM,
      details: { keys, bytes: text.length, msPerThousandKeys: round3(ours.medianMs / (keys / 1000)) },
    };
  });
}
