import { toDot, toGraphJson } from "@talos-ext/spec";
import { type Command, stringOption, usageError } from "../command.ts";
import { printJson } from "../report.ts";
import { BUILD_ARG_OPTION, loadForTarget, ROOT_OPTION } from "./shared.ts";

export const graphCommand: Command = {
  name: "graph",
  summary: "print the package dependency graph (Graphviz DOT like `bldr graph`, or JSON)",
  description: [
    "Prints every package of the tree, or only what --target needs, with an edge from each",
    "dependency to its dependent. Image dependencies are boxes; runtime edges are green.",
    "Packages whose variables set GRAPH_IGNORE=true are left out, as bldr does.",
  ].join("\n"),
  positionals: [],
  options: {
    ...ROOT_OPTION,
    target: { type: "string", value: "PKG", description: "only the subgraph this package needs" },
    format: {
      type: "string",
      value: "dot|json",
      description: "output format; default: dot (json with --json)",
    },
    platform: { type: "string", value: "P", description: "platform to render for; default: linux/amd64" },
    ...BUILD_ARG_OPTION,
  },
  examples: [
    "talos-ext graph --root extensions | dot -Tsvg > deps.svg",
    "talos-ext graph --root extensions --target multipath-tools",
    "talos-ext graph --root extensions --format json",
  ],
  async run(ctx) {
    const format = stringOption(ctx.values.format) ?? (ctx.json ? "json" : "dot");
    if (format !== "dot" && format !== "json")
      throw usageError(`unknown --format "${format}"`, "use dot or json");
    const { tree, target } = await loadForTarget(ctx, {
      code: "CLI_GRAPH_FAILED",
      message: "the tree has errors; no graph printed",
    });
    if (format === "json") printJson(ctx.io, toGraphJson(tree, target ? { target } : {}));
    else ctx.io.stdout(toDot(tree, target ? { target } : {}));
    return 0;
  },
};
