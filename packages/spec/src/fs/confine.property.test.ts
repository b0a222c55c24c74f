/**
 * Property: whatever symlinks a tree holds (relative, absolute, `..`-laden, chains, loops,
 * pointing at a sentinel directory outside the root), writes and merges through ConfinedRoot
 * never create or change anything outside the root. They may fail, but only with a code.
 */
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isTalosExtError } from "../errors.ts";
import { ConfinedRoot } from "./confine.ts";

let base: string;
let sentinel: string;

async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for (const name of (await readdir(join(dir, rel))).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = await lstat(join(dir, r));
      if (st.isDirectory()) {
        out.push(`${r}/ ${st.mode}`);
        await walk(r);
      } else if (st.isSymbolicLink()) out.push(`${r} -> ${await readlink(join(dir, r))}`);
      else out.push(`${r} ${st.mode} ${st.mtimeMs} ${await readFile(join(dir, r), "utf8")}`);
    }
  };
  await walk("");
  return out;
}

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), "confine-prop-"));
  sentinel = join(base, "sentinel");
  await mkdir(join(sentinel, "dir"), { recursive: true });
  await writeFile(join(sentinel, "file"), "sentinel\n", { mode: 0o644 });
  await symlink("dir", join(sentinel, "link"));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

const NAMES = ["a", "b", "c", "dir", "file", "link", "..", "."];
const name = fc.constantFrom(...NAMES);
const relPath = fc.array(name, { minLength: 1, maxLength: 4 }).map((p) => p.join("/"));
const target = fc.oneof(
  relPath,
  relPath.map((p) => `/${p}`),
  fc
    .constantFrom(
      () => sentinel,
      () => join(sentinel, "dir"),
      () => join(sentinel, "file"),
      () => "../sentinel",
      () => "../../../../sentinel/dir",
      () => `../../../../../..${sentinel}`,
      () => "/",
      () => "..",
    )
    .map((f) => f()),
);

type Op =
  | { kind: "symlink"; path: string; target: string }
  | { kind: "mkdir"; path: string }
  | { kind: "write"; path: string }
  | { kind: "chmod"; path: string }
  | { kind: "remove"; path: string }
  | { kind: "link"; path: string; existing: string }
  | { kind: "copy"; dest: string };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("symlink" as const), path: relPath, target }),
  fc.record({ kind: fc.constant("mkdir" as const), path: relPath }),
  fc.record({ kind: fc.constant("write" as const), path: relPath }),
  fc.record({ kind: fc.constant("chmod" as const), path: relPath }),
  fc.record({ kind: fc.constant("remove" as const), path: relPath }),
  fc.record({ kind: fc.constant("link" as const), path: relPath, existing: relPath }),
  fc.record({ kind: fc.constant("copy" as const), dest: relPath }),
);

/** A small source tree with its own hostile links, copied by the `copy` op. */
async function sourceTree(dir: string): Promise<void> {
  await mkdir(join(dir, "a/b"), { recursive: true });
  await writeFile(join(dir, "a/b/file"), "copied\n");
  await symlink(sentinel, join(dir, "a/dir"));
  await symlink("../../..", join(dir, "link"));
  await mkdir(join(dir, "dir"));
  await writeFile(join(dir, "dir/file"), "through\n");
}

describe("ConfinedRoot property", () => {
  it("never writes outside the root", async () => {
    const before = await snapshot(sentinel);
    const src = join(base, "src");
    await sourceTree(src);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 1, maxLength: 12 }),
        fc.constantFrom("in-root" as const, "refuse" as const),
        fc.boolean(),
        async (ops, symlinks, replace) => {
          const root = join(base, `root-${run++}`);
          await mkdir(root);
          const r = new ConfinedRoot(root, { symlinks, replace, owner: "prop" });
          // Hostile links placed directly (as a layer or package dir would bring them).
          for (const o of ops) {
            try {
              switch (o.kind) {
                case "symlink":
                  await r.with({ symlinks: "in-root" }).symlink(o.path, o.target);
                  break;
                case "mkdir":
                  await r.mkdir(o.path, { mode: 0o700 });
                  break;
                case "write":
                  await r.writeFile(o.path, "owned\n", { mode: 0o666 });
                  break;
                case "chmod":
                  await r.chmod(o.path, 0o777);
                  break;
                case "remove":
                  await r.remove(o.path);
                  break;
                case "link":
                  await r.link(o.path, o.existing);
                  break;
                case "copy":
                  await r.copyFrom(src, o.dest);
                  break;
              }
            } catch (e) {
              if (!isTalosExtError(e) || !e.code.startsWith("FS_")) throw e;
            }
          }
          expect(await snapshot(sentinel)).toEqual(before);
          await rm(root, { recursive: true, force: true });
        },
      ),
      { numRuns: 300 },
    );
  });
});
