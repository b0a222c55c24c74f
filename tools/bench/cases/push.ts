/**
 * push: pushLayout of the rootfs layout to a real local registry vs `skopeo copy` of the same
 * layout; then a re-push of the unchanged image, which should cost only HEAD requests.
 *
 * Every measured first push goes to a registry started just for it (untimed), so neither tool
 * finds blobs already there, and skopeo's blob-info cache cannot turn an upload into a
 * cross-repository mount. Timings talk to the registry directly; the harness's logging proxy
 * runs in this process and would otherwise compete with our client for the CPU. Requests are
 * counted on one extra re-push through the proxy.
 */
import { randomBytes } from "node:crypto";
import { available, compare, dirBytes, mib, sh } from "../lib.ts";
import { loadImage, requireExport } from "../modules.ts";
import { type BenchCase, type CaseContext, type Row, ratio, Skip } from "../types.ts";

type RegistryHarness = typeof import("../../harness/registry.ts");
type RunningRegistry = Awaited<ReturnType<RegistryHarness["startRegistry"]>>;
type PushLayout = (
  layoutDir: string,
  ref: string,
  options: { insecure?: boolean; onProgress?: (e: { type: string }) => void },
) => Promise<{ pushedBlobs: number; skippedBlobs: number; mountedBlobs: number; digest: string }>;

const AIM_PUSH = 1.0;

function q(path: string): string {
  return `'${path.replaceAll("'", "'\\''")}'`;
}

async function loadHarness(): Promise<RegistryHarness> {
  try {
    const mod = (await import(new URL("../../harness/registry.ts", import.meta.url).href)) as RegistryHarness;
    if (typeof mod.startRegistry !== "function") throw new Error("no startRegistry export");
    return mod;
  } catch (e) {
    throw new Skip(`tools/harness/registry.ts is not usable yet: ${(e as Error).message}`);
  }
}

export const pushCase: BenchCase = {
  name: "push",
  title: "pushLayout to a local registry vs skopeo copy; re-push of an unchanged image",
  defaults: (quick) => (quick ? { runs: 3, warmup: 1 } : { runs: 3, warmup: 1 }),
  async run(ctx: CaseContext): Promise<Row[]> {
    const image = await loadImage();
    const pushLayout = requireExport<PushLayout>(image, "pushLayout", "@talos-ext/image");
    const harness = await loadHarness();
    const haveSkopeo = await available("skopeo", ["--version"]);
    if (!haveSkopeo) throw new Skip("skopeo is not installed (tools/bootstrap installs it)");

    const layout = await ctx.fixtures.layout();
    const rootfs = await ctx.fixtures.rootfs();
    const layoutBytes = await dirBytes(layout);
    ctx.note(`push: the oci-writer's gzip layout (${mib(layoutBytes)}) of the ${mib(rootfs.bytes)} rootfs`);
    const skopeo = (host: string, repo: string) =>
      `skopeo copy --quiet --dest-tls-verify=false oci:${q(layout)}:v1 docker://${host}/${repo}:v1`;

    let registry: RunningRegistry | undefined;
    const fresh = async () => {
      registry = await harness.startRegistry({ proxy: false });
    };
    const stop = async () => {
      await registry?.stop();
      registry = undefined;
    };
    const unique = () => randomBytes(4).toString("hex");
    const rows: Row[] = [];
    try {
      const first = await compare(
        [
          {
            name: "ours",
            before: fresh,
            run: async () => {
              const res = await pushLayout(layout, `${registry!.direct}/bench/ours-${unique()}:v1`, {
                insecure: true,
              });
              if (res.pushedBlobs === 0) throw new Error("pushLayout uploaded nothing to a fresh registry");
            },
            after: stop,
          },
          {
            name: "skopeo",
            before: fresh,
            run: () => sh(skopeo(registry!.direct, `bench/skopeo-${unique()}`)),
            after: stop,
          },
        ],
        { runs: ctx.runs, warmup: ctx.warmup, log: ctx.log },
      );
      const oursT = first.get("ours")!;
      const skopeoT = first.get("skopeo")!;
      const r = ratio(oursT, skopeoT);
      rows.push({
        measure: "first push: pushLayout vs skopeo copy",
        ours: oursT,
        baseline: {
          name: "skopeo copy",
          command: skopeo("127.0.0.1:$PORT", "bench/skopeo-$RANDOM"),
          timing: skopeoT,
        },
        ratio: r,
        aim: `<= ${AIM_PUSH}x skopeo copy`,
        met: r <= AIM_PUSH,
        details: {
          layoutBytes,
          oursMiBPerSecond: Math.round(layoutBytes / (1 << 20) / (oursT.medianMs / 1000)),
        },
      });

      // Re-push: one registry that already holds the image under both names.
      const reg = await harness.startRegistry();
      try {
        const oursRef = `bench/ours-${unique()}`;
        const skopeoRef = `bench/skopeo-${unique()}`;
        await pushLayout(layout, `${reg.direct}/${oursRef}:v1`, { insecure: true });
        await sh(skopeo(reg.direct, skopeoRef));
        const again = await compare(
          [
            {
              name: "ours",
              run: () => pushLayout(layout, `${reg.direct}/${oursRef}:v1`, { insecure: true }),
            },
            { name: "skopeo", run: () => sh(skopeo(reg.direct, skopeoRef)) },
          ],
          { runs: Math.max(ctx.runs, 5), warmup: 1, log: ctx.log },
        );
        // One more re-push through the logging proxy, to see which requests it costs.
        reg.clearLog();
        const events: Record<string, number> = {};
        const res = await pushLayout(layout, `${reg.url}/${oursRef}:v1`, {
          insecure: true,
          onProgress: (e) => {
            events[e.type] = (events[e.type] ?? 0) + 1;
          },
        });
        const byMethod: Record<string, number> = {};
        const other: string[] = [];
        for (const req of reg.requests) {
          byMethod[req.method] = (byMethod[req.method] ?? 0) + 1;
          const ping = req.method === "GET" && /^\/v2\/?$/.test(req.url);
          if (req.method !== "HEAD" && !ping) other.push(`${req.method} ${req.url} -> ${req.status}`);
        }
        const oursAgain = again.get("ours")!;
        const skopeoAgain = again.get("skopeo")!;
        if (other.length > 0) ctx.note(`re-push sent more than HEADs: ${other.slice(0, 5).join("; ")}`);
        rows.push({
          measure: "re-push, unchanged: pushLayout vs skopeo copy",
          ours: oursAgain,
          baseline: {
            name: "skopeo copy",
            command: skopeo("127.0.0.1:$PORT", "bench/skopeo-$SAME"),
            timing: skopeoAgain,
          },
          ratio: ratio(oursAgain, skopeoAgain),
          aim: "only HEADs (+ GET /v2/ ping)",
          met: other.length === 0 && res.pushedBlobs === 0,
          details: {
            requestsByMethod: byMethod,
            otherRequests: other,
            progressEvents: events,
            pushedBlobs: res.pushedBlobs,
            skippedBlobs: res.skippedBlobs,
          },
        });
      } finally {
        await reg.stop();
      }
    } finally {
      await stop();
    }
    return rows;
  },
};
