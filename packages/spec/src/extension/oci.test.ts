import { execFileSync } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { goodExtension, tarSpecs, writeFixtureDir, writeOciLayout } from "../../test/support/fixtures.ts";
import { TalosExtError } from "../errors.ts";
import { readOciLayout, validateExtension } from "./index.ts";
import type { ExtensionTree } from "./tree.ts";

let tmp: string;
let n = 0;
const fresh = () => join(tmp, `case-${++n}`);

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "talos-ext-oci-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const paths = (t: ExtensionTree) => t.entries.map((e) => e.path).sort();
const text = async (t: ExtensionTree, path: string) =>
  new TextDecoder().decode(await t.entries.find((e) => e.path === path)!.read!());

async function failure(p: Promise<unknown>): Promise<TalosExtError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(TalosExtError);
    return e as TalosExtError;
  }
  throw new Error("expected a failure");
}

describe("readOciLayout", () => {
  test("applies layers in order with .wh.<name> and .wh..wh..opq whiteouts", async () => {
    const dir = await writeOciLayout(fresh(), [
      {
        platform: "linux/amd64",
        layers: [
          {
            specs: tarSpecs({
              "manifest.yaml": "version: v1alpha1\n",
              "rootfs/usr/local/bin/old": "old",
              "rootfs/usr/local/bin/keep": "v1",
              "rootfs/usr/local/share/doc/a": "a",
              "rootfs/usr/local/share/doc/sub/deep": "deep",
              "rootfs/usr/local/gone/x": "x",
            }),
          },
          {
            gzip: true,
            specs: tarSpecs({
              "rootfs/usr/local/bin/.wh.old": "",
              "rootfs/usr/local/bin/keep": "v2",
              "rootfs/usr/local/share/doc/.wh..wh..opq": "",
              "rootfs/usr/local/share/doc/b": "b",
              "rootfs/usr/local/.wh.gone": "",
            }),
          },
        ],
      },
    ]);
    const tree = await readOciLayout(dir);
    expect(paths(tree)).toEqual([
      "manifest.yaml",
      "rootfs/usr/local/bin/keep",
      "rootfs/usr/local/share/doc/b",
    ]);
    expect(await text(tree, "rootfs/usr/local/bin/keep")).toBe("v2");
  });

  test("picks the platform from a (nested) index, or from the image config when the index has none", async () => {
    const images = (platformInIndex: boolean) =>
      ["linux/amd64", "linux/arm64"].map((platform) => ({
        platform,
        platformInIndex,
        layers: [{ specs: tarSpecs({ [`rootfs/usr/local/${platform.split("/")[1]}`]: "x" }) }],
      }));
    for (const [platformInIndex, nestIndex] of [
      [true, false],
      [true, true],
      [false, false],
    ] as const) {
      const dir = await writeOciLayout(fresh(), images(platformInIndex), { nestIndex });
      expect(paths(await readOciLayout(dir, "linux/arm64"))).toEqual(["rootfs/usr/local/arm64"]);
      expect(paths(await readOciLayout(dir))).toEqual(["rootfs/usr/local/amd64"]);
      const e = await failure(readOciLayout(dir, "linux/s390x"));
      expect(e.code).toBe("OCI_PLATFORM_NOT_FOUND");
      expect(e.message).toContain("linux/amd64, linux/arm64");
    }
  });

  test("refuses blobs that do not match their digest, and missing blobs", async () => {
    const dir = await writeOciLayout(fresh(), [
      { platform: "linux/amd64", layers: [{ specs: tarSpecs({ "manifest.yaml": "x" }) }] },
    ]);
    const blobs = join(dir, "blobs", "sha256");
    const names = await readdir(blobs);
    // Corrupt every blob that is a tar (the layer).
    for (const name of names) {
      const bytes = execFileSync("cat", [join(blobs, name)]);
      if (bytes.length >= 1024) {
        bytes[0] = bytes[0]! ^ 0xff;
        await writeFile(join(blobs, name), bytes);
      }
    }
    expect((await failure(readOciLayout(dir))).code).toBe("OCI_DIGEST_MISMATCH");
    for (const name of names) await rm(join(blobs, name));
    expect((await failure(readOciLayout(dir))).code).toBe("OCI_BLOB_MISSING");
    await rm(join(dir, "oci-layout"));
    expect((await failure(readOciLayout(dir))).code).toBe("OCI_LAYOUT_INVALID");
  });

  test("large files are read back on demand from gzip and plain layers", async () => {
    const big = "y".repeat(200_000);
    for (const gzip of [false, true]) {
      const dir = await writeOciLayout(fresh(), [
        {
          platform: "linux/amd64",
          layers: [{ gzip, specs: tarSpecs({ "rootfs/usr/local/big": big, "rootfs/usr/local/small": "s" }) }],
        },
      ]);
      const tree = await readOciLayout(dir);
      expect(await text(tree, "rootfs/usr/local/big")).toBe(big);
      expect(await text(tree, "rootfs/usr/local/small")).toBe("s");
    }
  });
});

describe("validateExtension on images", () => {
  test("an OCI layout directory, and the same layout as a tar (oci-archive)", async () => {
    const dir = await writeOciLayout(fresh(), [
      {
        platform: "linux/amd64",
        layers: [{ gzip: true, specs: tarSpecs(goodExtension({ "rootfs/usr/lib64/x.so": "x" })) }],
      },
      { platform: "linux/arm64", layers: [{ gzip: true, specs: tarSpecs(goodExtension()) }] },
    ]);
    const amd = await validateExtension(dir, { platform: "linux/amd64" });
    expect(amd.diagnostics.map((d) => [d.code, d.file])).toEqual([
      ["EXT_PATH_NOT_ALLOWED", `${dir}:rootfs/usr/lib64/x.so`],
    ]);
    expect(amd.services.map((s) => s.spec.name)).toEqual(["multipathd"]);
    const arm = await validateExtension(dir, { platform: "linux/arm64" });
    expect(arm.ok).toBe(true);

    const archive = `${fresh()}.tar`;
    execFileSync("tar", ["-C", dir, "-cf", archive, "."]);
    const fromArchive = await validateExtension(archive, { platform: "linux/amd64" });
    expect(fromArchive.diagnostics.map((d) => [d.code, d.file])).toEqual([
      ["EXT_PATH_NOT_ALLOWED", `${archive}:rootfs/usr/lib64/x.so`],
    ]);
    const gz = `${fresh()}.tar.gz`;
    execFileSync("tar", ["-C", dir, "-czf", gz, "."]);
    expect((await validateExtension(gz, { platform: "linux/arm64" })).ok).toBe(true);
  });

  test("an image built by umoci (an independent producer), whiteouts included", async () => {
    const work = fresh();
    const src = await writeFixtureDir(
      join(work, "src"),
      goodExtension({ "rootfs/usr/local/bin/tmp-tool": "x" }),
    );
    const layout = join(work, "layout");
    const umoci = (...args: string[]) => execFileSync("umoci", args, { stdio: "pipe" });
    umoci("init", "--layout", layout);
    umoci("new", "--image", `${layout}:latest`);
    umoci(
      "insert",
      "--rootless",
      "--image",
      `${layout}:latest`,
      join(src, "manifest.yaml"),
      "/manifest.yaml",
    );
    umoci("insert", "--rootless", "--image", `${layout}:latest`, join(src, "rootfs"), "/rootfs");
    umoci(
      "insert",
      "--rootless",
      "--image",
      `${layout}:latest`,
      "--whiteout",
      "/rootfs/usr/local/bin/tmp-tool",
    );
    const r = await validateExtension(layout);
    expect(r.diagnostics).toEqual([]);
    expect(r.manifest?.metadata.version).toBe("0.13.0");
    const tree = await readOciLayout(layout);
    expect(tree.entries.some((e) => e.path === "rootfs/usr/local/bin/tmp-tool")).toBe(false);
    expect(tree.entries.some((e) => e.path === "rootfs/usr/local/sbin/multipathd")).toBe(true);
  });
});
