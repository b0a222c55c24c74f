/**
 * The inferred targets of one package. Each says what it does (`metadata.description`) and how
 * to learn more (`metadata.help`), so `nx show project <name>` documents itself.
 */
import type { TargetConfiguration } from "@nx/devkit";
import type { NormalizedOptions } from "./options.ts";
import type { TreePackage } from "./tree-packages.ts";

/** The named input every target of a package hashes: exactly the files bldr reads for it. */
export const PACKAGE_INPUT = "talos-ext-package";

/** The project-level named input: the package directory plus what shapes it from outside. */
export function packageNamedInput(pkg: TreePackage): string[] {
  return ["{projectRoot}/**/*", ...pkg.sharedInputs.map((f) => `{workspaceRoot}/${f}`)];
}

/** Shell-quotes one argument when it needs it (names and paths here rarely do). */
function sh(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** The reference `push` publishes to, when a registry is configured. */
export function pushRef(pkg: TreePackage, o: NormalizedOptions): string | undefined {
  if (!o.registry) return undefined;
  return `${o.registry}/${pkg.name}:${pkg.version ?? "latest"}`;
}

type Input = NonNullable<TargetConfiguration["inputs"]>[number];

function toolInputs(o: NormalizedOptions): Input[] {
  // The CLI is part of what a result depends on: its built files when this workspace builds it,
  // otherwise the version the installed one reports (works for a local, global or npx install).
  if (o.cliProject) return [{ dependentTasksOutputFiles: "**/*", transitive: false }];
  return [{ runtime: `${o.cli} --version` }];
}

function cliDependsOn(o: NormalizedOptions): TargetConfiguration["dependsOn"] {
  return o.cliProject ? [{ projects: [o.cliProject], target: "build" }] : [];
}

/** Every command runs from the workspace root, where the tree roots and outputs are relative to. */
function run(command: string): TargetConfiguration["options"] {
  return { command, cwd: "{workspaceRoot}" };
}

/** Targets for one package: lint for every package; build, test, push, installer, deploy for extensions. */
export function targetsFor(
  pkg: TreePackage,
  treeRoot: string,
  o: NormalizedOptions,
): Record<string, TargetConfiguration> {
  const cli = o.cli;
  const root = sh(treeRoot);
  const name = sh(pkg.name);
  const out = `${o.outputDir}/${pkg.name}`;
  const inputs = [PACKAGE_INPUT, `^${PACKAGE_INPUT}`, ...toolInputs(o)];
  const targets: Record<string, TargetConfiguration> = {
    lint: {
      executor: "nx:run-commands",
      options: run(`${cli} lint --root ${root} --target ${name}`),
      cache: true,
      inputs,
      outputs: [],
      dependsOn: cliDependsOn(o),
      metadata: {
        description: `Lint ${pkg.name} and its stage dependencies: bldr's rules, Talos's extension rules and the lints for known breakages, for every platform. Nothing is built.`,
        technologies: ["talos-ext"],
        help: { command: `${cli} lint --help`, example: { options: { "talos-version": "v1.13.9" } } },
      },
    },
  };
  if (pkg.kind !== "extension") return targets;

  const platforms = o.platforms.length ? ` --platform ${sh(o.platforms.join(","))}` : "";
  const mirrors = o.mirrors.map((m) => ` --mirror ${sh(m)}`).join("");
  targets.build = {
    executor: "nx:run-commands",
    options: run(`${cli} build ${name} --root ${root} --output ${sh(out)}${platforms}${mirrors}`),
    cache: true,
    inputs,
    outputs: [`{workspaceRoot}/${out}`],
    dependsOn: cliDependsOn(o),
    metadata: {
      description: `Build ${pkg.name} (with its stage dependencies, in one BuildKit build, or without any engine when nothing runs) into a deterministic, validated OCI image layout at ${out}. The package's detached test steps run inside this build.`,
      technologies: ["talos-ext"],
      help: { command: `${cli} build --help`, example: { options: { offline: true } } },
    },
  };
  targets.test = {
    executor: "nx:run-commands",
    options: run(`${cli} validate ${sh(out)} --pkg-name ${name}`),
    cache: true,
    // The built image is an input; with a CLI project, the same entry already covers it.
    inputs: o.cliProject ? inputs : [...inputs, { dependentTasksOutputFiles: "**/*", transitive: false }],
    outputs: [],
    dependsOn: ["build", ...(cliDependsOn(o) ?? [])],
    metadata: {
      description: `Check ${pkg.name}'s built image the way Talos and extensions-validator do (layout, manifest, allowed paths, services). Its detached test steps already ran in build; a failing one fails build.`,
      technologies: ["talos-ext"],
      help: { command: `${cli} validate --help`, example: { options: { "talos-version": "v1.13.9" } } },
    },
  };
  const ref = pushRef(pkg, o);
  targets.push = {
    executor: "nx:run-commands",
    options: run(`${cli} push ${sh(out)}${ref ? ` ${sh(ref)}` : ""}`),
    cache: false,
    dependsOn: ["build", ...(cliDependsOn(o) ?? [])],
    metadata: {
      description: ref
        ? `Push the built ${pkg.name} image to ${ref} (HEAD-skip, cross-repo mount, retries, tag last). Never cached.`
        : `Push the built ${pkg.name} image: pass the reference, e.g. nx run ${pkg.name}:push -- registry.example/talos/${pkg.name}:${pkg.version ?? "v1"} (or set the plugin's "registry" option). Never cached.`,
      technologies: ["talos-ext"],
      help: { command: `${cli} push --help`, example: { args: [`registry.example/talos/${pkg.name}:v1`] } },
    },
  };
  // installer and deploy run the CLI's one pipeline on this project's build (run through Nx by
  // --nx-build, so it is cached): push, read the nodes, compose an installer that keeps what
  // they run, (plan, apply). Settings come from talos-ext.yaml; extra flags pass through
  // (nx run NAME:deploy --dry-run, which builds nothing).
  const rollout = `${cli} deploy --extension ${name} --layout ${sh(out)} --nx-build`;
  targets.installer = {
    executor: "nx:run-commands",
    options: run(`${rollout} --until installer`),
    cache: false,
    // Not dependsOn build: --nx-build runs it through Nx (cached), and a dry run skips it.
    dependsOn: cliDependsOn(o),
    metadata: {
      description: `Push ${pkg.name} and compose a Talos installer that keeps the nodes' current extensions and adds it; prints the installer reference (talos-ext deploy --extension ${pkg.name} --until installer, from @talos-ext/installer). Never cached.`,
      technologies: ["talos-ext"],
      help: { command: `${cli} deploy --help`, example: { options: { "talos-version": "v1.13.9" } } },
    },
  };
  targets.deploy = {
    executor: "nx:run-commands",
    options: run(rollout),
    cache: false,
    dependsOn: cliDependsOn(o),
    metadata: {
      description: `Push ${pkg.name}, compose the installer that keeps the nodes' extensions, and roll it out one node at a time, verified (talos-ext deploy --extension ${pkg.name}, from @talos-ext/deploy). --dry-run prints the whole plan and changes nothing. Never cached.`,
      technologies: ["talos-ext"],
      help: { command: `${cli} deploy --help`, example: { options: { "dry-run": true } } },
    },
  };
  return targets;
}
