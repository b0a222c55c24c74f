import { hasErrors, loadTree, resolveGraph, TalosExtError, toDump } from "@talos-ext/spec";
import { type Command, keyValueOption, stringOption } from "../command.ts";
import { printJson } from "../report.ts";
import { BUILD_ARG_OPTION, ROOT_OPTION, rootDir, singlePlatform } from "./shared.ts";

export const dumpCommand: Command = {
  name: "dump",
  summary: "print resolved packages with their rendered fields and variables (JSON)",
  description: [
    "Renders the tree for one platform and prints every package (or --target and what it needs)",
    "with its decoded pkg.yaml, the variables it was rendered with, and its templated files.",
  ].join("\n"),
  positionals: [],
  options: {
    ...ROOT_OPTION,
    target: { type: "string", value: "PKG", description: "only this package and its dependencies" },
    platform: { type: "string", value: "P", description: "platform to render for; default: linux/amd64" },
    ...BUILD_ARG_OPTION,
  },
  examples: [
    "talos-ext dump --root extensions --target multipath-tools --json",
    "talos-ext dump --root extensions --platform linux/arm64 --build-arg PKGS=v1.13.0 --json | jq '.packages[].name'",
  ],
  async run(ctx) {
    // bldr graph/dump read the tree in its CLI mode (dot-dirs skipped, _out/ kept).
    const tree = await loadTree({
      mode: "cli",
      root: rootDir(ctx),
      platform: singlePlatform(ctx),
      buildArgs: keyValueOption(ctx.values["build-arg"], "build-arg"),
    });
    const target = stringOption(ctx.values.target);
    const problems = [...tree.diagnostics];
    if (target) problems.push(...resolveGraph(tree, target).diagnostics);
    if (hasErrors(problems)) {
      throw new TalosExtError({
        code: "CLI_DUMP_FAILED",
        message: "the tree has errors; nothing dumped",
        hint: "fix the errors above (talos-ext lint shows them all)",
        diagnostics: problems,
      });
    }
    printJson(ctx.io, toDump(tree, target ? { target } : {}));
    return 0;
  },
};
