/**
 * `schematic` and `installer` run in-process through runCli with a captured io (the other CLI
 * tests spawn the built binary; these need no build and use the same command code).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  artifactsLayer,
  buildInitramfs,
  buildUki,
  dockerArchive,
  tarOf,
} from "../../../tools/doubles/imager-format.ts";
import { runCli } from "../src/cli.ts";
import type { CliIo } from "../src/io.ts";

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "talos-ext-cli-installer-"));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: CliIo = {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    cwd: tmp,
    env: {},
    interactive: false,
  };
  const code = await runCli(args, io);
  return { code, stdout, stderr };
}

describe("talos-ext schematic", () => {
  test("id computes the factory's ID offline", async () => {
    await writeFile(
      join(tmp, "s.yaml"),
      "customization:\n  systemExtensions:\n    officialExtensions: [siderolabs/iscsi-tools]\n",
    );
    const r = await cli(["schematic", "id", "s.yaml"]);
    expect(r).toMatchObject({
      code: 0,
      stdout: "c9078f9419961640c712a8bf2bb9174933dfcf1da383fd8ea2b7dc21493f8bac\n",
    });
    const j = await cli(["schematic", "id", "s.yaml", "--json"]);
    expect(JSON.parse(j.stdout).canonical).toContain("            - siderolabs/iscsi-tools\n");
  });

  test("bad schematics exit 1 with the code and position", async () => {
    await writeFile(join(tmp, "bad.yaml"), "customization:\n  extraKernelArg: [a]\n");
    const r = await cli(["schematic", "id", "bad.yaml", "--json"]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).diagnostics[0]).toMatchObject({ code: "SCHEMATIC_INVALID", line: 2 });
  });

  test("url prints the installer reference; unknown actions are usage errors", async () => {
    const id = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba";
    const r = await cli(["schematic", "url", id, "--talos-version", "1.11.2", "--platform", "aws"]);
    expect(r.stdout).toBe(`factory.talos.dev/aws-installer/${id}:v1.11.2\n`);
    expect((await cli(["schematic", "frob", "x"])).code).toBe(2);
    expect((await cli(["schematic", "url", "abc", "--talos-version", "v1.11.2"])).code).toBe(1);
  });
});

describe("talos-ext installer", () => {
  test("inspect and diff against a node's extensions (a lost extension exits 1)", async () => {
    const initrd = buildInitramfs({
      compression: "zstd",
      extensions: [{ name: "iscsi-tools", version: "v0.2.0" }],
    });
    const uki = buildUki({ version: "v1.11.2", cmdline: "talos.platform=metal", initrd });
    const file = join(tmp, "installer-amd64.tar");
    await writeFile(
      file,
      dockerArchive({
        arch: "amd64",
        layers: [
          tarOf([{ path: "usr/bin/installer", data: "i" }]),
          artifactsLayer([{ path: "usr/install/amd64/vmlinuz.efi", data: uki }]),
        ],
      }),
    );
    const r = await cli(["installer", "inspect", "installer-amd64.tar"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Talos v1.11.2 amd64, uki");
    expect(r.stdout).toContain("0    iscsi-tools v0.2.0");
    await writeFile(
      join(tmp, "node.json"),
      `${JSON.stringify({ node: "n", metadata: { id: "0" }, spec: { image: "0.sqsh", metadata: { name: "iscsi-tools", version: "v0.1.6" } } }, null, 4)}\n${JSON.stringify({ node: "n", metadata: { id: "1" }, spec: { image: "1.sqsh", metadata: { name: "multipath-tools", version: "0.0.4" } } }, null, 4)}\n`,
    );
    const d = await cli(["installer", "diff", "installer-amd64.tar", "--current", "node.json"]);
    expect(d.code).toBe(1);
    expect(d.stdout).toBe("  ~ iscsi-tools v0.1.6 -> v0.2.0\n  - multipath-tools 0.0.4\n");
  });

  test("compose --dry-run shows the route and the diff", async () => {
    const r = await cli([
      "installer",
      "compose",
      "--talos-version",
      "v1.11.2",
      "--build",
      `multipath-tools=127.0.0.1:5000/ext/multipath-tools:0.0.5@sha256:${"a".repeat(64)}`,
      "--dry-run",
      "--json",
    ]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.route).toBe("imager");
    expect(out.diff.added.map((e: { name: string }) => e.name)).toEqual(["multipath-tools"]);
    expect((await cli(["installer", "compose", "--dry-run"])).code).toBe(2);
    const args = await cli([
      "installer",
      "compose",
      "--talos-version",
      "v1.11.2",
      "--kernel-arg",
      "console=ttyS1",
      "--build",
      `multipath-tools=127.0.0.1:5000/ext/multipath-tools:0.0.5@sha256:${"a".repeat(64)}`,
      "--dry-run",
    ]);
    expect(args.stdout).toBe("route: imager\nkernel args: console=ttyS1\n  + multipath-tools\n");
    // Without --kernel-arg the node schematic's args are kept (an installer without them drops them).
    await writeFile(
      join(tmp, "factory-node.json"),
      JSON.stringify([
        {
          node: "n",
          metadata: { id: "0" },
          spec: {
            image: "0.sqsh",
            metadata: {
              name: "schematic",
              version: "9cba8e32753f91a16c1837ab8abf356af021706ef284aef07380780177d9a06c",
              author: "Image Factory (https://factory.talos.dev)",
              extraInfo: "customization:\n    extraKernelArgs:\n        - noapic\n        - nolapic\n",
            },
          },
        },
      ]),
    );
    const kept = await cli([
      "installer",
      "compose",
      "--talos-version",
      "v1.11.2",
      "--current",
      "factory-node.json",
      "--dry-run",
    ]);
    expect(kept.stdout).toBe("route: factory\nkernel args: noapic nolapic\n");
  });
});
