// This module is browser compatible.
/**
 * Server identity checks (RFC 9525, which replaces RFC 6125): does a certificate name the peer we meant to
 * reach?
 *
 * - Only subjectAltName entries count: dNSName for DNS names, iPAddress for IP addresses. The subject's
 *   common name is never consulted, and a DNS name never matches an IP address or the reverse.
 * - DNS names compare case-insensitively as ASCII. A peer name given in Unicode (a U-label such as
 *   `bücher.example`) is converted to its A-label (`xn--bcher-kva.example`) as UTS #46 says, by the URL
 *   parser; the certificate side must already be ASCII, as RFC 5280 §7.2 requires.
 * - A presented wildcard is accepted only as the whole leftmost label (`*.example.com`), matches exactly one
 *   non-empty label, and needs at least two labels after it (`*.com` and `*` never match), as in
 *   rustls-webpki and NSS. There is no public suffix list, so `*.co.uk` is matched like `*.example.com`.
 * - IP addresses compare as bytes: `::1`, `0:0::1` and `0000::0001` are the same address; IPv4 and IPv6 are
 *   never equal (no IPv4-mapped matching).
 *
 * @module
 */

import { CertError, type Certificate, parseCertificate } from "./_cert.ts";
import { BoundedCache } from "../suites/cache.ts";

/** A parsed peer name: a DNS name in lower-case A-label form, or an IP address as 4 or 16 bytes. */
export type ReferenceId =
  | { readonly kind: "dns"; readonly name: string }
  | { readonly kind: "ip"; readonly address: Uint8Array };

// ---------------------------------------------------------------------------------------------------------
// IP addresses

function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    // Dotted decimal only (RFC 3986 dec-octet): no leading zeros, no hex, no octal.
    if (!/^(?:0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function parseIpv6(text: string): Uint8Array | undefined {
  if (!/^[0-9A-Fa-f:.]+$/.test(text)) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (half: string): number[] | undefined => {
    if (half === "") return [];
    const out: number[] = [];
    const parts = half.split(":");
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (i === parts.length - 1 && part.includes(".")) {
        const v4 = parseIpv4(part);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9A-Fa-f]{1,4}$/.test(part)) return undefined;
        out.push(parseInt(part, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  let words: number[];
  if (halves.length === 2) {
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return undefined; // "::" stands for at least one zero group
    words = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    words = head;
  }
  if (words.length !== 8) return undefined;
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

/**
 * Parse an IP address literal: dotted-decimal IPv4 (`192.0.2.1`) or IPv6 text (RFC 4291 §2.2, with `::`
 * and an optional trailing dotted quad). Zone IDs and brackets are not accepted.
 *
 * @param text The literal.
 * @returns 4 or 16 bytes, or undefined if `text` is not an IP address.
 */
export function parseIpAddress(text: string): Uint8Array | undefined {
  return text.includes(":") ? parseIpv6(text) : parseIpv4(text);
}

// ---------------------------------------------------------------------------------------------------------
// Internationalized names (UTS #46) and host names as a TLS client gives them

/** ASCII that may appear in a host name: letters, digits, hyphen, underscore (as rustls-webpki), dot. */
const HOST_ASCII = /^[A-Za-z0-9._-]$/;

/**
 * UTS #46 ToASCII of a name with non-ASCII characters or `xn--` labels, by the runtime's URL parser (the
 * WHATWG host parser: the UTS #46 mapping, NFC, the validity criteria with CheckBidi and CheckJoiners,
 * punycode both ways; Deno, Node and Bun agree). Only letters, digits, `-`, `_` and `.` reach it as ASCII,
 * so it never sees a port, a path, userinfo or a percent-escape; what the mapping makes of other characters
 * (a fullwidth solidus, a no-break space) is refused by the parser or by the DNS syntax check after it.
 */
function idnaToAscii(name: string): string | undefined {
  try {
    return new URL(`http://${name}/`).hostname;
  } catch {
    return undefined;
  }
}

/**
 * A host name as a TLS client names its server, normalized: a DNS name in lower-case A-label form without a
 * trailing dot (what goes in server_name, RFC 6066 §3, and what dNSName entries are compared with), or an
 * IP address literal, which is never sent as server_name.
 */
export type HostName =
  | { readonly kind: "dns"; readonly name: string }
  | { readonly kind: "ip"; readonly name: string; readonly address: Uint8Array };

/**
 * Normalize a host name: an IPv4 or IPv6 literal (brackets allowed, `[::1]`), or a DNS name, which is
 * mapped to lower-case A-labels as UTS #46 says (`Bücher.example` → `xn--bcher-kva.example`; an ASCII name is
 * only lower-cased), loses one trailing dot, and must then be a valid DNS name (see `isValidDnsName`).
 *
 * @param name The host name, e.g. a client's `serverName`.
 * @param what What the name is, for error messages (default "host name").
 * @returns The normalized name and its kind.
 * @throws {TypeError} If `name` is not a string, is empty, holds a character no host name may hold, is not a
 * valid internationalized name, has an empty or malformed label, or ends in an all-numeric label.
 * @throws {RangeError} If a label is longer than 63 octets or the name longer than 253, in A-label form.
 *
 * @example Normalize host names
 * ```ts
 * import assert from "node:assert/strict";
 * import { normalizeHostName } from "./names.ts";
 * assert.deepEqual(normalizeHostName("Bücher.Example."), { kind: "dns", name: "xn--bcher-kva.example" });
 * assert.equal(normalizeHostName("[::1]").kind, "ip");
 * assert.throws(() => normalizeHostName("exa mple.com"), TypeError);
 * assert.throws(() => normalizeHostName("a".repeat(64) + ".com"), RangeError);
 * ```
 */
export function normalizeHostName(name: string, what = "host name"): HostName {
  if (typeof name !== "string") throw new TypeError(`Cannot use ${what}: expected a string`);
  // A client normalizes its serverName on every connection, mostly the same few names: once per name.
  const h = hostNames.get(name, () => Object.freeze(normalizeUncached(name, what)));
  return h.kind === "ip" ? { ...h, address: h.address.slice() } : h;
}

/** Names normalized so far (a name that fails is not kept: it fails again, with its own message). */
const hostNames = new BoundedCache<HostName>(256, 1024);

function normalizeUncached(name: string, what: string): HostName {
  const bad = (reason: string, type: typeof TypeError = TypeError) =>
    new type(`Cannot use ${what} "${name}": ${reason}`);
  const bracketed = /^\[(.*)\]$/.exec(name)?.[1];
  const literal = bracketed ?? name;
  const address = parseIpAddress(literal);
  if (address && (bracketed === undefined || address.length === 16)) {
    return { kind: "ip", name: literal, address };
  }
  if (bracketed !== undefined) throw bad("only an IPv6 address may stand in brackets");
  if (name === "") throw bad("it is empty");
  let ascii = true;
  for (const c of name) {
    if (c.charCodeAt(0) >= 0x80) ascii = false;
    else if (!HOST_ASCII.test(c)) {
      throw bad(`the character ${JSON.stringify(c)} is not allowed in a host name`);
    }
  }
  // UTS #46 maps case itself (Σ always to σ, where toLowerCase() would pick a final ς).
  let out = ascii ? name.toLowerCase() : name;
  if (!ascii || /(?:^|\.)xn--/.test(out)) {
    const mapped = idnaToAscii(out);
    if (mapped === undefined) throw bad("it is not a valid internationalized domain name (UTS #46)");
    out = mapped;
  }
  if (out.endsWith(".")) out = out.slice(0, -1);
  const problem = dnsNameProblem(out);
  if (problem) throw bad(problem.reason, problem.length ? RangeError : TypeError);
  return { kind: "dns", name: out };
}

// ---------------------------------------------------------------------------------------------------------
// DNS names

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** Why `name` (lower-case ASCII, no trailing dot) is not a valid DNS name (`length`: by its length), if it is not. */
function dnsNameProblem(name: string): { readonly reason: string; readonly length: boolean } | undefined {
  if (name === "") return { reason: "it is empty", length: false };
  if (name.length > 253) return { reason: `it is ${name.length} octets long, more than 253`, length: true };
  const labels = name.split(".");
  for (const label of labels) {
    if (label === "") return { reason: "it has an empty label", length: false };
    if (label.length > 63) {
      return { reason: `its label "${label}" is ${label.length} octets long, more than 63`, length: true };
    }
    if (!LABEL.test(label)) {
      return {
        reason:
          `its label "${label}" holds more than letters, digits, hyphens and underscores, or starts or ` +
          "ends with a hyphen",
        length: false,
      };
    }
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) {
    return { reason: "its last label is all digits, and it is not an IP address", length: false };
  }
  return undefined;
}

/**
 * Whether `name` (lower-case ASCII) is a syntactically valid DNS name: the preferred name syntax of RFC 1034
 * §3.5 as relaxed by RFC 1123 §2.1, plus underscores (as rustls-webpki allows), labels of 1 to 63
 * characters, at most 253 characters, and a last label that is not all digits.
 *
 * @param name The name, lower-case.
 * @param allowTrailingDot Whether an absolute name (`example.com.`) is allowed.
 */
export function isValidDnsName(name: string, allowTrailingDot: boolean): boolean {
  if (allowTrailingDot && name.endsWith(".")) name = name.slice(0, -1);
  return dnsNameProblem(name) === undefined;
}

/**
 * Whether a presented dNSName is usable for matching: a valid relative DNS name, or `*.` followed by a valid
 * name of at least two labels.
 *
 * @param presented The dNSName from the certificate, lower-case.
 */
export function isValidPresentedDnsName(presented: string): boolean {
  if (presented.startsWith("*.")) {
    const rest = presented.slice(2);
    return rest.split(".").length >= 2 && isValidDnsName(rest, false);
  }
  return isValidDnsName(presented, false);
}

/**
 * Whether a presented dNSName matches a reference DNS name (RFC 9525 §6.3).
 *
 * @param presented The certificate's dNSName.
 * @param reference The peer name: valid, lower-case, without a trailing dot.
 */
export function dnsNameMatches(presented: string, reference: string): boolean {
  const p = presented.toLowerCase();
  if (!isValidPresentedDnsName(p)) return false;
  if (!p.startsWith("*.")) return p === reference;
  const dot = reference.indexOf(".");
  return dot > 0 && reference.slice(dot + 1) === p.slice(2);
}

function ipEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------------------
// The public entry points

/**
 * Parse a peer name: an IP address literal (IPv4 dotted decimal or IPv6, brackets allowed), else a DNS name,
 * converted to lower-case A-label form without a trailing dot (see {@linkcode normalizeHostName}).
 *
 * @param peerName The name the application meant to reach, e.g. the TLS server_name.
 * @returns The parsed name.
 * @throws {TypeError} If `peerName` is neither a valid IP address nor a valid DNS name.
 * @throws {RangeError} If a label is longer than 63 octets or the name longer than 253.
 *
 * @example Parse the three kinds of name
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePeerName } from "./names.ts";
 * assert.deepEqual(parsePeerName("Bücher.Example."), { kind: "dns", name: "xn--bcher-kva.example" });
 * assert.deepEqual(parsePeerName("::1"), { kind: "ip", address: new Uint8Array([...new Array(15).fill(0), 1]) });
 * assert.throws(() => parsePeerName("*.example.com"), TypeError);
 * ```
 */
export function parsePeerName(peerName: string): ReferenceId {
  const host = normalizeHostName(peerName, "peer name");
  return host.kind === "ip" ? { kind: "ip", address: host.address } : host;
}

/**
 * Whether a parsed certificate names `reference` in its subjectAltName.
 *
 * @param cert The parsed certificate.
 * @param reference The parsed peer name.
 */
export function certificateMatches(cert: Certificate, reference: ReferenceId): boolean {
  for (const name of cert.subjectAltName ?? []) {
    if (reference.kind === "dns" && name.type === "dns" && dnsNameMatches(name.value, reference.name)) {
      return true;
    }
    if (reference.kind === "ip" && name.type === "ip" && ipEqual(name.value, reference.address)) return true;
  }
  return false;
}

/**
 * Whether a certificate is valid for `peerName` by its subjectAltName (RFC 9525): dNSName entries for a
 * DNS name (one leftmost `*` label allowed), iPAddress entries for an IP address. The common name is
 * ignored. Only names are checked here; use `verifyCertificateChain` for trust.
 *
 * @param cert The DER certificate.
 * @param peerName A DNS name (ASCII or Unicode) or an IPv4/IPv6 literal.
 * @returns Whether the certificate names the peer.
 * @throws {TypeError} If the certificate cannot be parsed or `peerName` is not a valid name.
 *
 * @example Match names against a certificate
 * ```ts
 * import assert from "node:assert/strict";
 * import "reflect-metadata";
 * import * as x509 from "@peculiar/x509";
 * import { matchesPeerName } from "./names.ts";
 * const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
 * const cert = await x509.X509CertificateGenerator.createSelfSigned({
 *   name: "CN=example.com",
 *   keys,
 *   signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
 *   extensions: [new x509.SubjectAlternativeNameExtension([
 *     { type: "dns", value: "*.example.com" },
 *     { type: "ip", value: "192.0.2.7" },
 *   ])],
 * }, crypto);
 * const der = new Uint8Array(cert.rawData);
 * assert.equal(matchesPeerName(der, "www.example.com"), true);
 * assert.equal(matchesPeerName(der, "example.com"), false); // the wildcard needs a label
 * assert.equal(matchesPeerName(der, "a.b.example.com"), false); // and matches only one
 * assert.equal(matchesPeerName(der, "192.0.2.7"), true);
 * ```
 */
export function matchesPeerName(cert: Uint8Array, peerName: string): boolean {
  let parsed: Certificate;
  try {
    parsed = parseCertificate(cert);
  } catch (error) {
    if (error instanceof CertError) {
      throw new TypeError(`Cannot match peer name: the certificate is malformed: ${error.message}`);
    }
    throw error;
  }
  return certificateMatches(parsed, parsePeerName(peerName));
}
