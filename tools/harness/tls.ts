/**
 * Test TLS material made with the `openssl` CLI: a throw-away CA, a server certificate for
 * 127.0.0.1 signed by it, and a self-signed signing certificate for the harness token server.
 * Keys are EC P-256 so generation takes milliseconds.
 */
import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface TlsFiles {
  /** The CA certificate (PEM) that clients must trust. */
  caFile: string;
  /** A directory holding only `ca.crt`, the layout `skopeo --cert-dir` expects. */
  certDir: string;
  /** Server certificate (PEM) with SAN IP:127.0.0.1 and DNS:localhost. */
  certFile: string;
  keyFile: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run("openssl", args, { cwd });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === "ENOENT") {
      throw new Error("openssl is not installed: run tools/bootstrap");
    }
    throw new Error(`openssl ${args[0]} failed: ${err.stderr ?? err.message}`);
  }
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** Writes a CA and a 127.0.0.1 server certificate into `dir`. */
export async function makeServerTls(dir: string): Promise<TlsFiles> {
  await mkdir(dir, { recursive: true });
  await openssl(
    [
      "req",
      "-x509",
      ...EC,
      "-keyout",
      "ca.key",
      "-out",
      "ca.crt",
      "-days",
      "2",
      "-subj",
      "/CN=talos-ext harness CA",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ],
    dir,
  );
  await openssl(["req", ...EC, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"], dir);
  await writeFile(
    join(dir, "server.ext"),
    [
      "basicConstraints=CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "",
    ].join("\n"),
  );
  await openssl(
    [
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "server.crt",
      "-days",
      "2",
      "-extfile",
      "server.ext",
    ],
    dir,
  );
  const certDir = join(dir, "certs.d");
  await mkdir(certDir, { recursive: true });
  // skopeo treats every *.key in a cert dir as a client key, so the CA lives alone there.
  await openssl(["x509", "-in", "ca.crt", "-out", join(certDir, "ca.crt")], dir);
  return {
    caFile: join(dir, "ca.crt"),
    certDir,
    certFile: join(dir, "server.crt"),
    keyFile: join(dir, "server.key"),
  };
}

export interface SigningFiles {
  certFile: string;
  keyFile: string;
}

/**
 * A self-signed EC certificate for signing registry tokens. The registry trusts it through
 * `auth.token.rootcertbundle`; tokens carry it in their `x5c` header.
 */
export async function makeSigningCert(dir: string): Promise<SigningFiles> {
  await mkdir(dir, { recursive: true });
  await openssl(
    [
      "req",
      "-x509",
      ...EC,
      "-keyout",
      "signing.key",
      "-out",
      "signing.crt",
      "-days",
      "2",
      "-subj",
      "/CN=talos-ext harness token issuer",
    ],
    dir,
  );
  return { certFile: join(dir, "signing.crt"), keyFile: join(dir, "signing.key") };
}
