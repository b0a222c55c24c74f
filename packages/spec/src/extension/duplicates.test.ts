import { describe, expect, test } from "vitest";
import { memoryTree } from "../../test/support/fixtures.ts";
import { findDuplicatePaths } from "./duplicates.ts";

describe("findDuplicatePaths", () => {
  test("warns once per path shipped by several extensions, at the one that wins", () => {
    const a = memoryTree(
      {
        "manifest.yaml": "a",
        "rootfs/usr/local/bin/tool": "a",
        "rootfs/usr/local/lib": { type: "dir" },
        "rootfs/usr/lib/modules/6.1.0-talos/modules.dep": "a",
      },
      "a.tar",
    );
    const b = memoryTree(
      {
        "manifest.yaml": "b",
        "rootfs/usr/local/bin/tool": { type: "symlink", target: "x" },
        "rootfs/usr/local/lib": { type: "dir" },
        "rootfs/usr/lib/modules/6.1.0-talos/modules.dep": "b",
      },
      "b.tar",
    );
    const c = memoryTree({ "manifest.yaml": "c", "rootfs/usr/local/bin/other": "c" }, "c.tar");
    const ds = findDuplicatePaths([a, b, c]);
    expect(ds).toHaveLength(1);
    expect(ds[0]).toMatchObject({
      code: "EXT_DUPLICATE_PATH",
      severity: "warning",
      file: "b.tar:rootfs/usr/local/bin/tool",
      message: "rootfs/usr/local/bin/tool is shipped by 2 extensions: a.tar, b.tar",
    });
  });

  test("distinct extensions give no findings", () => {
    const a = memoryTree({ "manifest.yaml": "a", "rootfs/usr/local/bin/a": "a" }, "a");
    const b = memoryTree({ "manifest.yaml": "b", "rootfs/usr/local/bin/b": "b" }, "b");
    expect(findDuplicatePaths([a, b])).toEqual([]);
  });
});
