import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OCI_TAR_CODES, readTar } from "@talos-ext/spec";
import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
import { writeOciLayout } from "./layout.ts";
import type { FsEntry } from "./types.ts";

const readTarEntries = (input: Uint8Array) => readTar(input, { codes: OCI_TAR_CODES });

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "oci-prop-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

// Segments include non-ASCII and one long enough to push paths past the 100-byte ustar field.
const segment = fc.constantFrom("a", "b", "B", "a-b", "z.txt", "é", "dir", "x".repeat(70));
const mode = fc.constantFrom(0o644, 0o755, 0o600, 0o700, 0o4755, 0o1777, 0o444);
const rawEntry = fc.record({
  segs: fc.array(segment, { minLength: 1, maxLength: 4 }),
  kind: fc.constantFrom("file", "dir", "symlink"),
  mode,
  data: fc.uint8Array({ maxLength: 1500 }),
  ups: fc.nat({ max: 3 }),
  absolute: fc.boolean(),
  target: segment,
});

interface Expected {
  path: string;
  type: string;
  mode: number;
  linkTarget?: string;
  data: string;
}

/** Turns random records into a consistent tree plus the entries a reader should see. */
type RawEntry = typeof rawEntry extends fc.Arbitrary<infer T> ? T : never;

function buildTree(raws: RawEntry[]) {
  const entries = new Map<string, FsEntry & { data: Uint8Array }>();
  for (const r of raws) {
    const path = r.segs.join("/");
    if (entries.has(path)) continue;
    const parts = path.split("/");
    const ancestors = parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join("/"));
    if (ancestors.some((a) => entries.has(a) && entries.get(a)!.type !== "dir")) continue;
    const isAncestor = [...entries.keys()].some((k) => k.startsWith(`${path}/`));
    if (isAncestor && r.kind !== "dir") continue;
    const depth = parts.length - 1;
    const linkTarget = r.absolute ? `/${r.target}` : `${"../".repeat(Math.min(r.ups, depth))}${r.target}`;
    const data = r.data;
    entries.set(path, {
      path,
      type: r.kind,
      mode: r.kind === "symlink" ? 0o777 : r.mode,
      ...(r.kind === "symlink" ? { linkTarget } : {}),
      ...(r.kind === "file" ? { open: () => data, size: data.length } : {}),
      data,
    });
  }
  const expected = new Map<string, Expected>();
  for (const e of entries.values()) {
    const parts = e.path.split("/");
    for (let i = 1; i < parts.length; i++) {
      const p = parts.slice(0, i).join("/");
      if (!entries.has(p)) expected.set(p, { path: p, type: "dir", mode: 0o755, data: "" });
    }
    expected.set(e.path, {
      path: e.path,
      type: e.type,
      mode: e.mode,
      ...(e.linkTarget !== undefined ? { linkTarget: e.linkTarget } : {}),
      data: e.type === "file" ? Buffer.from(e.data).toString("base64") : "",
    });
  }
  const sorted = [...expected.values()].sort((a, b) =>
    Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)),
  );
  return { entries: [...entries.values()], expected: sorted };
}

it("random trees survive layout -> tar reader unchanged, in byte order, deterministically", async () => {
  let n = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(rawEntry, { maxLength: 12 }),
      fc.constantFrom("gzip" as const, "zstd" as const),
      fc.integer({ min: 0, max: 4_000_000_000 }),
      async (raws, compression, epoch) => {
        const { entries, expected } = buildTree(raws);
        const out = join(work, `layout-${n++}`);
        const options = { sourceDateEpoch: epoch, compression, refName: "t" };
        const res = await writeOciLayout(out, [{ platform: "linux/amd64", layers: [entries] }], options);
        const second = join(work, `layout-${n++}`);
        const again = await writeOciLayout(second, [{ platform: "linux/amd64", layers: [entries] }], options);
        expect(again.digest).toBe(res.digest);
        await rm(second, { recursive: true });
        const manifest = JSON.parse(
          await readFile(join(out, "blobs", "sha256", res.digest.slice(7)), "utf8"),
        );
        const blob = await readFile(join(out, "blobs", "sha256", manifest.layers[0].digest.slice(7)));
        const got: Expected[] = [];
        for await (const e of readTarEntries(blob)) {
          expect({ uid: e.uid, gid: e.gid, uname: e.uname, gname: e.gname, mtime: e.mtime }).toEqual({
            uid: 0,
            gid: 0,
            uname: "",
            gname: "",
            mtime: epoch,
          });
          got.push({
            path: e.path,
            type: e.type,
            mode: e.mode,
            ...(e.linkTarget !== undefined ? { linkTarget: e.linkTarget } : {}),
            data: e.type === "file" ? Buffer.from(await e.bytes()).toString("base64") : "",
          });
        }
        expect(got).toEqual(expected);
        await rm(out, { recursive: true });
      },
    ),
    { numRuns: 60 },
  );
});
