import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfinedRoot } from "./confine.ts";

let base: string;
let root: string;
let host: string;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), "confine-"));
  root = join(base, "root");
  host = join(base, "host");
  await mkdir(root);
  await mkdir(host);
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

const hostEntries = async () => (await readdir(host)).sort();

describe("ConfinedRoot", () => {
  it("writes files, creating parents, with the asked mode", async () => {
    const r = new ConfinedRoot(root);
    await r.writeFile("/a/b/c.txt", "hi", { mode: 0o600 });
    expect(await readFile(join(root, "a/b/c.txt"), "utf8")).toBe("hi");
    expect((await lstat(join(root, "a/b/c.txt"))).mode & 0o777).toBe(0o600);
  });

  it("replaces a symlink at the last component instead of writing through it", async () => {
    await symlink(join(host, "victim"), join(root, "owned"));
    const r = new ConfinedRoot(root);
    await r.writeFile("owned", "rendered");
    expect((await lstat(join(root, "owned"))).isFile()).toBe(true);
    expect(await hostEntries()).toEqual([]);
  });

  it("resolves an absolute symlink in a directory position inside the root", async () => {
    await mkdir(join(root, "run"));
    await mkdir(join(root, "var"));
    await symlink("/run", join(root, "var/run"));
    const r = new ConfinedRoot(root);
    await r.writeFile("var/run/x.pid", "1");
    expect(await readFile(join(root, "run/x.pid"), "utf8")).toBe("1");
  });

  it("follows a dangling absolute link by creating its target inside the root", async () => {
    await symlink(host, join(root, "x"));
    const r = new ConfinedRoot(root);
    await r.writeFile("x/file", "data");
    expect(await readFile(join(root, host, "file"), "utf8")).toBe("data");
    expect(await hostEntries()).toEqual([]);
  });

  it("stops `..` in a symlink at the root", async () => {
    await symlink("../../../../../../..", join(root, "up"));
    const r = new ConfinedRoot(root);
    await r.writeFile("up/escaped", "x");
    expect(await readFile(join(root, "escaped"), "utf8")).toBe("x");
  });

  it("merges replace a link that does not resolve to a directory", async () => {
    await symlink(host, join(root, "x"));
    const r = new ConfinedRoot(root, { replace: true });
    await r.writeFile("x/file", "data");
    expect((await lstat(join(root, "x"))).isDirectory()).toBe(true);
    expect(await readFile(join(root, "x/file"), "utf8")).toBe("data");
    expect(await hostEntries()).toEqual([]);
  });

  it("refuses symlinks on the way under the refuse policy, naming who brought the link", async () => {
    const r = new ConfinedRoot(root, { symlinks: "refuse", owner: "b" });
    await r.withOwner("a").symlink("sub", host);
    await expect(r.writeFile("sub/owned", "x")).rejects.toMatchObject({
      code: "FS_PATH_ESCAPE",
      message: expect.stringContaining('brought by package "a"'),
    });
    await expect(r.writeFile("../owned", "x")).rejects.toMatchObject({ code: "FS_PATH_ESCAPE" });
    expect(await hostEntries()).toEqual([]);
  });

  it("reports symlink loops", async () => {
    await symlink("b", join(root, "a"));
    await symlink("a", join(root, "b"));
    const r = new ConfinedRoot(root);
    await expect(r.writeFile("a/file", "x")).rejects.toMatchObject({ code: "FS_SYMLINK_LOOP" });
  });

  it("reports a file standing where a directory is needed, unless merging", async () => {
    await writeFile(join(root, "f"), "file");
    await expect(new ConfinedRoot(root).writeFile("f/x", "x")).rejects.toMatchObject({
      code: "FS_PATH_CONFLICT",
    });
    await new ConfinedRoot(root, { replace: true }).writeFile("f/x", "x");
    expect(await readFile(join(root, "f/x"), "utf8")).toBe("x");
  });

  it("keeps the file when a hard link names the file itself (or a symlink itself)", async () => {
    const r = new ConfinedRoot(root);
    await r.writeFile("f", "kept\n");
    await r.link("f", "f");
    await r.link("./f", "f");
    expect(await readFile(join(root, "f"), "utf8")).toBe("kept\n");
    await symlink("../../..", join(root, "l"));
    await r.link("l", "l");
    expect(await readlink(join(root, "l"))).toBe("../../..");
  });

  it("refuses a hard link whose making replaces its own target, with a code", async () => {
    const r = new ConfinedRoot(root, { replace: true });
    await r.writeFile("c", "x\n");
    await expect(r.link("c/a", "c")).rejects.toMatchObject({ code: expect.stringMatching(/^FS_/) });
  });

  it("copies trees keeping symlinks as symlinks, confined", async () => {
    const src = join(base, "src");
    await mkdir(join(src, "x"), { recursive: true });
    await writeFile(join(src, "x/file"), "data", { mode: 0o755 });
    await symlink("/etc/passwd", join(src, "link"));
    await symlink(host, join(root, "x"));
    const r = new ConfinedRoot(root, { replace: true });
    await r.copyFrom(src, "/");
    expect(await readlink(join(root, "link"))).toBe("/etc/passwd");
    expect((await lstat(join(root, "x/file"))).mode & 0o777).toBe(0o755);
    expect(await hostEntries()).toEqual([]);
  });

  it("chmod leaves a symlink (and what it points at) alone", async () => {
    await writeFile(join(host, "t"), "t", { mode: 0o644 });
    await symlink(join(host, "t"), join(root, "l"));
    await new ConfinedRoot(root).chmod("l", 0o777);
    expect((await lstat(join(host, "t"))).mode & 0o777).toBe(0o644);
  });

  it("hard links stay inside and refuse missing targets", async () => {
    const r = new ConfinedRoot(root);
    await r.writeFile("a", "A");
    await r.link("b", "a");
    expect(await readFile(join(root, "b"), "utf8")).toBe("A");
    await expect(r.link("c", "missing")).rejects.toMatchObject({ code: "FS_NOT_FOUND" });
  });

  it("a missing root is a coded error", async () => {
    await expect(new ConfinedRoot(join(base, "nope")).writeFile("a", "x")).rejects.toMatchObject({
      code: "FS_ROOT_INVALID",
    });
  });
});
