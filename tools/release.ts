/**
 * `pnpm release [--dry-run] [-- changeset publish flags]`: build every publishable package, pack
 * each one and check the tarball (tools/release-check.ts, publint, are-the-types-wrong), then
 * either `changeset publish` (publishes every package whose version is not on the registry yet,
 * through `pnpm publish`, and tags it) or, with --dry-run, show what would happen without
 * publishing or contacting the registry: `changeset status` (the version bumps pending in
 * .changeset/) and `pnpm publish --dry-run` for each package. See docs/releasing.md.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const args = process.argv.slice(2);
const dryRun = args.includes("--dry-run");
const skipBuild = args.includes("--skip-build");
// Everything else goes to `changeset publish` (--otp, --tag, --no-git-tag).
const publishArgs = args.filter((a) => a !== "--dry-run" && a !== "--skip-build" && a !== "--");

const NX_ENV = { ...process.env, NX_NO_CLOUD: "true", NX_DAEMON: "false", NX_TUI: "false" };

function run(command: string, commandArgs: string[], env: NodeJS.ProcessEnv = process.env): number {
  process.stderr.write(`\n$ ${command} ${commandArgs.join(" ")}\n`);
  const r = spawnSync(command, commandArgs, { cwd: root, env, stdio: "inherit" });
  return r.status ?? 1;
}

function fail(message: string): never {
  process.stderr.write(`\nrelease: ${message}\n`);
  process.exit(1);
}

// The checker imports @talos-ext/spec, which resolves to spec's dist: load it after the build.
const { packPackage, packedProblems, publishablePackages, runAttw, runPublint } = await import(
  "./release-check.ts"
);
const packages = publishablePackages(root);
if (packages.length === 0) fail("no publishable package under packages/");

if (!skipBuild) {
  const projects = packages.map((p) => p.name).join(",");
  const status = run(
    "pnpm",
    ["exec", "nx", "run-many", "-t", "build", `--projects=${projects}`, "--output-style=static"],
    NX_ENV,
  );
  if (status !== 0) fail("the build failed");
}

const packDir = mkdtempSync(join(tmpdir(), "talos-ext-release-"));
let failed = 0;
try {
  for (const pkg of packages) {
    const packed = await packPackage(pkg, packDir);
    const problems = packedProblems(packed);
    const lints = [await runPublint(packed.tarball, root), await runAttw(packed.tarball, root)];
    const bad = lints.filter((l) => !l.ok);
    const ok = problems.length === 0 && bad.length === 0;
    process.stderr.write(`${ok ? "ok  " : "FAIL"} ${pkg.name}@${pkg.version} (${packed.files.size} files)\n`);
    for (const p of problems) process.stderr.write(`     ${p}\n`);
    for (const l of bad) process.stderr.write(`     ${l.tool}:\n${l.output.replace(/^/gm, "       ")}\n`);
    if (!ok) failed++;
  }
} finally {
  rmSync(packDir, { recursive: true, force: true });
}
if (failed > 0) fail(`${failed} package(s) are not ready to publish; nothing was published`);

if (dryRun) {
  // Informational: it fails only when packages changed since main without any changeset.
  if (run("pnpm", ["exec", "changeset", "status", "--verbose"]) !== 0)
    process.stderr.write("release: changeset status reported a problem (see above)\n");
  for (const pkg of packages) {
    const status = run("pnpm", [
      "--dir",
      pkg.dir,
      "publish",
      "--dry-run",
      "--no-git-checks",
      "--access",
      "public",
      // A dry run never needs the registry: make sure it cannot reach it.
      "--registry",
      "http://127.0.0.1:9/",
    ]);
    if (status !== 0) fail(`pnpm publish --dry-run failed for ${pkg.name}`);
  }
  process.stderr.write(
    `\nrelease: dry run done, nothing published. \`pnpm release\` would publish every package above ` +
      `whose version is not on the registry yet (changeset publish asks the registry) and tag it.\n`,
  );
} else {
  const status = run("pnpm", ["exec", "changeset", "publish", ...publishArgs]);
  if (status !== 0) fail("changeset publish failed (see above); packages already published stay published");
  process.stderr.write("\nrelease: published; push the tags with `git push --follow-tags`\n");
}
