/**
 * What the CLI's commands share: reading PEM files, mapping openssl-style names to airlock's, the key
 * log file, and describing a certificate in one line. Runtime glue (files, process) lives here only.
 * @module
 */

import process from "node:process";
import tls from "node:tls";
import { appendFileSync, readFileSync } from "node:fs";
import {
  type CertCompressionName,
  type CertCompressor,
  certCompressors,
  type CertifiedKey,
  type CipherSuiteName,
  type GroupName,
  loadPrivateKey,
  on,
  pemDecode,
  type TlsEngine,
} from "../mod.ts";
import { formatName, parseCertificate } from "../verify/_cert.ts";
import { type FlagSpec, splitList, UsageError } from "./_args.ts";

/** The protocol flags both `airlock client` and `airlock server` take, read by versionOptions, suiteOptions and parseGroups. */
export const PROTOCOL_FLAGS: Record<string, FlagSpec> = {
  "tls1.2": { kind: "boolean", help: "TLS 1.2 only (default: TLS 1.2 and 1.3)" },
  "tls1.3": { kind: "boolean", help: "TLS 1.3 only (default: TLS 1.2 and 1.3)" },
  cipher: { kind: "string", help: "TLS 1.2 ciphers (openssl or IANA names), colon- or comma-separated" },
  ciphersuites: { kind: "string", help: "TLS 1.3 cipher suites, colon- or comma-separated" },
  groups: { kind: "string", help: "key exchange groups (X25519MLKEM768, x25519, P-256, P-384)" },
  keylogfile: { kind: "string", help: "append NSS key log lines to this file" },
  pass: { kind: "string", help: "passphrase of an encrypted --key: pass:TEXT, env:VAR or file:PATH" },
  trace: { kind: "boolean", help: "print each handshake message and alert as it goes out (>>>) or in (<<<)" },
  "compress-cert": {
    kind: "string",
    help: "TLS 1.3 certificate compression (RFC 8879): zlib, brotli, zstd in preference order, all (what " +
      "this runtime has), or none (default)",
  },
  "require-ems": {
    kind: "boolean",
    help: "TLS 1.2: refuse peers without the extended master secret (RFC 7627)",
  },
};

/** Read a file as text, or fail with a one-line message. */
export function readText(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

/** Read PEM certificates from a file (at least one). */
export function readCertificates(path: string, what: string): Uint8Array[] {
  const text = readText(path, what);
  let certs: Uint8Array[];
  try {
    certs = pemDecode(text, "CERTIFICATE");
  } catch (e) {
    throw new UsageError(`cannot parse ${what} ${path}: ${(e as Error).message}`);
  }
  if (certs.length === 0) throw new UsageError(`no CERTIFICATE block in ${what} ${path}`);
  return certs;
}

/** Load a certificate chain and its private key (decrypted with `passphrase` when it is encrypted). */
export async function readCertifiedKey(
  certPath: string,
  keyPath: string,
  passphrase?: string,
): Promise<CertifiedKey> {
  const chain = readCertificates(certPath, "certificate file");
  const keyText = readText(keyPath, "key file");
  try {
    return { chain, key: await loadPrivateKey(keyText, passphrase === undefined ? {} : { passphrase }) };
  } catch (e) {
    const hint = /pass its passphrase/.test((e as Error).message) ? " (--pass)" : "";
    throw new UsageError(`cannot load key ${keyPath}: ${(e as Error).message}${hint}`);
  }
}

/**
 * The passphrase `--pass` names, in openssl's `-passin` forms: `pass:TEXT`, `env:VAR` or `file:PATH` (its first
 * line).
 */
export function readPassphrase(spec: string | undefined): string | undefined {
  if (spec === undefined) return undefined;
  const colon = spec.indexOf(":");
  const [kind, rest] = colon < 0 ? ["", spec] : [spec.slice(0, colon), spec.slice(colon + 1)];
  switch (kind) {
    case "pass":
      return rest;
    case "env": {
      const value = process.env[rest];
      if (value === undefined) throw new UsageError(`--pass env:${rest}: the variable is not set`);
      return value;
    }
    case "file":
      return readText(rest, "passphrase file").split(/\r?\n/, 1)[0] ?? "";
    default:
      throw new UsageError("--pass expects pass:TEXT, env:VAR or file:PATH");
  }
}

const SUITE_NAMES: Record<string, CipherSuiteName> = {
  TLS_AES_128_GCM_SHA256: "TLS_AES_128_GCM_SHA256",
  TLS_AES_256_GCM_SHA384: "TLS_AES_256_GCM_SHA384",
  TLS_CHACHA20_POLY1305_SHA256: "TLS_CHACHA20_POLY1305_SHA256",
};

/** openssl's TLS 1.2 cipher names (`-cipher`), and the IANA names. */
const CIPHER_NAMES: Record<string, CipherSuiteName> = {
  "ECDHE-ECDSA-AES128-GCM-SHA256": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384": "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384": "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305": "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
  "ECDHE-RSA-CHACHA20-POLY1305": "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
};
for (const name of Object.values(CIPHER_NAMES)) CIPHER_NAMES[name] = name;

function parseNames(value: string, table: Record<string, CipherSuiteName>, what: string): CipherSuiteName[] {
  return splitList(value).map((n) => {
    const s = table[n.toUpperCase()];
    if (!s) throw new UsageError(`unsupported ${what} ${n} (supported: ${Object.keys(table).join(", ")})`);
    return s;
  });
}

/** `--ciphersuites` (TLS 1.3) and `--cipher` (TLS 1.2, openssl's or IANA names): the suites to configure. */
export function suiteOptions(strings: ReadonlyMap<string, string>): { cipherSuites?: CipherSuiteName[] } {
  const v13 = strings.get("ciphersuites"), v12 = strings.get("cipher");
  if (v13 === undefined && v12 === undefined) return {};
  const all13 = Object.values(SUITE_NAMES);
  const all12 = [...new Set(Object.values(CIPHER_NAMES))];
  return {
    cipherSuites: [
      ...(v13 === undefined ? all13 : parseNames(v13, SUITE_NAMES, "cipher suite")),
      ...(v12 === undefined ? all12 : parseNames(v12, CIPHER_NAMES, "TLS 1.2 cipher")),
    ],
  };
}

const GROUP_NAMES: Record<string, GroupName> = {
  x25519mlkem768: "X25519MLKEM768",
  x25519: "x25519",
  secp256r1: "secp256r1",
  "p-256": "secp256r1",
  prime256v1: "secp256r1",
  secp384r1: "secp384r1",
  "p-384": "secp384r1",
};

/** `--groups` (airlock's or openssl's names). */
export function parseGroups(value: string): GroupName[] {
  return splitList(value).map((n) => {
    const g = GROUP_NAMES[n.toLowerCase()];
    if (!g) {
      throw new UsageError(
        `unsupported group ${n} (supported: X25519MLKEM768, x25519, secp256r1/P-256, secp384r1/P-384)`,
      );
    }
    return g;
  });
}

/**
 * `--compress-cert`: the certificate compressors for both roles (RFC 8879), in the order given; `all` for every
 * one this runtime has; `none`, the default, as the library's: a server that takes compress_certificate
 * parses it, and peers that send extension 27 as filler (tlsfuzzer counts it among unassigned ones) would then
 * meet a decode_error. An algorithm the runtime lacks (zstd on Node before 22.15) is a usage error.
 */
export function compressionOptions(value: string | undefined): { certificateCompression: CertCompressor[] } {
  if (value === undefined) return { certificateCompression: [] };
  const names = splitList(value.toLowerCase());
  if (names.length === 1 && names[0] === "none") return { certificateCompression: [] };
  if (names.length === 1 && names[0] === "all") return { certificateCompression: certCompressors() };
  const known = ["zlib", "brotli", "zstd"];
  for (const n of names) {
    if (!known.includes(n)) {
      throw new UsageError(`unsupported --compress-cert ${n} (zlib, brotli, zstd, all or none)`);
    }
  }
  const found = certCompressors(names as CertCompressionName[]);
  const missing = names.filter((n) => !found.some((c) => c.name === n));
  if (missing.length > 0) {
    throw new UsageError(`--compress-cert ${missing.join(",")}: not available on this runtime`);
  }
  return { certificateCompression: found };
}

/** `--tls1.2` / `--tls1.3`: one version only (default: TLS 1.2 and 1.3). */
export function versionOptions(
  booleans: ReadonlySet<string>,
): {
  minVersion?: "TLSv1.2" | "TLSv1.3";
  maxVersion?: "TLSv1.2" | "TLSv1.3";
  requireExtendedMasterSecret?: true;
} {
  const v12 = booleans.has("tls1.2"), v13 = booleans.has("tls1.3");
  if (v12 && v13) throw new UsageError("--tls1.2 and --tls1.3 exclude each other (the default speaks both)");
  const ems = booleans.has("require-ems") ? { requireExtendedMasterSecret: true as const } : {};
  if (v12) return { minVersion: "TLSv1.2", maxVersion: "TLSv1.2", ...ems };
  if (v13) return { minVersion: "TLSv1.3", maxVersion: "TLSv1.3", ...ems };
  return ems;
}

/**
 * Append the engine's key log lines (NSS SSLKEYLOGFILE format) to `path`, or, without one, to the file the
 * SSLKEYLOGFILE environment variable names, as curl and browsers do. Nothing is written (no file is made)
 * until there is a line.
 */
export function keyLogTo(engine: TlsEngine, path: string | undefined): void {
  const file = path || process.env.SSLKEYLOGFILE;
  if (!file) return;
  on(engine, "keylog", (line) => appendFileSync(file, line + "\n", { mode: 0o600 }));
}

/**
 * `--trace`: one line on stderr per handshake message, ChangeCipherSpec and alert, as it goes out (`>>>`) or comes
 * in (`<<<`), like `openssl s_client -msg`, from the engine's `message` and `alert` events; `prefix` marks the
 * connection (the server's `[N]`).
 */
export function traceTo(engine: TlsEngine, enabled: boolean, prefix = ""): void {
  if (!enabled) return;
  const arrow = (d: "sent" | "received") => (d === "sent" ? ">>>" : "<<<");
  on(engine, "message", (m) => {
    const what = m.contentType === "handshake" ? `Handshake ${m.name}` : "ChangeCipherSpec";
    const algorithm = m.compression === undefined ? "" : `${m.compression}, `;
    process.stderr.write(`${prefix}${arrow(m.direction)} ${what} (${algorithm}${m.length} bytes)\n`);
  });
  on(
    engine,
    "alert",
    (a) => process.stderr.write(`${prefix}${arrow(a.direction)} Alert ${a.level} ${a.name}\n`),
  );
}

/**
 * The system's trust anchors, for a client given no --cafile: the runtime's root certificates (Node's and
 * Bun's `tls.rootCertificates`, Mozilla's list), else Debian's bundle.
 */
export function systemTrustAnchors(): { anchors: Uint8Array[]; source: string } {
  const roots = tls.rootCertificates ?? [];
  if (roots.length > 0) {
    return {
      anchors: roots.flatMap((pem) => pemDecode(pem, "CERTIFICATE")),
      source: "the system trust store",
    };
  }
  const bundle = "/etc/ssl/certs/ca-certificates.crt";
  return { anchors: readCertificates(bundle, "system CA bundle"), source: bundle };
}

/** "CN=example.com" for a DER certificate, or a placeholder. */
export function describeCertificate(der: Uint8Array | undefined): string {
  if (!der) return "(none)";
  try {
    return formatName(parseCertificate(der).subject);
  } catch {
    return "(unparsable)";
  }
}

/** Split HOST:PORT (IPv6 in brackets). */
export function hostPort(value: string, flag: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535) throw new UsageError(`${flag} expects HOST:PORT, got "${value}"`);
  return { host: (m[1] ?? m[2])!, port };
}

/** Parse a port number. */
export function portNumber(value: string, flag: string): number {
  const port = Number(value);
  if (!/^\d{1,5}$/.test(value) || port > 65535) {
    throw new UsageError(`${flag} expects a port number, got "${value}"`);
  }
  return port;
}
