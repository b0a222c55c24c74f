import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeServerTls } from "../../../tools/harness/tls.ts";
import { FactoryClient } from "../src/index.ts";
import { type FakeFactory, startFakeFactory } from "./factory-server.ts";

const ISCSI = "613e1592b2da41ae5e265e8789429f22e121aab91cb4deb6bc3c0b6262961245";
const ISCSI_CANON =
  "customization:\n    systemExtensions:\n        officialExtensions:\n            - siderolabs/iscsi-tools\n            - siderolabs/util-linux-tools\n";
const ISCSI_JSON =
  '{"customization":{"systemExtensions":{"officialExtensions":["siderolabs/iscsi-tools","siderolabs/util-linux-tools"]}}}';
const EXT = {
  name: "siderolabs/iscsi-tools",
  ref: "ghcr.io/siderolabs/iscsi-tools:v0.2.0",
  digest: `sha256:${"1".repeat(64)}`,
  author: "Sidero Labs",
  description: "iSCSI tools",
};

let work: string;
let plain: FakeFactory;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "talos-ext-factory-"));
  plain = await startFakeFactory({
    schematics: { [ISCSI_JSON]: [ISCSI, ISCSI_CANON] },
    extensions: { "v1.11.2": [EXT], "v1.10.3": [] },
    assets: { [`/image/${ISCSI}/v1.11.2/installer-amd64.tar`]: new Uint8Array([1, 2, 3]) },
  });
});
afterAll(async () => {
  await plain?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const client = (extra: object = {}) => new FactoryClient({ url: plain.url, allowInsecure: true, ...extra });
const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    return { code: (e as { code: string }).code, message: (e as Error).message };
  }
  throw new Error("expected a failure");
};

describe("factory client against a local factory", () => {
  it("creates a schematic from an object (sent as JSON) and returns id and canonical text", async () => {
    const r = await client().createSchematic({
      customization: {
        systemExtensions: { officialExtensions: ["siderolabs/iscsi-tools", "siderolabs/util-linux-tools"] },
      },
    });
    expect(r).toEqual({ id: ISCSI, canonical: ISCSI_CANON });
    const sent = plain.requests.at(-1);
    expect(sent).toMatchObject({ method: "POST", url: "/schematics", body: ISCSI_JSON });
    expect(await client().getSchematic(ISCSI)).toBe(ISCSI_CANON);
  });

  it("surfaces the plain-text 400 body as FACTORY_BAD_REQUEST with the request id", async () => {
    const e = await codeOf(client().createSchematic("bogus: 1\n"));
    expect(e.code).toBe("FACTORY_BAD_REQUEST");
    expect(e.message).toContain("field bogus not found");
    expect(e.message).toMatch(/X-Request-ID req-\d+/);
  });

  it("maps 404 and 500 and refuses malformed answers", async () => {
    expect((await codeOf(client().officialExtensions("v9.9.9"))).code).toBe("FACTORY_NOT_FOUND");
    expect((await codeOf(client().officialExtensions("garbage"))).code).toBe("FACTORY_SERVER");
    expect((await codeOf(client().getSchematic("f".repeat(64)))).code).toBe("FACTORY_NOT_FOUND");
    expect((await codeOf(client().officialOverlays("v0.0.0-broken"))).code).toBe("FACTORY_RESPONSE_INVALID");
  });

  it("lists versions and official extensions", async () => {
    expect(await client().versions()).toEqual(["v1.11.2", "v1.10.3"]);
    expect(await client().officialExtensions("1.11.2")).toEqual([EXT]);
    expect(await client().officialExtensions("v1.10.3")).toEqual([]);
  });

  it("downloads an asset through redirects to a file", async () => {
    const file = join(work, "installer-amd64.tar");
    const r = await client().downloadAsset(ISCSI, "v1.11.2", "installer-amd64.tar", file);
    expect(r.size).toBe(3);
    expect([...(await readFile(file))]).toEqual([1, 2, 3]);
    expect((await codeOf(client().downloadAsset(ISCSI, "v1.11.2", "nope.tar", join(work, "x")))).code).toBe(
      "FACTORY_NOT_FOUND",
    );
  });

  it("requires TLS unless allowInsecure, and refuses credentials in the URL", () => {
    expect(() => new FactoryClient({ url: plain.url })).toThrow(
      expect.objectContaining({ code: "FACTORY_URL_INVALID" }),
    );
    expect(() => new FactoryClient({ url: "https://u:p@factory.example" })).toThrow(
      expect.objectContaining({ code: "FACTORY_URL_INVALID" }),
    );
    expect(() => new FactoryClient({ url: "ftp://factory.example" })).toThrow(
      expect.objectContaining({ code: "FACTORY_URL_INVALID" }),
    );
    expect(new FactoryClient().url.href).toBe("https://factory.talos.dev/");
  });

  it("reports an unreachable factory", async () => {
    const c = new FactoryClient({ url: "http://127.0.0.1:1", allowInsecure: true });
    expect((await codeOf(c.versions())).code).toBe("FACTORY_UNREACHABLE");
  });
});

describe("self-hosted factory over TLS with auth", () => {
  it("sends credentials, verifies TLS with the given CA, reads id-only answers back", async () => {
    const tls = await makeServerTls(join(work, "tls"));
    const auth = `Basic ${Buffer.from("alice:secret").toString("base64")}`;
    const f = await startFakeFactory({
      schematics: { [ISCSI_JSON]: [ISCSI, ISCSI_CANON] },
      extensions: {},
      authorization: auth,
      idOnly: true,
      tls: { certFile: tls.certFile, keyFile: tls.keyFile },
    });
    try {
      const body = {
        customization: {
          systemExtensions: { officialExtensions: ["siderolabs/iscsi-tools", "siderolabs/util-linux-tools"] },
        },
      };
      // Not trusted: TLS failure, coded.
      expect((await codeOf(new FactoryClient({ url: f.url }).createSchematic(body))).code).toBe(
        "FACTORY_UNREACHABLE",
      );
      // Trusted, no credentials: 401.
      expect(
        (await codeOf(new FactoryClient({ url: f.url, caFile: tls.caFile }).createSchematic(body))).code,
      ).toBe("FACTORY_AUTH");
      const c = new FactoryClient({
        url: f.url,
        caFile: tls.caFile,
        auth: { username: "alice", password: "secret" },
      });
      expect(await c.createSchematic(body)).toEqual({ id: ISCSI, canonical: ISCSI_CANON });
      expect(f.requests.at(-1)).toMatchObject({
        method: "GET",
        url: `/schematics/${ISCSI}`,
        authorization: auth,
      });
    } finally {
      await f.stop();
    }
  });
});
