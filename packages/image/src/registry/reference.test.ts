import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseReference } from "./index.ts";

const D = `sha256:${"ab".repeat(32)}`;

describe("parseReference", () => {
  it.each([
    ["alpine", "docker.io", "library/alpine", "latest", undefined],
    ["alpine:3.20", "docker.io", "library/alpine", "3.20", undefined],
    ["docker.io/alpine", "docker.io", "library/alpine", "latest", undefined],
    ["index.docker.io/siderolabs/x", "docker.io", "siderolabs/x", "latest", undefined],
    ["siderolabs/gvisor:v1", "docker.io", "siderolabs/gvisor", "v1", undefined],
    ["localhost/foo", "localhost", "foo", "latest", undefined],
    ["localhost:5000/x", "localhost:5000", "x", "latest", undefined],
    ["127.0.0.1:5000/x/y:t", "127.0.0.1:5000", "x/y", "t", undefined],
    ["ghcr.io/siderolabs/gvisor:20240826.0@" + D, "ghcr.io", "siderolabs/gvisor", "20240826.0", D],
    ["ghcr.io/a/b@" + D, "ghcr.io", "a/b", undefined, D],
    ["Registry/a", "Registry", "a", "latest", undefined],
    ["a__b/c-d.e_f", "docker.io", "a__b/c-d.e_f", "latest", undefined],
  ])("%s", (input, registry, repository, tag, digest) => {
    const r = parseReference(input);
    expect({ registry: r.registry, repository: r.repository, tag: r.tag, digest: r.digest }).toEqual({
      registry,
      repository,
      tag,
      digest,
    });
  });

  it("prints the normalised form", () => {
    expect(String(parseReference("alpine"))).toBe("docker.io/library/alpine:latest");
    expect(parseReference(`127.0.0.1:5000/x@${D}`).toString()).toBe(`127.0.0.1:5000/x@${D}`);
  });

  it.each([
    ["", "empty"],
    ["library/UPPER", "lowercase"],
    ["ghcr.io/Foo/bar", "lowercase"],
    ["a/b:-tag", "tag"],
    ["a/b@sha256:abc", "digest"],
    ["https://ghcr.io/a/b", "scheme"],
    ["a//b", "path component"],
    ["a/b/", "path component"],
    ["ghcr.io/", "empty"],
    ["a b", "whitespace"],
  ])("rejects %j (%s)", (input, why) => {
    let err: { code?: string; message?: string; hint?: string } = {};
    try {
      parseReference(input);
    } catch (e) {
      err = e as typeof err;
    }
    expect(err.code).toBe("REGISTRY_BAD_REFERENCE");
    expect(err.message).toContain(why);
    expect(err.hint).toBeTruthy();
  });

  const component = fc.stringMatching(/^[a-z0-9]{1,6}(?:[._-][a-z0-9]{1,4})?$/);
  const host = fc.oneof(
    fc.constant("localhost"),
    fc.constant("ghcr.io"),
    fc.integer({ min: 1, max: 65535 }).map((p) => `127.0.0.1:${p}`),
    fc.tuple(component, component).map(([a, b]) => `${a.replace(/[._-]/g, "")}.${b.replace(/[._-]/g, "")}`),
  );
  const tag = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/);
  const digest = fc.stringMatching(/^[a-f0-9]{64}$/).map((h) => `sha256:${h}`);

  it("round-trips any valid reference through toString (property)", () => {
    fc.assert(
      fc.property(
        host,
        fc.array(component, { minLength: 1, maxLength: 3 }),
        fc.option(tag),
        fc.option(digest),
        (h, path, t, d) => {
          const input = `${h}/${path.join("/")}${t ? `:${t}` : ""}${d ? `@${d}` : ""}`;
          const r = parseReference(input);
          expect(r.registry).toBe(h);
          expect(r.repository).toBe(path.join("/"));
          expect(r.digest).toBe(d ?? undefined);
          expect(r.tag).toBe(t ?? (d ? undefined : "latest"));
          const again = parseReference(r.toString());
          expect(again.toString()).toBe(r.toString());
        },
      ),
    );
  });

  it("throws only REGISTRY_BAD_REFERENCE on arbitrary input (property)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        try {
          const r = parseReference(s);
          expect(parseReference(r.toString()).toString()).toBe(r.toString());
        } catch (e) {
          expect((e as { code?: string }).code).toBe("REGISTRY_BAD_REFERENCE");
        }
      }),
    );
  });
});

describe("credentials in references", () => {
  it.each([
    "user:s3cr3t-pw@127.0.0.1:5000/ext/foo:v1",
    "user:s3cr3t-pw@registry.example/ext/foo",
    "ci@s3cr3t-pw.example/ext/foo",
    "user:s3cr3t-pw@registry.example:5000",
  ])("refuses %s without echoing the secret", (input) => {
    let err: unknown;
    try {
      parseReference(input);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({
      code: "REGISTRY_BAD_REFERENCE",
      message: expect.stringContaining("carries credentials"),
    });
    const { message, hint } = err as { message: string; hint: string };
    expect(`${message} ${hint}`).not.toContain("s3cr3t-pw");
  });

  it("still parses digests after a tag", () => {
    const d = `sha256:${"a".repeat(64)}`;
    expect(parseReference(`alpine:3.19@${d}`)).toMatchObject({ repository: "library/alpine", digest: d });
  });
});
