/**
 * A local HTTP(S) server that answers like the Image Factory's documented API (reference
 * installer-and-upgrade.md §3.4): JSON on success, plain text with a trailing newline on error,
 * X-Request-ID on every answer. Schematic IDs come from a table the test gives (the vectors), so
 * the server does not reuse the code under test.
 */
import { readFile } from "node:fs/promises";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";

export interface FakeFactoryOptions {
  /** Request body (exact text) -> [id, canonical]. */
  schematics: Record<string, [string, string]>;
  /** Talos version -> official extensions. */
  extensions: Record<string, unknown[]>;
  /** Require this Authorization header value. */
  authorization?: string;
  /** Answer POST /schematics with only {"id"} (factories before v1.3.0). */
  idOnly?: boolean;
  /** Serve HTTPS with these PEM files. */
  tls?: { certFile: string; keyFile: string };
  /** Asset bytes by /image/<id>/<v>/<path>. */
  assets?: Record<string, Uint8Array>;
}

export interface FakeFactory {
  url: string;
  requests: { method: string; url: string; authorization?: string; body: string }[];
  stop(): Promise<void>;
}

let rid = 0;

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "x-request-id": `req-${++rid}` });
  res.end(`${body}\n`);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json", "x-request-id": `req-${++rid}` });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function startFakeFactory(options: FakeFactoryOptions): Promise<FakeFactory> {
  const stored = new Map<string, string>();
  const requests: FakeFactory["requests"] = [];
  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    const url = new URL(req.url ?? "/", "http://x");
    requests.push({
      method: req.method ?? "",
      url: url.pathname + url.search,
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      body,
    });
    if (
      options.authorization &&
      req.headers.authorization !== options.authorization &&
      !url.pathname.startsWith("/cdn/")
    ) {
      return text(res, 401, "authentication required");
    }
    let m: RegExpExecArray | null;
    if (req.method === "POST" && url.pathname === "/schematics") {
      const known = options.schematics[body];
      if (!known)
        return text(
          res,
          400,
          "yaml: unmarshal errors:\n  line 1: field bogus not found in type schematic.Schematic",
        );
      stored.set(known[0], known[1]);
      return json(res, 201, options.idOnly ? { id: known[0] } : { id: known[0], schematic: known[1] });
    }
    if (req.method === "GET" && (m = /^\/schematics\/([^/]+)$/.exec(url.pathname))) {
      const yaml = stored.get(m[1] as string);
      if (!yaml) return text(res, 404, "schematic not found");
      res.writeHead(200, { "content-type": "application/yaml", "x-request-id": `req-${++rid}` });
      return res.end(yaml);
    }
    if (req.method === "GET" && url.pathname === "/versions") {
      return json(res, 200, Object.keys(options.extensions));
    }
    if (req.method === "GET" && (m = /^\/version\/([^/]+)\/extensions\/official$/.exec(url.pathname))) {
      const v = (m[1] as string).startsWith("v") ? (m[1] as string) : `v${m[1]}`;
      if (!/^v\d+\.\d+\.\d+/.test(v)) return text(res, 500, `invalid version: ${m[1]}`);
      const list = options.extensions[v];
      if (!list) return text(res, 404, `version ${v} is not available`);
      return json(res, 200, list);
    }
    if (req.method === "GET" && url.pathname === "/version/v0.0.0-broken/overlays/official") {
      return json(res, 200, { not: "a list" });
    }
    if (req.method === "GET" && url.pathname.startsWith("/image/")) {
      if (!options.assets?.[url.pathname]) return text(res, 404, "not found");
      res.writeHead(302, { location: `/cdn${url.pathname}` });
      return res.end();
    }
    if (req.method === "GET" && url.pathname.startsWith("/cdn/")) {
      const bytes = options.assets?.[url.pathname.slice(4)];
      if (!bytes) return text(res, 404, "not found");
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": bytes.length });
      return res.end(bytes);
    }
    return text(res, 404, "404 page not found");
  };
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handler(req, res).catch((e: Error) => text(res, 500, e.message));
  };
  const server = options.tls
    ? https.createServer(
        { cert: await readFile(options.tls.certFile), key: await readFile(options.tls.keyFile) },
        listener,
      )
    : http.createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${options.tls ? "https" : "http"}://127.0.0.1:${port}`,
    requests,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
