import { it } from "vitest";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { writeLayer } from "./layer.ts";
function prng(n: number, seed: string): Buffer { const out = Buffer.alloc(n); let off = 0, i = 0; while (off < n) { const b = createHash("sha256").update(`${seed}:${i++}`).digest(); off += b.copy(out, off); } return out; }
it("find", async () => {
  for (const shape of ["a", "b", "c", "d"]) {
    const data = shape === "a" ? Buffer.concat([prng(3_000_000, "x"), Buffer.alloc(2_000_000, 7), Buffer.from("abc".repeat(1_000_000))])
      : shape === "b" ? prng(4_000_000, "y")
      : shape === "c" ? Buffer.from(Array.from({ length: 400_000 }, (_, i) => `line ${i} ${i * 7919 % 1000}\n`).join(""))
      : Buffer.concat([prng(1_000_000, "z"), Buffer.from(Array.from({ length: 200_000 }, (_, i) => `line ${i} ${i * 7919 % 1000}\n`).join("")), prng(1_000_000, "w")]);
    const ds: string[] = [];
    for (const size of [1000, 4096, 7777, 65536, 1 << 20]) {
      const open = () => Readable.from((function* () { for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size); })());
      ds.push((await writeLayer([{ path: "f", type: "file", mode: 0o644, size: data.length, open }], { dir: "/tmp/zzblobs" }, { sourceDateEpoch: 0, compression: "zstd" })).digest.slice(7, 15));
    }
    console.log("SHAPE", shape, data.length, ds);
  }
}, 120000);
