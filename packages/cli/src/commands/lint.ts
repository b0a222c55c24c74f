import {
  DEFAULT_TALOS_VERSION,
  type Diagnostic,
  hasErrors,
  type LoadedTree,
  lintTree,
  loadTree,
  PLATFORMS,
  type Platform,
  resolveAll,
  resolveGraph,
} from "@talos-ext/spec";
import { type Command, keyValueOption, stringOption } from "../command.ts";
import { dedupeDiagnostics, printDiagnostics, printJson } from "../report.ts";
import {
  BUILD_ARG_OPTION,
  CONFIG_OPTION,
  platformsOption,
  ROOT_OPTION,
  rootDir,
  workspaceConfig,
} from "./shared.ts";

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
    ...CONFIG_OPTION,
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
    target: {
      type: "string",
      value: "NAME",
      description:
        "lint only this package and the stage dependencies it reaches (problems elsewhere in the tree are not reported)",
    },
    ...BUILD_ARG_OPTION,
  },
  examples: [
    "talos-ext lint --root extensions",
    "talos-ext lint --root extensions --target multipath-tools",
    "talos-ext lint --root extensions --platform linux/arm64 --talos-version v1.12.0",
    "talos-ext lint --root . --build-arg PKGS=v1.13.0 --json | jq '.diagnostics[] | select(.severity==\"error\")'",
  ],
  async run(ctx) {
    const config = await workspaceConfig(ctx);
    const root = rootDir(ctx, config);
    const platforms = platformsOption(ctx, (config?.platforms as Platform[] | undefined) ?? PLATFORMS);
    const buildArgs = keyValueOption(ctx.values["build-arg"], "build-arg");
    const talosVersion =
      stringOption(ctx.values["talos-version"]) ?? config?.talos.version ?? DEFAULT_TALOS_VERSION;
    const target = stringOption(ctx.values.target);
    const names = new Set<string>();
    const all = [];
    for (const platform of platforms) {
      const tree = await loadTree({ root, platform, buildArgs });
      if (target !== undefined) {
        const { part, diagnostics } = targetPart(tree, target);
        for (const name of part.packages.keys()) names.add(name);
        all.push(...diagnostics, ...(await lintTree(part, { talosVersion })));
        continue;
      }
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
      printJson(ctx.io, { ok, root, platforms, talosVersion, packages: [...names].sort(), diagnostics });
    } else {
      printDiagnostics(ctx.io, diagnostics);
      ctx.io.stderr(
        `${ok ? "ok" : "failed"}: ${names.size} package(s) checked for ${platforms.join(", ")}\n`,
      );
    }
    return ok ? 0 : 1;
  },
};

/**
 * The part of a tree one package's build reads: the packages its graph reaches, and the load
 * problems of their files and of the files they inherit (Pkgfile, vars.yaml above them). This is
 * what the Nx plugin's per-project `lint` target checks, so one broken package does not fail all.
 */
function targetPart(tree: LoadedTree, target: string): { part: LoadedTree; diagnostics: Diagnostic[] } {
  const graph = resolveGraph(tree, target);
  // A package that did not load is unknown to the graph: every load problem may be the reason.
  if (!tree.packages.has(target)) {
    return {
      part: { ...tree, packages: new Map() },
      diagnostics: [...tree.diagnostics, ...graph.diagnostics],
    };
  }
  const packages = new Map([...graph.nodes.keys()].map((n) => [n, tree.packages.get(n)!]));
  const dirs = [...packages.values()].map((p) => p.dir);
  const ownsFile = (file: string) => {
    if (file === tree.files.pkgfile) return true;
    const slash = file.lastIndexOf("/");
    const dir = slash < 0 ? "" : file.slice(0, slash);
    const base = file.slice(slash + 1);
    return dirs.some(
      (d) =>
        d === "" ||
        file.startsWith(`${d}/`) ||
        // a vars.yaml on the way down to the package
        (base === "vars.yaml" && (dir === "" || d === dir || d.startsWith(`${dir}/`))),
    );
  };
  const loadProblems = tree.diagnostics.filter((d) => !d.file || ownsFile(d.file));
  return { part: { ...tree, packages }, diagnostics: [...loadProblems, ...graph.diagnostics] };
}
