/**
 * Why zstd layers are one frame (issue 7, item 10): can Node's zstd decoder read concatenated
 * frames as one stream, as the zstd CLI and containerd do? If this test starts failing after a
 * Node upgrade, the decoder learned to, and frames may be compressed in parallel (compress.ts).
 */
import { createZstdDecompress, zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { execaSync } from "execa";
import { describe, expect, it } from "vitest";

const first = Buffer.from("first frame\n");
const second = Buffer.from("second frame\n");
const concatenated = Buffer.concat([zstdCompressSync(first), zstdCompressSync(second)]);

function hasZstdCli(): boolean {
  return execaSync("zstd", ["--version"], { reject: false, stdio: "ignore" }).exitCode === 0;
}

describe(`Node ${process.version} zstd decoder and concatenated frames`, () => {
  it("the sync decoder stops after the first frame", () => {
    expect(zstdDecompressSync(concatenated).toString()).toBe(first.toString());
  });

  it("the streaming decoder (what our tar readers use) stops after the first frame too", async () => {
    const d = createZstdDecompress();
    const out: Buffer[] = [];
    d.on("data", (c: Buffer) => out.push(c));
    const ended = new Promise<void>((resolve, reject) => {
      d.once("end", () => resolve());
      d.once("error", reject);
    });
    d.end(concatenated);
    await ended;
    expect(Buffer.concat(out).toString()).toBe(first.toString());
  });

  it.skipIf(!hasZstdCli())("while the zstd CLI reads both frames: the input is valid", () => {
    const out = execaSync("zstd", ["-dc"], {
      input: concatenated,
      encoding: "buffer",
      stripFinalNewline: false,
    }).stdout;
    expect(Buffer.from(out).toString()).toBe(`${first}${second}`);
  });
});
