/**
 * Encrypted Client Hello in the CLI (draft-ietf-tls-esni): `airlock ech-keygen` makes a key file and prints the
 * ECHConfigList to publish; `airlock server --ech-key FILE` (repeatable, for rotation) and `airlock client
 * --ech-config BASE64` (`--no-ech-grease` to send no ECH at all) use them.
 * @module
 */

import process from "node:process";
import { Buffer } from "node:buffer";
import { readFileSync, writeFileSync } from "node:fs";
import {
  EchRejectedError,
  type EchServerKey,
  encodeEchConfigList,
  encodeEchKeyPem,
  generateEchKey,
  type HandshakeInfo,
  nobleProvider,
} from "../mod.ts";
import { type FlagSpec, type Parsed, parseFlags, UsageError } from "./_args.ts";

/** `airlock client`'s ECH flags. */
export const ECH_CLIENT_FLAGS: Record<string, FlagSpec> = {
  "ech-config": {
    kind: "string",
    help:
      "encrypt the ClientHello to this ECHConfigList (base64, as `airlock ech-keygen` or a DNS HTTPS record gives it)",
  },
  "no-ech-grease": { kind: "boolean", help: "send no ECH GREASE extension when no --ech-config is given" },
};

/** `airlock server`'s ECH flag. */
export const ECH_SERVER_FLAGS: Record<string, FlagSpec> = {
  "ech-key": {
    kind: "list",
    help: "ECH key file (PEM: PRIVATE KEY + ECHCONFIG, from `airlock ech-keygen`); repeat to rotate",
  },
};

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64");
}

/** The client's `ech` option from the flags. */
export function echClientOptions(f: Parsed): { ech?: { configList: Uint8Array } | { grease: false } } {
  const b64 = f.strings.get("ech-config");
  if (b64 !== undefined) {
    if (f.booleans.has("no-ech-grease")) {
      throw new UsageError("--ech-config and --no-ech-grease exclude each other");
    }
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new UsageError("--ech-config expects base64");
    return { ech: { configList: new Uint8Array(Buffer.from(b64, "base64")) } };
  }
  return f.booleans.has("no-ech-grease") ? { ech: { grease: false } } : {};
}

/** The server's `echKeys` from the flags. */
export function echServerOptions(f: Parsed): { echKeys?: EchServerKey[] } {
  const files = f.lists.get("ech-key") ?? [];
  if (files.length === 0) return {};
  return {
    echKeys: files.map((file) => {
      try {
        return readFileSync(file, "utf8");
      } catch (e) {
        throw new UsageError(`cannot read ECH key ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`);
      }
    }),
  };
}

/** The ECH line of a handshake summary. */
export function describeEch(info: HandshakeInfo): string {
  return info.ech ?? "(none)";
}

/** A client's rejected ECH, as the CLI reports it: the retry configurations to use next, in base64. */
export function describeEchRejection(e: unknown): string | undefined {
  if (!(e instanceof EchRejectedError)) return undefined;
  return e.retryConfigs
    ? `ECH rejected by ${e.publicName}; retry with --ech-config ${base64(e.retryConfigs)}`
    : `ECH rejected by ${e.publicName}, which sent no retry configurations (ECH is off there)`;
}

/** Flags of `airlock ech-keygen`. */
export const KEYGEN_FLAGS: Record<string, FlagSpec> = {
  "public-name": { kind: "string", help: "the client-facing server's name, sent in the clear (required)" },
  "config-id": { kind: "string", help: "the configuration id, 0..255 (default: random)" },
  "max-name-length": {
    kind: "string",
    help: "the longest server name behind this key, for padding (default 0)",
  },
  out: {
    kind: "string",
    help: "write the PEM key file here (mode 0600); without it, the PEM goes to stdout",
  },
};

/**
 * Run `airlock ech-keygen`: a fresh X25519 key and its configuration. With `--out`, the key file is written
 * (0600) and the base64 ECHConfigList to publish goes to stdout; without, the PEM goes to stdout and the list
 * to stderr.
 */
export function runEchKeygen(argv: readonly string[]): Promise<number> {
  const f = parseFlags(argv, KEYGEN_FLAGS);
  if (f.positional.length > 0) throw new UsageError(`unexpected argument "${f.positional[0]}"`);
  const publicName = f.strings.get("public-name");
  if (!publicName) throw new UsageError("--public-name NAME is required");
  const byte = (name: string) => {
    const v = f.strings.get(name);
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || Number(v) > 255) throw new UsageError(`--${name} expects 0..255`);
    return Number(v);
  };
  const configId = byte("config-id"), maximumNameLength = byte("max-name-length");
  const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));
  let key;
  try {
    key = generateEchKey(
      {
        publicName,
        ...(configId !== undefined ? { configId } : {}),
        ...(maximumNameLength !== undefined ? { maximumNameLength } : {}),
      },
      nobleProvider,
      random,
    );
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(e.message);
    throw e;
  }
  const pem = encodeEchKeyPem(key);
  const list = base64(encodeEchConfigList([key.config]));
  const out = f.strings.get("out");
  if (out) {
    writeFileSync(out, pem, { mode: 0o600, flag: "wx" });
    process.stdout.write(`${list}\n`);
  } else {
    process.stdout.write(pem);
    process.stderr.write(`ECHConfigList (base64, to publish): ${list}\n`);
  }
  return Promise.resolve(0);
}
