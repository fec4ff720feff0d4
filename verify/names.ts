// This module is browser compatible.
/**
 * Server identity checks (RFC 9525, which replaces RFC 6125): does a certificate name the peer we meant to
 * reach?
 *
 * - Only subjectAltName entries count: dNSName for DNS names, iPAddress for IP addresses. The subject's
 *   common name is never consulted, and a DNS name never matches an IP address or the reverse.
 * - DNS names compare case-insensitively as ASCII. A peer name given in Unicode (a U-label such as
 *   `bücher.example`) is converted to its A-label (`xn--bcher-kva.example`) with punycode (RFC 3492); the
 *   certificate side must already be ASCII, as RFC 5280 §7.2 requires.
 * - A presented wildcard is accepted only as the whole leftmost label (`*.example.com`), matches exactly one
 *   non-empty label, and needs at least two labels after it (`*.com` and `*` never match), as in
 *   rustls-webpki and NSS. There is no public suffix list, so `*.co.uk` is matched like `*.example.com`.
 * - IP addresses compare as bytes: `::1`, `0:0::1` and `0000::0001` are the same address; IPv4 and IPv6 are
 *   never equal (no IPv4-mapped matching).
 *
 * @module
 */

import { CertError, type Certificate, parseCertificate } from "./_cert.ts";

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
// Punycode (RFC 3492) and the A-label form of a peer name

const BASE = 36;
const T_MIN = 1;
const T_MAX = 26;

function adapt(delta: number, points: number, first: boolean): number {
  delta = first ? Math.floor(delta / 700) : delta >> 1;
  delta += Math.floor(delta / points);
  let k = 0;
  while (delta > ((BASE - T_MIN) * T_MAX) >> 1) {
    delta = Math.floor(delta / (BASE - T_MIN));
    k += BASE;
  }
  return k + Math.floor(((BASE - T_MIN + 1) * delta) / (delta + 38));
}

function digit(d: number): string {
  return String.fromCharCode(d < 26 ? 97 + d : 22 + d); // a..z, then 0..9
}

/**
 * Punycode-encode one label (RFC 3492 §6.3), without the `xn--` prefix.
 *
 * @param label A label holding at least one non-ASCII character.
 * @returns The encoded label, e.g. `bcher-kva` for `bücher`.
 */
export function punycodeEncode(label: string): string {
  const input = Array.from(label, (c) => c.codePointAt(0)!);
  let out = input.filter((c) => c < 0x80).map((c) => String.fromCharCode(c)).join("");
  const basic = out.length;
  let handled = basic;
  if (basic > 0) out += "-";
  let n = 0x80;
  let delta = 0;
  let bias = 72;
  while (handled < input.length) {
    let m = Infinity;
    for (const c of input) if (c >= n && c < m) m = c;
    delta += (m - n) * (handled + 1);
    n = m;
    for (const c of input) {
      if (c < n) delta++;
      if (c !== n) continue;
      let q = delta;
      for (let k = BASE;; k += BASE) {
        const t = k <= bias ? T_MIN : k >= bias + T_MAX ? T_MAX : k - bias;
        if (q < t) break;
        out += digit(t + ((q - t) % (BASE - t)));
        q = Math.floor((q - t) / (BASE - t));
      }
      out += digit(q);
      bias = adapt(delta, handled + 1, handled === basic);
      delta = 0;
      handled++;
    }
    delta++;
    n++;
  }
  return out;
}

/**
 * Convert a domain name to lower-case ASCII: labels with non-ASCII characters become A-labels
 * (`xn--` + punycode) after NFC normalisation and lower-casing; the ideographic full stops U+3002, U+FF0E
 * and U+FF61 separate labels as `.` does (a small part of UTS #46 mapping, not all of it).
 *
 * @param name The domain name.
 * @returns The ASCII form; it still needs validating as a DNS name.
 */
export function domainToAscii(name: string): string {
  // deno-lint-ignore no-control-regex
  if (/^[\u0000-\u007f]*$/.test(name)) return name.toLowerCase();
  return name.normalize("NFC").toLowerCase().replace(/[\u3002\uff0e\uff61]/g, ".").split(".").map((label) =>
    // deno-lint-ignore no-control-regex
    /^[\u0000-\u007f]*$/.test(label) ? label : "xn--" + punycodeEncode(label)
  ).join(".");
}

// ---------------------------------------------------------------------------------------------------------
// DNS names

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

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
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split(".");
  for (const label of labels) if (!LABEL.test(label)) return false;
  return !/^[0-9]+$/.test(labels[labels.length - 1]!);
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
 * Parse a peer name: an IP address literal (IPv4 dotted decimal or IPv6), else a DNS name, which is
 * converted to lower-case A-label form (a trailing dot is dropped).
 *
 * @param peerName The name the application meant to reach, e.g. the TLS server_name.
 * @returns The parsed name.
 * @throws {TypeError} If `peerName` is neither a valid IP address nor a valid DNS name.
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
  if (typeof peerName !== "string") throw new TypeError("Cannot parse peer name: expected a string");
  const address = parseIpAddress(peerName);
  if (address) return { kind: "ip", address };
  const ascii = domainToAscii(peerName);
  if (!isValidDnsName(ascii, true)) {
    throw new TypeError(
      `Cannot use peer name "${peerName}": it is neither a valid DNS name nor an IP address`,
    );
  }
  return { kind: "dns", name: ascii.endsWith(".") ? ascii.slice(0, -1) : ascii };
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
