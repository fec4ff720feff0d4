// This module is browser compatible.
/**
 * Name constraints (RFC 5280 §4.2.1.10): whether the names of a certificate lie inside the permitted and
 * outside the excluded subtrees of a CA above it.
 *
 * Evaluated forms: dNSName (with rustls-webpki's reading of a leading `.`, and wildcards checked
 * defensively, see {@linkcode dnsConstraintMatches}), iPAddress (address + contiguous mask), rfc822Name
 * (mailbox, host or `.domain`; every character literal) and directoryName (RDN prefix, comparing string
 * values after trimming, whitespace folding and case folding). A name of any other form (URI, otherName,
 * x400Address, ediPartyName, registeredID) under a constraint of the same form cannot be evaluated and is a
 * violation, as RFC 5280 requires of names an implementation does not process.
 *
 * @module
 */

import {
  type Attribute,
  type Certificate,
  decodeDirectoryString,
  type GeneralName,
  type Name,
  type NameConstraints,
} from "./_cert.ts";
import { isValidDnsName, isValidPresentedDnsName } from "./names.ts";

/** Work limits for one verification, in the spirit of rustls-webpki's `Budget`. */
export interface Budget {
  /** Signature verifications left. */
  signatures: number;
  /** Candidate issuers that may still be considered. */
  visits: number;
  /** Name-versus-constraint comparisons left. */
  comparisons: number;
}

/** Thrown when a budget runs out: path building stops at once. */
export class BudgetExceeded extends Error {
  /**
   * @param what Which budget, e.g. `name constraint comparisons`.
   */
  constructor(what: string) {
    super(`Cannot finish path building: the limit on ${what} was reached`);
    this.name = "BudgetExceeded";
  }
}

class Invalid extends Error {}

const EMAIL_ATTRIBUTE = "1.2.840.113549.1.9.1";

function describe(name: GeneralName): string {
  switch (name.type) {
    case "dns":
      return `DNS name "${name.value}"`;
    case "email":
      return `email address "${name.value}"`;
    case "uri":
      return `URI "${name.value}"`;
    case "ip":
      return name.value.length === 4 || name.value.length === 16
        ? `IP address ${formatIp(name.value)}`
        : `IP address of ${name.value.length} bytes`;
    case "dn":
      return `directory name`;
    case "other":
      return name.form;
  }
}

function describeConstraint(name: GeneralName): string {
  switch (name.type) {
    case "ip":
      if (name.value.length === 8 || name.value.length === 32) {
        const half = name.value.length / 2;
        return `IP range ${formatIp(name.value.subarray(0, half))}/${
          prefixLength(name.value.subarray(half))
        }`;
      }
      return `IP range of ${name.value.length} bytes`;
    default:
      return describe(name);
  }
}

function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join(".");
  const words: string[] = [];
  for (let i = 0; i < bytes.length; i += 2) words.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return words.join(":");
}

/** The prefix length of a contiguous mask, or -1. */
function prefixLength(mask: Uint8Array): number {
  let bits = 0;
  let ended = false;
  for (const byte of mask) {
    for (let bit = 7; bit >= 0; bit--) {
      const set = (byte >> bit) & 1;
      if (set && ended) return -1;
      if (set) bits++;
      else ended = true;
    }
  }
  return bits;
}

// ---------------------------------------------------------------------------------------------------------
// dNSName

/**
 * Whether every name `*.<base>` could stand for lies within DNS constraint `c`, or (if `some`) at least
 * one does.
 */
function wildcardWithin(base: string, c: string, some: boolean): boolean {
  if (c === "") return true;
  if (c.startsWith(".")) {
    const y = c.slice(1);
    return base === y || base.endsWith(c);
  }
  if (base === c || base.endsWith("." + c)) return true;
  // Excluded "bar.example.com" is reachable from "*.example.com" by choosing the one label "bar".
  if (some && c.endsWith("." + base)) return !c.slice(0, c.length - base.length - 1).includes(".");
  return false;
}

/**
 * Whether DNS name `name` lies within constraint `c` ("adding zero or more labels to the left-hand side",
 * RFC 5280 §4.2.1.10). A constraint with a leading `.` (which RFC 5280 defines only for URIs, but CAs use
 * and rustls-webpki, NSS and SChannel accept) matches subdomains only. The empty constraint matches every
 * name. A wildcard name is checked for all the names it could stand for when permitted (`*.example.com` is
 * not inside `foo.example.com`) and for any of them when excluded (`*.example.com` hits an exclusion of
 * `bar.example.com`): the defensive reading after CVE-2025-61727.
 *
 * @param name The presented dNSName, lower-case.
 * @param c The constraint, lower-case.
 * @param excluded Whether `c` is an excluded subtree.
 * @throws {Invalid} If the name or the constraint is malformed.
 */
function dnsConstraintMatches(name: string, c: string, excluded: boolean): boolean {
  if (!isValidPresentedDnsName(name)) throw new Invalid(`the DNS name "${name}" is malformed`);
  if (c !== "" && !isValidDnsName(c.startsWith(".") ? c.slice(1) : c, false)) {
    throw new Invalid(`the DNS name constraint "${c}" is malformed`);
  }
  if (name.startsWith("*.")) return wildcardWithin(name.slice(2), c, excluded);
  if (c === "") return true;
  if (c.startsWith(".")) return name.endsWith(c);
  return name === c || name.endsWith("." + c);
}

// ---------------------------------------------------------------------------------------------------------
// iPAddress

function ipConstraintMatches(address: Uint8Array, c: Uint8Array): boolean {
  if (address.length !== 4 && address.length !== 16) {
    throw new Invalid(`an IP address of ${address.length} bytes is malformed`);
  }
  if ((c.length !== 8 && c.length !== 32) || prefixLength(c.subarray(c.length / 2)) < 0) {
    throw new Invalid("an IP address constraint is not an address and a contiguous mask");
  }
  if (address.length * 2 !== c.length) return false; // IPv4 never lies in an IPv6 range, nor the reverse
  const n = address.length;
  for (let i = 0; i < n; i++) {
    const mask = c[n + i]!;
    if ((address[i]! & mask) !== (c[i]! & mask)) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------------
// rfc822Name

function splitMailbox(value: string): { local: string; domain: string } | undefined {
  const at = value.indexOf("@");
  if (at <= 0 || at !== value.lastIndexOf("@")) return undefined;
  const domain = value.slice(at + 1).toLowerCase();
  if (!isValidDnsName(domain, false) || !/^[\u0021-\u007e]+$/.test(value)) return undefined;
  return { local: value.slice(0, at), domain };
}

function emailConstraintMatches(address: string, c: string): boolean {
  const mailbox = splitMailbox(address);
  if (!mailbox) throw new Invalid(`the email address "${address}" is malformed`);
  if (c.includes("@")) {
    const want = splitMailbox(c);
    if (!want) throw new Invalid(`the email constraint "${c}" is malformed`);
    return want.local === mailbox.local && want.domain === mailbox.domain;
  }
  const domain = c.toLowerCase();
  if (!isValidDnsName(domain.startsWith(".") ? domain.slice(1) : domain, false)) {
    throw new Invalid(`the email constraint "${c}" is malformed`);
  }
  return domain.startsWith(".") ? mailbox.domain.endsWith(domain) : mailbox.domain === domain;
}

// ---------------------------------------------------------------------------------------------------------
// directoryName

function normalise(attr: Attribute): string | undefined {
  const text = decodeDirectoryString(attr.tag, attr.value);
  return text?.normalize("NFKC").trim().replace(/\s+/g, " ").toLowerCase();
}

function sameAttribute(a: Attribute, b: Attribute): boolean {
  if (a.oid !== b.oid) return false;
  const x = normalise(a);
  const y = normalise(b);
  if (x !== undefined && y !== undefined) return x === y;
  if (a.tag !== b.tag || a.value.length !== b.value.length) return false;
  return a.value.every((byte, i) => byte === b.value[i]);
}

function sameRdn(a: readonly Attribute[], b: readonly Attribute[]): boolean {
  return a.length === b.length && a.every((x) => b.some((y) => sameAttribute(x, y)));
}

function dnConstraintMatches(name: Name, c: Name): boolean {
  if (c.rdns.length > name.rdns.length) return false;
  return c.rdns.every((rdn, i) => sameRdn(rdn, name.rdns[i]!));
}

// ---------------------------------------------------------------------------------------------------------

function matches(name: GeneralName, base: GeneralName, excluded: boolean): boolean | "unsupported" {
  switch (name.type) {
    case "dns":
      return base.type === "dns" &&
        dnsConstraintMatches(name.value.toLowerCase(), base.value.toLowerCase(), excluded);
    case "ip":
      return base.type === "ip" && ipConstraintMatches(name.value, base.value);
    case "email":
      return base.type === "email" && emailConstraintMatches(name.value, base.value);
    case "dn":
      return base.type === "dn" && dnConstraintMatches(name.value, base.value);
    case "uri":
      return base.type === "uri" ? "unsupported" : false;
    case "other":
      return base.type === "other" && base.form === name.form ? "unsupported" : false;
  }
}

/**
 * The names of `cert` that name constraints apply to: its subjectAltName entries, its subject as a
 * directoryName when not empty, and, when it has no subjectAltName, the emailAddress attributes of its
 * subject (RFC 5280 §4.2.1.10).
 *
 * @param cert The certificate below the constraining CA.
 */
export function constrainedNames(cert: Certificate): GeneralName[] {
  const names: GeneralName[] = [...(cert.subjectAltName ?? [])];
  if (cert.subject.rdns.length > 0) names.push({ type: "dn", value: cert.subject });
  if (cert.subjectAltName === undefined) {
    for (const rdn of cert.subject.rdns) {
      for (const attr of rdn) {
        if (attr.oid !== EMAIL_ATTRIBUTE) continue;
        const text = decodeDirectoryString(attr.tag, attr.value);
        if (text !== undefined) names.push({ type: "email", value: text });
      }
    }
  }
  return names;
}

/**
 * Check one certificate's names against one CA's name constraints.
 *
 * @param nc The constraints.
 * @param names The names of the certificate below, from {@linkcode constrainedNames}.
 * @param budget Decremented once per comparison.
 * @returns Undefined when the names conform, else a sentence fragment saying which name broke which rule.
 * @throws {BudgetExceeded} When the comparison budget runs out.
 */
export function checkNameConstraints(
  nc: NameConstraints,
  names: readonly GeneralName[],
  budget: Budget,
): string | undefined {
  for (const name of names) {
    try {
      for (const base of nc.excluded ?? []) {
        if (--budget.comparisons < 0) throw new BudgetExceeded("name constraint comparisons");
        const hit = matches(name, base, true);
        if (hit === "unsupported") return `its ${describe(name)} cannot be checked against name constraints`;
        if (hit) return `its ${describe(name)} is in the excluded ${describeConstraint(base)}`;
      }
      let sameForm = false;
      let inside = false;
      for (const base of nc.permitted ?? []) {
        if (--budget.comparisons < 0) throw new BudgetExceeded("name constraint comparisons");
        const hit = matches(name, base, false);
        if (hit === "unsupported") return `its ${describe(name)} cannot be checked against name constraints`;
        if (
          base.type === name.type &&
          (base.type !== "other" || name.type !== "other" || base.form === name.form)
        ) {
          sameForm = true;
        }
        if (hit) {
          inside = true;
          break;
        }
      }
      if (sameForm && !inside) return `its ${describe(name)} is outside the permitted subtrees`;
    } catch (error) {
      if (error instanceof Invalid) return error.message;
      throw error;
    }
  }
  return undefined;
}
