/**
 * A real HTTP(S) server on 127.0.0.1 for source-download tests, plus a forward proxy.
 *
 * Routes (`<name>` is a file registered with `addFile`):
 *   /file/<name>                    the file, with Content-Length
 *   /corrupt/<name>                 same length, one byte flipped
 *   /slow/<name>?interval=ms[&chunk=n]  the file n bytes (default 1) per interval (idle-timeout
 *                                   and progress tests)
 *   /fail/<name>?times=N            HTTP 500 for the first N requests to this URL, then the file
 *                                   (times=always: 500 forever)
 *   /reset/<name>                   headers with the full length, half the body, then a socket reset
 *   /redirect/<code>/<hops>/<name>  <hops> redirects with status <code>, then /file/<name>
 *   /loop                           /loop -> /loop2 -> /loop -> ...
 *   /to?url=<absolute url>          302 to the given URL (e.g. https -> http downgrade)
 *   anything else                   404
 * Every request is recorded (method, path, headers) so tests can assert what a client sent.
 */
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import { connect, type Socket } from "node:net";

export interface RecordedRequest {
  method: string;
  /** Path and query as received (absolute-form for proxied requests). */
  url: string;
  headers: IncomingHttpHeaders;
}

export interface SourceServer {
  /** Base URL, e.g. "http://127.0.0.1:39123" (no trailing slash). */
  url: string;
  port: number;
  requests: RecordedRequest[];
  addFile(name: string, data: Uint8Array | string): void;
  /** Number of requests whose path (without query) is `path`. */
  hits(path: string): number;
  close(): Promise<void>;
}

export interface SourceServerOptions {
  /** Serve https with this certificate (PEM) instead of http. */
  tls?: { cert: string; key: string };
}

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const addr = server.address();
      resolve(typeof addr === "object" && addr ? addr.port : 0);
    });
  });
}

function closeServer(server: http.Server, sockets: Set<Socket>): Promise<void> {
  for (const s of sockets) s.destroy();
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

export async function startSourceServer(options: SourceServerOptions = {}): Promise<SourceServer> {
  const files = new Map<string, Buffer>();
  const requests: RecordedRequest[] = [];
  const failCounts = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    const u = new URL(req.url ?? "/", "http://x");
    const parts = u.pathname.split("/").filter(Boolean);
    const file = (name: string | undefined) => (name === undefined ? undefined : files.get(name));
    const sendFile = (data: Buffer) => {
      res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": data.length });
      res.end(data);
    };
    const notFound = () => {
      res.writeHead(404, { "Content-Type": "text/plain" });
      res.end("not found\n");
    };
    const [route, ...rest] = parts;
    switch (route) {
      case "file": {
        const data = file(rest[0]);
        return data ? sendFile(data) : notFound();
      }
      case "corrupt": {
        const data = file(rest[0]);
        if (!data) return notFound();
        const bad = Buffer.from(data);
        if (bad.length === 0) return sendFile(Buffer.from("x"));
        bad[bad.length >> 1] = bad[bad.length >> 1]! ^ 0xff;
        return sendFile(bad);
      }
      case "slow": {
        const data = file(rest[0]);
        if (!data) return notFound();
        const interval = Number(u.searchParams.get("interval") ?? "200");
        const chunk = Math.max(1, Number(u.searchParams.get("chunk") ?? "1"));
        res.writeHead(200, { "Content-Length": data.length });
        let pos = 0;
        const timer = setInterval(() => {
          if (pos >= data.length) {
            clearInterval(timer);
            timers.delete(timer);
            res.end();
            return;
          }
          res.write(data.subarray(pos, pos + chunk));
          pos += chunk;
        }, interval);
        timers.add(timer);
        res.on("close", () => {
          clearInterval(timer);
          timers.delete(timer);
        });
        return;
      }
      case "fail": {
        const data = file(rest[0]);
        if (!data) return notFound();
        const times = u.searchParams.get("times") ?? "always";
        const key = req.url ?? "";
        const n = (failCounts.get(key) ?? 0) + 1;
        failCounts.set(key, n);
        if (times === "always" || n <= Number(times)) {
          res.writeHead(500, { "Content-Type": "text/plain" });
          res.end("injected failure\n");
          return;
        }
        return sendFile(data);
      }
      case "reset": {
        const data = file(rest[0]);
        if (!data) return notFound();
        res.writeHead(200, { "Content-Length": data.length });
        res.write(data.subarray(0, data.length >> 1), () => {
          setTimeout(() => req.socket.resetAndDestroy(), 10);
        });
        return;
      }
      case "redirect": {
        const [code, hops, name] = rest;
        const left = Number(hops);
        const location = left > 1 ? `/redirect/${code}/${left - 1}/${name}` : `/file/${name}`;
        res.writeHead(Number(code), { Location: location });
        res.end();
        return;
      }
      case "loop":
        res.writeHead(302, { Location: "/loop2" });
        return res.end();
      case "loop2":
        res.writeHead(302, { Location: "/loop" });
        return res.end();
      case "to": {
        res.writeHead(302, { Location: u.searchParams.get("url") ?? "/" });
        return res.end();
      }
      default:
        return notFound();
    }
  };

  const server = options.tls
    ? https.createServer({ cert: options.tls.cert, key: options.tls.key }, handler)
    : http.createServer(handler);
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  const port = await listen(server);
  const scheme = options.tls ? "https" : "http";
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    port,
    requests,
    addFile(name, data) {
      files.set(name, Buffer.from(data));
    },
    hits(path) {
      return requests.filter((r) => new URL(r.url, "http://x").pathname === path).length;
    },
    async close() {
      for (const t of timers) clearInterval(t);
      await closeServer(server, sockets);
    },
  };
}

export interface ForwardProxy {
  /** e.g. "http://127.0.0.1:39124", for HTTP_PROXY / HTTPS_PROXY. */
  url: string;
  /** "GET http://host/path" for forwarded requests, "CONNECT host:port" for tunnels. */
  requests: string[];
  close(): Promise<void>;
}

/** A minimal forward proxy: absolute-form GETs are forwarded, CONNECT is tunnelled. */
export async function startForwardProxy(): Promise<ForwardProxy> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    let target: URL;
    try {
      target = new URL(req.url ?? "");
    } catch {
      res.writeHead(400);
      res.end("absolute-form request expected\n");
      return;
    }
    const upstream = http.request(
      target,
      { method: req.method, headers: { ...req.headers, host: target.host } },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on("error", () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  server.on("connect", (req: IncomingMessage, client: Socket, head: Buffer) => {
    requests.push(`CONNECT ${req.url}`);
    const [host, port] = (req.url ?? "").split(":");
    const upstream = connect(Number(port), host ?? "127.0.0.1", () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
    client.on("close", () => upstream.destroy());
  });
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => closeServer(server, sockets),
  };
}
