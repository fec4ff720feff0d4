/**
 * `airlock verify`: validate a certificate as `verifyCertificateChain` does and say why not, like
 * `openssl verify`.
 * @module
 */

import process from "node:process";
import { verifyCertificateChain } from "../mod.ts";
import { type FlagSpec, parseFlags, UsageError } from "./_args.ts";
import { describeCertificate, readCertificates } from "./_common.ts";

/** Flags of `airlock verify`. */
export const VERIFY_FLAGS: Record<string, FlagSpec> = {
  cafile: { kind: "string", help: "PEM file of trust anchors (required)" },
  untrusted: { kind: "string", help: "PEM file of intermediates, in any order" },
  servername: { kind: "string", help: "DNS name or IP address the certificate must name" },
  purpose: { kind: "string", help: "server (default) or client" },
  attime: { kind: "string", help: "validate at this UNIX time (seconds) instead of now" },
};

/** Run `airlock verify`; resolves to the exit code (0 valid, 2 invalid). */
export async function runVerify(argv: readonly string[]): Promise<number> {
  const f = parseFlags(argv, VERIFY_FLAGS);
  const cafile = f.strings.get("cafile");
  if (!cafile) throw new UsageError("--cafile PEM is required");
  if (f.positional.length !== 1) throw new UsageError("expects exactly one certificate file");
  const purpose = f.strings.get("purpose") ?? "server";
  if (purpose !== "server" && purpose !== "client") {
    throw new UsageError(`--purpose must be server or client`);
  }
  const attime = f.strings.get("attime");
  if (attime !== undefined && !/^\d+$/.test(attime)) throw new UsageError("--attime expects UNIX seconds");
  const file = f.positional[0]!;
  const [leaf, ...rest] = readCertificates(file, "certificate file");
  const untrusted = f.strings.get("untrusted");
  const servername = f.strings.get("servername");
  const r = await verifyCertificateChain({
    leaf: leaf!,
    intermediates: [...rest, ...(untrusted ? readCertificates(untrusted, "untrusted file") : [])],
    trustAnchors: readCertificates(cafile, "CA file"),
    purpose,
    ...(servername !== undefined ? { peerName: servername } : {}),
    ...(attime !== undefined ? { time: new Date(Number(attime) * 1000) } : {}),
  });
  if (r.ok) {
    process.stdout.write(`${file}: OK\n`);
    for (const [i, der] of r.path.entries()) process.stdout.write(`  ${i}: ${describeCertificate(der)}\n`);
    return 0;
  }
  process.stdout.write(`${file}: verification failed: ${r.code}: ${r.reason}\n`);
  return 2;
}
