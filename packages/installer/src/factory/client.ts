/**
 * Image Factory HTTP client: `POST /schematics`, `GET /schematics/<id>`, `GET /versions`,
 * `GET /version/<v>/extensions/official` (and overlays), asset downloads through image's one
 * download primitive. The factory answers errors as plain text with a trailing newline (Go's
 * `http.Error`), not JSON; each status class becomes a stable FACTORY_* code with that text.
 * HTTPS by default; plain HTTP only with `allowInsecure` (a local or test factory).
 */
import { readFileSync } from "node:fs";
import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import { rootCertificates } from "node:tls";
import { type DownloadFault, type DownloadResult, download } from "@talos-ext/image";
import { TalosExtError } from "@talos-ext/spec";
import { z } from "zod";
import { type InstallerErrorCode, installerError } from "../codes.ts";
import { type Schematic, type SchematicInput, validateSchematic } from "../schematic/model.ts";

/** The public Image Factory. */
export const DEFAULT_FACTORY_URL = "https://factory.talos.dev";

/** How the client authenticates to a self-hosted (Enterprise) factory. */
export type FactoryAuth =
  /** HTTP Basic. */
  | {
      /** The factory user name. */
      username: string;
      /** That user's password. */
      password: string;
    }
  | {
      /** A bearer token, sent as `Authorization: Bearer <token>`. */
      token: string;
    };

/** Options of {@link FactoryClient}. */
export interface FactoryClientOptions {
  /** Base URL; default `https://factory.talos.dev`. A path prefix is kept (`https://host/factory`). */
  url?: string;
  /** Allow a plain `http://` URL (local or test factories). Default false: TLS only. */
  allowInsecure?: boolean;
  /** Credentials, sent to the factory's origin only. */
  auth?: FactoryAuth;
  /** Extra CA certificates (PEM text) trusted besides the system ones. */
  ca?: string | string[];
  /** A PEM file with extra CA certificates (read once). */
  caFile?: string;
  /** Idle timeout per request in ms; default 30000. */
  timeoutMs?: number;
  /** Largest JSON/text response accepted; default 16 MiB. */
  maxResponseBytes?: number;
}

/** What `POST /schematics` answered. */
export interface CreatedSchematic {
  /** The 64-hex ID the factory stored the schematic under. */
  id: string;
  /** The canonical YAML the factory hashed (factory >= v1.3.0; fetched with GET before that). */
  canonical?: string;
}

/** One entry of `GET /version/<v>/extensions/official`. */
export interface FactoryExtension {
  /** Repository path, e.g. `siderolabs/iscsi-tools`. */
  name: string;
  /** Tagged reference, e.g. `ghcr.io/siderolabs/iscsi-tools:v0.2.0`. */
  ref: string;
  /** Manifest digest (`sha256:...`). */
  digest: string;
  /** Author from the extension manifest. */
  author?: string;
  /** Description from the extension manifest. */
  description?: string;
}

/** One entry of `GET /version/<v>/overlays/official`. */
export interface FactoryOverlay {
  /** Overlay name (`rpi_generic`). */
  name: string;
  /** Overlay image path. */
  image: string;
  /** Tagged reference. */
  ref: string;
  /** Manifest digest. */
  digest: string;
}

const ID_RE = /^[0-9a-f]{64}$/;
const createdSchema = z.object({ id: z.string().regex(ID_RE), schematic: z.string().optional() });
const versionsSchema = z.array(z.string());
const extensionsSchema = z.array(
  z.object({
    name: z.string().min(1),
    ref: z.string().min(1),
    digest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
    author: z.string().optional(),
    description: z.string().optional(),
  }),
);
const overlaysSchema = z.array(
  z.object({ name: z.string(), image: z.string(), ref: z.string(), digest: z.string() }),
);

/** The FACTORY_* code of an HTTP status. */
export function factoryStatusCode(status: number): InstallerErrorCode {
  if (status === 400) return "FACTORY_BAD_REQUEST";
  if (status === 401 || status === 403) return "FACTORY_AUTH";
  if (status === 402) return "FACTORY_ENTERPRISE_ONLY";
  if (status === 404) return "FACTORY_NOT_FOUND";
  if (status >= 500) return "FACTORY_SERVER";
  return "FACTORY_HTTP";
}

const STATUS_HINTS: Partial<Record<InstallerErrorCode, string>> = {
  FACTORY_BAD_REQUEST: "the factory's text says what it refused; fix the schematic, version or path",
  FACTORY_AUTH:
    "check the factory credentials (auth option); on auth-enabled factories schematics belong to their owner",
  FACTORY_ENTERPRISE_ONLY: "this needs an Enterprise Image Factory",
  FACTORY_NOT_FOUND: "check the schematic ID and the Talos version (GET /versions lists them)",
  FACTORY_SERVER: "the factory failed; retry later or check its logs (X-Request-ID in the message)",
  FACTORY_HTTP: "unexpected answer; check the factory URL",
};

/** JSON with bigint kept as digits (overlay options may hold 64-bit integers). */
function toJson(value: unknown): string {
  const marks: string[] = [];
  const text = JSON.stringify(value, (_k, v) => {
    if (typeof v === "bigint") {
      marks.push(v.toString());
      return `\u0000big${marks.length - 1}\u0000`;
    }
    return v;
  });
  return text.replace(/"\\u0000big(\d+)\\u0000"/g, (_m, i: string) => marks[Number(i)] as string);
}

/** A client for one Image Factory. */
export class FactoryClient {
  /** The base URL (no trailing slash). */
  readonly url: URL;
  readonly #options: FactoryClientOptions;
  readonly #ca: string[] | undefined;
  /** The base path without trailing slashes ("" at the root). */
  readonly #prefix: string;

  constructor(options: FactoryClientOptions = {}) {
    this.#options = options;
    const text = options.url ?? DEFAULT_FACTORY_URL;
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw installerError(
        "FACTORY_URL_INVALID",
        `"${text.slice(0, 200)}" is not a URL`,
        "write https://host[:port][/path]",
      );
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw installerError(
        "FACTORY_URL_INVALID",
        `factory URL scheme ${url.protocol} is not http(s)`,
        "write https://host[:port][/path]",
      );
    }
    if (url.protocol === "http:" && !options.allowInsecure) {
      throw installerError(
        "FACTORY_URL_INVALID",
        `factory URL ${url.origin} is plain HTTP`,
        "use https://, or set allowInsecure for a local or test factory",
      );
    }
    if (url.username || url.password) {
      throw installerError(
        "FACTORY_URL_INVALID",
        "the factory URL holds credentials",
        "pass them as the auth option instead",
      );
    }
    if (url.search || url.hash) {
      throw installerError(
        "FACTORY_URL_INVALID",
        "the factory URL has a query or fragment",
        "give the base URL only",
      );
    }
    this.#prefix = url.pathname.replace(/\/+$/, "");
    this.url = url;
    const extra = [...(typeof options.ca === "string" ? [options.ca] : (options.ca ?? []))];
    if (options.caFile) extra.push(readFileSync(options.caFile, "utf8"));
    this.#ca = extra.length ? [...rootCertificates, ...extra] : undefined;
  }

  #endpoint(path: string): URL {
    const u = new URL(this.url.href);
    const q = path.indexOf("?");
    u.pathname = `${this.#prefix}${q >= 0 ? path.slice(0, q) : path}`;
    if (q >= 0) u.search = path.slice(q);
    return u;
  }

  #authHeaders(): Record<string, string> {
    const auth = this.#options.auth;
    if (!auth) return {};
    if ("token" in auth) return { authorization: `Bearer ${auth.token}` };
    return { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}` };
  }

  /** One request; resolves with status, headers and the (capped) body text. */
  async #request(
    method: string,
    path: string,
    body?: string,
  ): Promise<{ status: number; text: string; res: IncomingMessage }> {
    const url = this.#endpoint(path);
    const max = this.#options.maxResponseBytes ?? 16 * 1024 * 1024;
    const timeoutMs = this.#options.timeoutMs ?? 30_000;
    const lib = url.protocol === "https:" ? https : http;
    const show = `${method} ${url.origin}${url.pathname}`;
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = {
        accept: "application/json, application/yaml, text/plain",
        "user-agent": "talos-ext-installer",
        ...this.#authHeaders(),
      };
      if (body !== undefined) {
        headers["content-type"] = "application/yaml";
        headers["content-length"] = String(Buffer.byteLength(body));
      }
      const req = lib.request(url, { method, headers, ...(this.#ca ? { ca: this.#ca } : {}) }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > max) {
            req.destroy();
            reject(
              installerError(
                "FACTORY_RESPONSE_INVALID",
                `${show}: the response is larger than ${max} bytes`,
                "check the factory URL",
              ),
            );
            return;
          }
          chunks.push(c);
        });
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8"), res }),
        );
        res.on("error", (e) => reject(this.#network(show, e)));
      });
      req.setTimeout(timeoutMs, () => {
        req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: "ETIMEDOUT" }));
      });
      req.on("error", (e) => reject(this.#network(show, e)));
      req.end(body);
    });
  }

  #network(show: string, e: unknown): TalosExtError {
    if (e instanceof TalosExtError) return e;
    const code = (e as { code?: string }).code ?? "";
    const tls = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code);
    return installerError(
      "FACTORY_UNREACHABLE",
      `${show}: ${tls ? "TLS verification failed" : "no answer"} (${code || (e as Error).message})`,
      tls ? "trust the factory's CA with the ca or caFile option" : "check the factory URL and that it is up",
      { cause: e },
    );
  }

  #statusError(show: string, status: number, text: string, res: IncomingMessage): TalosExtError {
    const code = factoryStatusCode(status);
    const said = text.trim().slice(0, 1000);
    const rid = res.headers["x-request-id"];
    return installerError(
      code,
      `${show}: ${status}${said ? ` ${said}` : ""}${typeof rid === "string" ? ` (X-Request-ID ${rid})` : ""}`,
      STATUS_HINTS[code] ?? "check the request",
    );
  }

  async #json<T>(
    method: string,
    path: string,
    schema: z.ZodType<T>,
    ok: number[],
    body?: string,
  ): Promise<T> {
    const show = `${method} ${path}`;
    const { status, text, res } = await this.#request(method, path, body);
    if (!ok.includes(status)) throw this.#statusError(show, status, text, res);
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      throw installerError(
        "FACTORY_RESPONSE_INVALID",
        `${show}: the answer is not JSON`,
        "check that the URL points at an Image Factory",
      );
    }
    const r = schema.safeParse(data);
    if (!r.success) {
      throw installerError(
        "FACTORY_RESPONSE_INVALID",
        `${show}: the answer is not in the documented shape (${r.error.issues[0]?.path.join(".") ?? ""}: ${r.error.issues[0]?.message ?? ""})`,
        "check that the URL points at an Image Factory",
      );
    }
    return r.data;
  }

  /**
   * Stores a schematic (`POST /schematics`) and returns the factory's ID. A string is sent as
   * is (the factory parses it); an object is validated and sent as JSON. Idempotent.
   */
  async createSchematic(schematic: string | SchematicInput | Schematic): Promise<CreatedSchematic> {
    const body = typeof schematic === "string" ? schematic : toJson(validateSchematic(schematic));
    const r = await this.#json("POST", "/schematics", createdSchema, [200, 201], body);
    const out: CreatedSchematic = { id: r.id };
    if (r.schematic !== undefined) out.canonical = r.schematic;
    else {
      // Factories before v1.3.0 answer only the id; the Go client then reads it back.
      try {
        out.canonical = await this.getSchematic(r.id);
      } catch {
        // the id is what matters; the canonical text is informational
      }
    }
    return out;
  }

  /** The canonical YAML of a stored schematic (`GET /schematics/<id>`). */
  async getSchematic(id: string): Promise<string> {
    if (!ID_RE.test(id)) {
      throw installerError(
        "SCHEMATIC_INVALID",
        `schematic ID "${id.slice(0, 80)}" is not 64 lowercase hex characters`,
        "copy the full ID",
      );
    }
    const path = `/schematics/${id}`;
    const { status, text, res } = await this.#request("GET", path);
    if (status !== 200) throw this.#statusError(`GET ${path}`, status, text, res);
    return text;
  }

  /** Talos versions the factory serves (`GET /versions`; `broken` adds known-broken ones). */
  async versions(
    options: {
      /** Include the versions the factory marks as broken (default false). */
      broken?: boolean;
    } = {},
  ): Promise<string[]> {
    return this.#json("GET", `/versions${options.broken ? "?broken=true" : ""}`, versionsSchema, [200]);
  }

  /** Official extensions of a Talos version (`GET /version/<v>/extensions/official`). */
  async officialExtensions(version: string): Promise<FactoryExtension[]> {
    const r = await this.#json(
      "GET",
      `/version/${encodeURIComponent(version)}/extensions/official`,
      extensionsSchema,
      [200],
    );
    return r.map((e) => {
      const out: FactoryExtension = { name: e.name, ref: e.ref, digest: e.digest };
      if (e.author !== undefined) out.author = e.author;
      if (e.description !== undefined) out.description = e.description;
      return out;
    });
  }

  /** Official overlays of a Talos version (`[]` before 1.7). */
  async officialOverlays(version: string): Promise<FactoryOverlay[]> {
    return this.#json(
      "GET",
      `/version/${encodeURIComponent(version)}/overlays/official`,
      overlaysSchema,
      [200],
    );
  }

  /**
   * Downloads an asset (`GET /image/<id>/<version>/<path>`, e.g. `installer-amd64.tar`) to a
   * file through image's download primitive (redirects to a CDN followed; credentials stay
   * with the factory's origin).
   */
  async downloadAsset(id: string, version: string, path: string, file: string): Promise<DownloadResult> {
    if (!ID_RE.test(id)) {
      throw installerError(
        "SCHEMATIC_INVALID",
        `schematic ID "${id.slice(0, 80)}" is not 64 lowercase hex characters`,
        "copy the full ID",
      );
    }
    const url = this.#endpoint(
      `/image/${id}/${encodeURIComponent(version)}/${path.split("/").map(encodeURIComponent).join("/")}`,
    );
    return download({
      url,
      to: { file },
      retries: 2,
      credentialHeaders: this.#authHeaders(),
      ...(this.#ca ? { ca: this.#ca.slice(rootCertificates.length) } : {}),
      proxyEnv: process.env,
      errors: (f: DownloadFault) => this.#downloadFault(f),
    });
  }

  #downloadFault(f: DownloadFault): TalosExtError {
    if (f.kind === "status") {
      const code = factoryStatusCode(f.status);
      return installerError(
        code,
        `GET ${f.url}: ${f.status} ${f.statusText}`,
        STATUS_HINTS[code] ?? "check the request",
      );
    }
    return installerError(
      "FACTORY_UNREACHABLE",
      `GET ${f.url}: ${f.kind}`,
      "check the factory URL and that it is up",
    );
  }
}
