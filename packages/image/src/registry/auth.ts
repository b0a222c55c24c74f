/**
 * Registry authentication: learn the challenge (`WWW-Authenticate`) from a 401, then send
 * Basic credentials or fetch and cache Bearer tokens per scope.
 */

import {
  isRetryableStatus,
  RetryableError,
  type RetryPolicy,
  retryAfterMs,
  withRetries,
} from "../net/index.ts";
import type { Credential, CredentialResolver } from "./credentials.ts";
import { displayUrl, registryError } from "./errors.ts";
import { discard, type HttpResponse, header, readBody, type Transport } from "./http.ts";

/** One challenge of a `WWW-Authenticate` header (RFC 7235). */
export interface Challenge {
  /** The auth scheme, lower-cased (`bearer`, `basic`). */
  scheme: string;
  /** Its auth-params (`realm`, `service`, `scope`, …), names lower-cased. */
  params: Record<string, string>;
}

/** Parses `WWW-Authenticate` (RFC 7235), which may hold several challenges. */
export function parseChallenges(value: string): Challenge[] {
  const out: Challenge[] = [];
  const n = value.length;
  let i = 0;
  const skip = (chars: string) => {
    while (i < n && chars.includes(value[i]!)) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < n && /[!#$%&'*+.^_`|~0-9A-Za-z-]/.test(value[i]!)) i++;
    return value.slice(start, i);
  };
  /** At `i`: is there `name =` ahead (a parameter, not a new challenge)? */
  const paramAhead = (): boolean => {
    const save = i;
    skip(" \t");
    const k = token();
    skip(" \t");
    const yes = k !== "" && value[i] === "=" && value[i + 1] !== "=";
    i = save;
    return yes;
  };
  while (i < n) {
    skip(" \t,");
    const scheme = token();
    if (!scheme) {
      i++;
      continue;
    }
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    while (paramAhead()) {
      skip(" \t");
      const key = token().toLowerCase();
      skip(" \t");
      i++; // "="
      skip(" \t");
      let v = "";
      if (value[i] === '"') {
        i++;
        while (i < n && value[i] !== '"') {
          if (value[i] === "\\" && i + 1 < n) i++;
          v += value[i];
          i++;
        }
        i++;
      } else {
        const start = i;
        while (i < n && !", \t".includes(value[i]!)) i++;
        v = value.slice(start, i);
      }
      challenge.params[key] = v;
      skip(" \t");
      if (value[i] !== ",") break;
      i++;
      skip(" \t,");
    }
  }
  return out;
}

/** Scopes as resource -> actions, so requests can be merged and cached tokens checked for cover. */
export class Scopes {
  readonly #map = new Map<string, Set<string>>();

  static repository(name: string, actions: string[]): Scopes {
    return new Scopes().add(`repository:${name}`, actions);
  }

  add(resource: string, actions: Iterable<string>): Scopes {
    let set = this.#map.get(resource);
    if (!set) this.#map.set(resource, (set = new Set()));
    for (const a of actions) set.add(a);
    return this;
  }

  /** Adds scopes in wire form: `repository:name:pull,push` (space-separated). */
  addWire(wire: string): Scopes {
    for (const s of wire.split(" ").filter(Boolean)) {
      const idx = s.lastIndexOf(":");
      if (idx > 0)
        this.add(
          s.slice(0, idx),
          s
            .slice(idx + 1)
            .split(",")
            .filter(Boolean),
        );
    }
    return this;
  }

  merge(other: Scopes): Scopes {
    for (const [r, acts] of other.#map) this.add(r, acts);
    return this;
  }

  covers(other: Scopes): boolean {
    for (const [r, acts] of other.#map) {
      const mine = this.#map.get(r);
      for (const a of acts) if (!mine?.has(a) && !mine?.has("*")) return false;
    }
    return true;
  }

  wire(): string[] {
    return [...this.#map].map(([r, acts]) => `${r}:${[...acts].sort().join(",")}`).sort();
  }

  clone(): Scopes {
    return new Scopes().merge(this);
  }
}

interface CachedToken {
  scopes: Scopes;
  token: string;
  expiresAt: number;
}

/** Authentication state for one registry host. */
export class RegistryAuth {
  /** undefined: not known yet; null: the registry lets us in anonymously. */
  #challenge: Challenge | null | undefined;
  #tokens: CachedToken[] = [];
  #pending = new Map<string, Promise<CachedToken>>();

  /** The registry host this state is for. */
  readonly registry: string;
  private readonly credentials: CredentialResolver;
  private readonly transport: Transport;
  private readonly policy: RetryPolicy;

  constructor(registry: string, credentials: CredentialResolver, transport: Transport, policy: RetryPolicy) {
    this.registry = registry;
    this.credentials = credentials;
    this.transport = transport;
    this.policy = policy;
  }

  /** "basic", "bearer", or undefined while anonymous access works. */
  get scheme(): string | undefined {
    return this.#challenge?.scheme;
  }

  /** Records what a `/v2/` ping or a 401 said. Returns false when no usable challenge came. */
  learn(res: HttpResponse, scopes?: Scopes): boolean {
    if (res.status !== 401) {
      if (this.#challenge === undefined) this.#challenge = null;
      return true;
    }
    const all = parseChallenges(header(res, "www-authenticate") ?? "");
    const chosen =
      all.find((c) => c.scheme === "bearer" && c.params.realm) ?? all.find((c) => c.scheme === "basic");
    if (!chosen) return false;
    this.#challenge = chosen;
    if (chosen.scheme === "bearer" && chosen.params.scope && scopes) scopes.addWire(chosen.params.scope);
    return true;
  }

  /** Drops cached tokens that cover `scopes` (the registry just refused one). */
  invalidate(scopes: Scopes): void {
    this.#tokens = this.#tokens.filter((t) => !t.scopes.covers(scopes));
  }

  async authorization(scopes: Scopes): Promise<string | undefined> {
    const c = this.#challenge;
    if (!c) return undefined;
    if (c.scheme === "basic") {
      const cred = await this.credentials.get(this.registry);
      if (cred?.kind !== "basic") return undefined;
      return `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString("base64")}`;
    }
    const now = Date.now();
    this.#tokens = this.#tokens.filter((t) => t.expiresAt > now);
    const hit = this.#tokens.find((t) => t.scopes.covers(scopes));
    if (hit) return `Bearer ${hit.token}`;
    const key = scopes.wire().join(" ");
    let p = this.#pending.get(key);
    if (!p) {
      p = this.#fetchToken(c, scopes.clone()).finally(() => this.#pending.delete(key));
      this.#pending.set(key, p);
    }
    const t = await p;
    return `Bearer ${t.token}`;
  }

  /** The error for a 401 that survived authentication. */
  async rejected(): Promise<Error> {
    const cred = await this.credentials.get(this.registry);
    return cred
      ? registryError(
          "REGISTRY_AUTH",
          `${this.registry} rejected the credentials from ${cred.source}`,
          `check the username and password (or token) for ${this.registry}, e.g. with docker login ${this.registry}`,
        )
      : noCredentials(this.registry);
  }

  async #fetchToken(c: Challenge, scopes: Scopes): Promise<CachedToken> {
    let realm: URL;
    try {
      realm = new URL(c.params.realm ?? "");
      if (realm.protocol !== "https:" && realm.protocol !== "http:") throw new Error("scheme");
    } catch {
      throw registryError(
        "REGISTRY_AUTH",
        `${this.registry} sent a Bearer challenge without a usable realm`,
        "the registry's token auth is misconfigured; contact its operator",
      );
    }
    const cred = await this.credentials.get(this.registry);
    const service = c.params.service;
    const wire = scopes.wire();
    const res = await withRetries(this.policy, async () => {
      const r =
        cred?.kind === "identity"
          ? await this.#postToken(realm, cred, service, wire)
          : await this.#getToken(realm, cred, service, wire);
      if (isRetryableStatus(r.status)) {
        await discard(r);
        throw new RetryableError(
          `token server answered ${r.status} (${displayUrl(realm)})`,
          registryError(
            "REGISTRY_AUTH",
            `token server ${displayUrl(realm)} answered ${r.status}`,
            "retry later",
          ),
          retryAfterMs(header(r, "retry-after")),
        );
      }
      return r;
    });
    if (res.status === 401 || res.status === 403) {
      await discard(res);
      throw cred
        ? registryError(
            "REGISTRY_AUTH",
            `the token server of ${this.registry} (${displayUrl(realm)}) rejected the credentials from ${cred.source}`,
            `check the username and password (or identity token) for ${this.registry}, e.g. with docker login ${this.registry}`,
          )
        : noCredentials(this.registry);
    }
    if (res.status !== 200) {
      await discard(res);
      throw registryError(
        "REGISTRY_AUTH",
        `the token server of ${this.registry} (${displayUrl(realm)}) answered ${res.status}`,
        "check the registry's token service",
      );
    }
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse((await readBody(res, 1024 * 1024)).toString("utf8")) as typeof body;
    } catch {
      throw registryError(
        "REGISTRY_AUTH",
        `the token server of ${this.registry} sent no JSON`,
        "check the registry's token service",
      );
    }
    const token =
      typeof body.token === "string" && body.token
        ? body.token
        : typeof body.access_token === "string"
          ? body.access_token
          : "";
    if (!token) {
      throw registryError(
        "REGISTRY_AUTH",
        `the token server of ${this.registry} sent no token`,
        "check the registry's token service",
      );
    }
    // Tokens last 60 s unless the server says otherwise; renew a little early.
    const seconds = typeof body.expires_in === "number" && body.expires_in > 0 ? body.expires_in : 60;
    const cached: CachedToken = { scopes, token, expiresAt: Date.now() + Math.max(1, seconds - 5) * 1000 };
    this.#tokens.push(cached);
    return cached;
  }

  #getToken(realm: URL, cred: Credential | undefined, service: string | undefined, scopes: string[]) {
    const url = new URL(realm);
    if (service) url.searchParams.set("service", service);
    for (const s of scopes) url.searchParams.append("scope", s);
    const headers: Record<string, string> = {};
    if (cred?.kind === "basic") {
      url.searchParams.set("account", cred.username);
      headers.authorization = `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString("base64")}`;
    }
    return this.transport.send({ method: "GET", url, headers });
  }

  #postToken(
    realm: URL,
    cred: Credential & { kind: "identity" },
    service: string | undefined,
    scopes: string[],
  ) {
    const form = new URLSearchParams({
      grant_type: "refresh_token",
      refresh_token: cred.token,
      client_id: "talos-ext",
    });
    if (service) form.set("service", service);
    if (scopes.length) form.set("scope", scopes.join(" "));
    return this.transport.send({
      method: "POST",
      url: realm,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: Buffer.from(form.toString()),
    });
  }
}

function noCredentials(registry: string) {
  return registryError(
    "REGISTRY_AUTH",
    `${registry} requires authentication and no credentials were found for it`,
    `pass credentials, log in (docker login ${registry}), or add it to auths/credHelpers in docker's config.json`,
  );
}
