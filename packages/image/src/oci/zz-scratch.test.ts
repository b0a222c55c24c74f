import { it } from "vitest";
import { writeOciLayout } from "./layout.ts";
it("big", async () => {
  for (const compression of ["gzip", "zstd"] as const) {
    const t = Date.now();
    const r = await writeOciLayout(`/tmp/big/out-${compression}`, [{ platform: "linux/amd64", layers: ["/tmp/big/root"] }], { sourceDateEpoch: 1, compression });
    console.log("BIG", compression, r.digest.slice(0, 20), Date.now() - t, "ms", "maxRSS MB", Math.round(process.resourceUsage().maxRSS / 1024));
  }
}, 600_000);
