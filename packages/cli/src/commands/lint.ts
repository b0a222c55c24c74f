import { DEFAULT_TALOS_VERSION, hasErrors, lintTree, loadTree, PLATFORMS, resolveAll } from "@talos-ext/spec";
import { type Command, keyValueOption, stringOption } from "../command.ts";
import { dedupeDiagnostics, printDiagnostics, printJson } from "../report.ts";
import { BUILD_ARG_OPTION, platformsOption, ROOT_OPTION, rootDir } from "./shared.ts";

export const lintCommand: Command = {
  name: "lint",
  summary: "check a bldr tree against bldr's and Talos's rules before anything is built",
  description: [
    "Loads every Pkgfile, vars.yaml, pkg.yaml and *.tmpl the way bldr does, renders them for each",
    "platform, resolves the package graph, and applies Talos's extension rules plus lints for known",
    "breakages (service specs, manifests, image references, checksums).",
  ].join("\n"),
  positionals: [],
  options: {
    ...ROOT_OPTION,
    platform: {
      type: "string",
      value: "LIST",
      description: "platforms to render for, comma-separated; default: linux/amd64,linux/arm64",
    },
    "talos-version": {
      type: "string",
      value: "V",
      description: `Talos version the manifests' compatibility constraints are checked against; default: ${DEFAULT_TALOS_VERSION}`,
    },
    ...BUILD_ARG_OPTION,
  },
  examples: [
    "talos-ext lint --root extensions",
    "talos-ext lint --root extensions --platform linux/arm64 --talos-version v1.12.0",
    "talos-ext lint --root . --build-arg PKGS=v1.13.0 --json | jq '.diagnostics[] | select(.severity==\"error\")'",
  ],
  async run(ctx) {
    const root = rootDir(ctx);
    const platforms = platformsOption(ctx, PLATFORMS);
    const buildArgs = keyValueOption(ctx.values["build-arg"], "build-arg");
    const talosVersion = stringOption(ctx.values["talos-version"]) ?? DEFAULT_TALOS_VERSION;
    const names = new Set<string>();
    const all = [];
    for (const platform of platforms) {
      const tree = await loadTree({ root, platform, buildArgs });
      for (const name of tree.packages.keys()) names.add(name);
      all.push(
        ...tree.diagnostics,
        ...resolveAll(tree).diagnostics,
        ...(await lintTree(tree, { talosVersion })),
      );
    }
    const diagnostics = dedupeDiagnostics(all);
    const ok = !hasErrors(diagnostics);
    if (ctx.json) {
      printJson(ctx.io, { ok, packages: [...names].sort(), diagnostics });
    } else {
      printDiagnostics(ctx.io, diagnostics);
      ctx.io.stderr(
        `${ok ? "ok" : "failed"}: ${names.size} package(s) checked for ${platforms.join(", ")}\n`,
      );
    }
    return ok ? 0 : 1;
  },
};
