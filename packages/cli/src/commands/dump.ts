import { toDump } from "@talos-ext/spec";
import type { Command } from "../command.ts";
import { printJson } from "../report.ts";
import { BUILD_ARG_OPTION, loadForTarget, ROOT_OPTION } from "./shared.ts";

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
    const { tree, target } = await loadForTarget(ctx, {
      code: "CLI_DUMP_FAILED",
      message: "the tree has errors; nothing dumped",
    });
    printJson(ctx.io, toDump(tree, target ? { target } : {}));
    return 0;
  },
};
