/**
 * Why spec has its own frame walker (tar/zstd-frames.ts): Node's streaming zstd decoder stops
 * after the first of concatenated frames, while the zstd CLI and containerd read them all. Our
 * layers are one frame per 4 MiB block (compressed in parallel), so every reader of ours goes
 * through the walker. If this test starts failing after a Node upgrade, the walker may go.
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
