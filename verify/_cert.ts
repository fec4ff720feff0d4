// This module is browser compatible.
/**
 * X.509 v3 certificate parsing (RFC 5280 §4) into the fields path validation needs, with the strict DER
 * reader of `suites/der.ts`. Names, the SubjectPublicKeyInfo and `tbsCertificate` are kept as the exact bytes that
 * were signed; extensions are decoded once, here.
 *
 * Parsing never judges a certificate's role: a problem that only matters for some uses (an unknown critical
 * extension, a v1 certificate) is recorded on the result and checked by the path builder, so an unused
 * broken certificate in a pool or a trust store costs nothing.
 *
 * @module
 */

import {
  checkInteger,
  DerError,
  DerReader,
  readBitString,
  readBoolean,
  readOid,
  readOnly,
  readTime,
  smallUint,
  Tag,
  type Tlv,
} from "../suites/der.ts";
import { ByteKeyedCache } from "../suites/cache.ts";

/** A failure to parse, with the verify error code it maps to. */
export class CertError extends Error {
  /**
   * @param code `bad_encoding`, `profile_violation` or `unsupported_version`.
   * @param message A sentence fragment saying what is wrong, e.g. `the serial number is not DER`.
   */
  constructor(readonly code: "bad_encoding" | "profile_violation" | "unsupported_version", message: string) {
    super(message);
    this.name = "CertError";
  }
}

/** One attribute of a distinguished name, e.g. CN=example.com. */
export interface Attribute {
  /** The attribute type, e.g. `2.5.4.3` for commonName. */
  readonly oid: string;
  /** The value's ASN.1 tag (UTF8String, PrintableString, …). */
  readonly tag: number;
  /** The value's contents. */
  readonly value: Uint8Array;
}

/** A distinguished name: its exact encoding and its relative distinguished names in order. */
export interface Name {
  /** The whole encoded Name, used for byte-wise issuer/subject comparison. */
  readonly der: Uint8Array;
  /** The RDNs, outermost (e.g. C=) first; each RDN is a set of attributes. */
  readonly rdns: readonly (readonly Attribute[])[];
}

/** A subjectAltName entry or a name constraint base (RFC 5280 §4.2.1.6). */
export type GeneralName =
  | { readonly type: "dns"; readonly value: string }
  | { readonly type: "ip"; readonly value: Uint8Array }
  | { readonly type: "email"; readonly value: string }
  | { readonly type: "uri"; readonly value: string }
  | { readonly type: "dn"; readonly value: Name }
  | { readonly type: "other"; readonly form: OtherForm };

/** The GeneralName forms airlock recognises but never evaluates. */
export type OtherForm = "otherName" | "x400Address" | "ediPartyName" | "registeredID";

/** The nameConstraints extension (RFC 5280 §4.2.1.10). */
export interface NameConstraints {
  readonly permitted: readonly GeneralName[] | undefined;
  readonly excluded: readonly GeneralName[] | undefined;
}

/** Key usage bits (RFC 5280 §4.2.1.3), numbered as in the ASN.1 definition. */
export const KeyUsageBit = { digitalSignature: 0, keyCertSign: 5 } as const;

/** A parsed certificate. */
export interface Certificate {
  /** The whole DER certificate. */
  readonly der: Uint8Array;
  /** The exact signed bytes. */
  readonly tbs: Uint8Array;
  /** The outer signatureAlgorithm AlgorithmIdentifier, encoded. */
  readonly signatureAlgorithm: Uint8Array;
  /** Its algorithm OID, for messages. */
  readonly signatureAlgorithmOid: string;
  /** The signature bits. */
  readonly signature: Uint8Array;
  /** 1, 2 or 3. */
  readonly version: number;
  readonly serial: Uint8Array;
  readonly issuer: Name;
  readonly subject: Name;
  /** Whether issuer and subject are the same name (RFC 5280 §6.1: "self-issued"). */
  readonly selfIssued: boolean;
  /** notBefore and notAfter in seconds since the Unix epoch. */
  readonly notBefore: number;
  readonly notAfter: number;
  /** The encoded SubjectPublicKeyInfo. */
  readonly spki: Uint8Array;
  readonly basicConstraints: { readonly ca: boolean; readonly pathLen: number | undefined } | undefined;
  /** Key usage as a bit set (bit n is `1 << n`), if the extension is present. */
  readonly keyUsage: number | undefined;
  /** extKeyUsage purpose OIDs, if the extension is present. */
  readonly extKeyUsage: readonly string[] | undefined;
  readonly subjectAltName: readonly GeneralName[] | undefined;
  readonly subjectAltNameCritical: boolean;
  readonly nameConstraints: NameConstraints | undefined;
  readonly subjectKeyId: Uint8Array | undefined;
  readonly authorityKeyId: Uint8Array | undefined;
  /** OIDs of critical extensions airlock does not process. */
  readonly unknownCritical: readonly string[];
}

const EXT = {
  subjectKeyId: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  nameConstraints: "2.5.29.30",
  authorityKeyId: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
  authorityInfoAccess: "1.3.6.1.5.5.7.1.1",
} as const;

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x2000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x2000));
  }
  return s;
}

/** Byte-wise equality (public data only: not constant-time). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Parse an encoded Name (RFC 5280 §4.1.2.4): a SEQUENCE of non-empty SETs of {type, value}.
 *
 * @param tlv The Name element.
 */
export function parseName(tlv: Tlv): Name {
  if (tlv.tag !== Tag.sequence) throw new DerError("a Name is not a SEQUENCE");
  const rdns: Attribute[][] = [];
  const r = new DerReader(tlv.value);
  while (!r.atEnd()) {
    const set = r.expect(Tag.set, "a relative distinguished name");
    const attrs: Attribute[] = [];
    const s = new DerReader(set.value);
    while (!s.atEnd()) {
      const atv = new DerReader(s.expect(Tag.sequence, "an attribute").value);
      const oid = readOid(atv.expect(Tag.oid, "an attribute type").value);
      const value = atv.read();
      atv.end("an attribute");
      attrs.push({ oid, tag: value.tag, value: value.value });
    }
    if (attrs.length === 0) throw new DerError("a relative distinguished name is empty");
    rdns.push(attrs);
  }
  return { der: tlv.raw, rdns };
}

function ia5(value: Uint8Array): string {
  return latin1(value);
}

/**
 * Parse one GeneralName.
 *
 * @param tlv The element, tagged [0]…[8].
 */
export function parseGeneralName(tlv: Tlv): GeneralName {
  switch (tlv.tag) {
    case Tag.explicit(0):
      return { type: "other", form: "otherName" };
    case Tag.implicit(1):
      return { type: "email", value: ia5(tlv.value) };
    case Tag.implicit(2):
      return { type: "dns", value: ia5(tlv.value) };
    case Tag.explicit(3):
      return { type: "other", form: "x400Address" };
    case Tag.explicit(4): {
      const r = new DerReader(tlv.value);
      const name = parseName(r.expect(Tag.sequence, "a directoryName"));
      r.end("a directoryName");
      return { type: "dn", value: name };
    }
    case Tag.explicit(5):
      return { type: "other", form: "ediPartyName" };
    case Tag.implicit(6):
      return { type: "uri", value: ia5(tlv.value) };
    case Tag.implicit(7):
      return { type: "ip", value: tlv.value };
    case Tag.implicit(8):
      return { type: "other", form: "registeredID" };
    default:
      throw new DerError(`a GeneralName has unknown tag 0x${tlv.tag.toString(16)}`);
  }
}

function parseGeneralNames(value: Uint8Array, what: string, allowEmpty: boolean): GeneralName[] {
  const r = new DerReader(value);
  const names: GeneralName[] = [];
  while (!r.atEnd()) names.push(parseGeneralName(r.read()));
  if (names.length === 0 && !allowEmpty) throw new DerError(`${what} is empty`);
  return names;
}

function parseSubtrees(value: Uint8Array, what: string): GeneralName[] {
  // GeneralSubtrees ::= SEQUENCE SIZE (1..MAX) OF GeneralSubtree, here IMPLICIT [0]/[1].
  const r = new DerReader(value);
  const out: GeneralName[] = [];
  while (!r.atEnd()) {
    const subtree = new DerReader(r.expect(Tag.sequence, `a ${what} subtree`).value);
    out.push(parseGeneralName(subtree.read()));
    // RFC 5280 §4.2.1.10: minimum MUST be zero (so, in DER, absent) and maximum MUST be absent.
    if (!subtree.atEnd()) {
      throw new CertError("profile_violation", `a ${what} name constraint has a minimum or maximum`);
    }
  }
  if (out.length === 0) throw new CertError("profile_violation", `the ${what} name constraints are empty`);
  return out;
}

function parseNameConstraints(value: Uint8Array): NameConstraints {
  const r = new DerReader(readOnly(value, Tag.sequence, "nameConstraints"));
  const permitted = r.optional(Tag.explicit(0));
  const excluded = r.optional(Tag.explicit(1));
  r.end("nameConstraints");
  if (!permitted && !excluded) {
    throw new CertError("profile_violation", "the name constraints extension has no subtrees");
  }
  return {
    permitted: permitted && parseSubtrees(permitted.value, "permitted"),
    excluded: excluded && parseSubtrees(excluded.value, "excluded"),
  };
}

function parseBasicConstraints(value: Uint8Array): { ca: boolean; pathLen: number | undefined } {
  const r = new DerReader(readOnly(value, Tag.sequence, "basicConstraints"));
  const caTlv = r.optional(Tag.boolean);
  const ca = caTlv ? readBoolean(caTlv.value, "basicConstraints cA") : false;
  const lenTlv = r.optional(Tag.integer);
  r.end("basicConstraints");
  const pathLen = lenTlv ? smallUint(lenTlv.value, "pathLenConstraint") : undefined;
  return { ca, pathLen };
}

function parseKeyUsage(value: Uint8Array): number {
  const { bytes } = readBitString(readOnly(value, Tag.bitString, "keyUsage"), "keyUsage");
  let bits = 0;
  // Bits 0..8 are defined (decipherOnly is bit 8); bit n is the (n % 8)th most significant of byte n / 8.
  for (let n = 0; n < 9 && n < bytes.length * 8; n++) {
    if (bytes[n >> 3]! & (0x80 >> (n & 7))) bits |= 1 << n;
  }
  return bits;
}

function parseExtKeyUsage(value: Uint8Array): string[] {
  const r = new DerReader(readOnly(value, Tag.sequence, "extKeyUsage"));
  const oids: string[] = [];
  while (!r.atEnd()) oids.push(readOid(r.expect(Tag.oid, "a key purpose").value));
  if (oids.length === 0) {
    throw new CertError("profile_violation", "the extended key usage extension is empty");
  }
  return oids;
}

function parseAuthorityKeyId(value: Uint8Array): Uint8Array | undefined {
  const r = new DerReader(readOnly(value, Tag.sequence, "authorityKeyIdentifier"));
  const keyId = r.optional(Tag.implicit(0));
  const issuer = r.optional(Tag.explicit(1));
  const serial = r.optional(Tag.implicit(2));
  r.end("authorityKeyIdentifier");
  if (issuer) parseGeneralNames(issuer.value, "authorityCertIssuer", false);
  if (serial) checkInteger(serial.value, "authorityCertSerialNumber");
  return keyId?.value;
}

function checkAuthorityInfoAccess(value: Uint8Array): void {
  // AuthorityInfoAccessSyntax ::= SEQUENCE SIZE (1..MAX) OF AccessDescription (RFC 5280 §4.2.2.1).
  const r = new DerReader(readOnly(value, Tag.sequence, "authorityInfoAccess"));
  if (r.atEnd()) throw new DerError("authorityInfoAccess is empty");
  while (!r.atEnd()) {
    const ad = new DerReader(r.expect(Tag.sequence, "an access description").value);
    readOid(ad.expect(Tag.oid, "an access method").value);
    parseGeneralName(ad.read());
    ad.end("an access description");
  }
}

interface Extensions {
  basicConstraints?: { ca: boolean; pathLen: number | undefined };
  keyUsage?: number;
  extKeyUsage?: string[];
  subjectAltName?: GeneralName[];
  subjectAltNameCritical: boolean;
  nameConstraints?: NameConstraints;
  subjectKeyId?: Uint8Array;
  authorityKeyId?: Uint8Array;
  unknownCritical: string[];
}

function parseExtensions(value: Uint8Array): Extensions {
  const out: Extensions = { subjectAltNameCritical: false, unknownCritical: [] };
  const seen = new Set<string>();
  // An empty extensions SEQUENCE breaks RFC 5280's SIZE (1..MAX), but is accepted as webpki does.
  const r = new DerReader(readOnly(value, Tag.sequence, "extensions"));
  while (!r.atEnd()) {
    const ext = new DerReader(r.expect(Tag.sequence, "an extension").value);
    const oid = readOid(ext.expect(Tag.oid, "an extension ID").value);
    const criticalTlv = ext.optional(Tag.boolean);
    const critical = criticalTlv ? readBoolean(criticalTlv.value, `extension ${oid} critical flag`) : false;
    const body = ext.expect(Tag.octetString, `extension ${oid} value`).value;
    ext.end(`extension ${oid}`);
    if (seen.has(oid)) throw new CertError("profile_violation", `extension ${oid} appears more than once`);
    seen.add(oid);
    switch (oid) {
      case EXT.basicConstraints:
        out.basicConstraints = parseBasicConstraints(body);
        break;
      case EXT.keyUsage:
        out.keyUsage = parseKeyUsage(body);
        break;
      case EXT.extKeyUsage:
        out.extKeyUsage = parseExtKeyUsage(body);
        break;
      case EXT.subjectAltName:
        // An empty SAN breaks SIZE (1..MAX) but occurs in the wild; it simply names nothing.
        out.subjectAltName = parseGeneralNames(readOnly(body, Tag.sequence, "subjectAltName"), "", true);
        out.subjectAltNameCritical = critical;
        break;
      case EXT.nameConstraints:
        out.nameConstraints = parseNameConstraints(body);
        break;
      case EXT.subjectKeyId:
        if (critical) throw new CertError("profile_violation", "the subject key identifier is critical");
        out.subjectKeyId = readOnly(body, Tag.octetString, "subjectKeyIdentifier");
        break;
      case EXT.authorityKeyId:
        if (critical) throw new CertError("profile_violation", "the authority key identifier is critical");
        {
          const keyId = parseAuthorityKeyId(body);
          if (keyId) out.authorityKeyId = keyId;
        }
        break;
      case EXT.authorityInfoAccess:
        checkAuthorityInfoAccess(body);
        if (critical) out.unknownCritical.push(oid); // MUST be non-critical; nothing here processes it
        break;
      default:
        if (critical) out.unknownCritical.push(oid);
    }
  }
  return out;
}

/** Certificates parsed lately: 128 at most, none over 8 KiB, so a peer pins at most about 3 MB here. */
const certificates = new ByteKeyedCache<Certificate>(128, 8192);

/**
 * Parse a DER X.509 certificate.
 *
 * @param der The certificate.
 * @returns The parsed certificate.
 * @throws {CertError} If it is not a well-formed certificate.
 */
export function parseCertificate(der: Uint8Array): Certificate {
  try {
    // The same leaf and CA come on every handshake: parse each once (from a copy, as the cache keeps it).
    return certificates.get("cert", der, () => Object.freeze(parse(der.slice())));
  } catch (error) {
    if (error instanceof DerError) {
      throw new CertError("bad_encoding", `it is not valid DER: ${error.message}`);
    }
    throw error;
  }
}

function parse(der: Uint8Array): Certificate {
  const top = new DerReader(der);
  const outer = new DerReader(top.expect(Tag.sequence, "Certificate").value);
  top.end("Certificate");
  const tbsTlv = outer.expect(Tag.sequence, "tbsCertificate");
  const sigAlg = outer.expect(Tag.sequence, "signatureAlgorithm");
  const sigAlgOid = readOid(new DerReader(sigAlg.value).expect(Tag.oid, "signatureAlgorithm OID").value);
  const sigBits = readBitString(outer.expect(Tag.bitString, "signatureValue").value, "signatureValue");
  outer.end("Certificate");
  if (sigBits.unused !== 0) throw new DerError("signatureValue is not a whole number of bytes");

  const tbs = new DerReader(tbsTlv.value);
  let version = 1;
  const versionTlv = tbs.optional(Tag.explicit(0));
  if (versionTlv) {
    const v = smallUint(readOnly(versionTlv.value, Tag.integer, "version"), "version");
    if (v === 0) throw new DerError("version v1 is encoded explicitly (DER omits the default)");
    if (v > 2) throw new CertError("unsupported_version", `its version number ${v + 1} is unknown`);
    version = v + 1;
  }
  const serial = checkInteger(tbs.expect(Tag.integer, "serialNumber").value, "serialNumber");
  const innerAlg = tbs.expect(Tag.sequence, "signature");
  if (!sameBytes(innerAlg.raw, sigAlg.raw)) {
    throw new CertError(
      "profile_violation",
      "its signature algorithm differs from the one inside tbsCertificate (RFC 5280 §4.1.1.2)",
    );
  }
  const issuer = parseName(tbs.expect(Tag.sequence, "issuer"));
  const validity = new DerReader(tbs.expect(Tag.sequence, "validity").value);
  const notBefore = readTime(validity.read());
  const notAfter = readTime(validity.read());
  validity.end("validity");
  const subject = parseName(tbs.expect(Tag.sequence, "subject"));
  const spki = tbs.expect(Tag.sequence, "subjectPublicKeyInfo");
  const spkiReader = new DerReader(spki.value);
  spkiReader.expect(Tag.sequence, "subjectPublicKeyInfo algorithm");
  spkiReader.expect(Tag.bitString, "subjectPublicKey");
  spkiReader.end("subjectPublicKeyInfo");
  if (tbs.optional(Tag.implicit(1)) && version === 1) {
    throw new DerError("a v1 certificate has an issuerUniqueID");
  }
  if (tbs.optional(Tag.implicit(2)) && version === 1) {
    throw new DerError("a v1 certificate has a subjectUniqueID");
  }
  const extTlv = tbs.optional(Tag.explicit(3));
  tbs.end("tbsCertificate");
  if (extTlv && version !== 3) throw new DerError(`a v${version} certificate has extensions`);
  const ext = extTlv ? parseExtensions(extTlv.value) : { subjectAltNameCritical: false, unknownCritical: [] };

  if (issuer.rdns.length === 0) throw new CertError("profile_violation", "its issuer name is empty");
  return {
    der,
    tbs: tbsTlv.raw,
    signatureAlgorithm: sigAlg.raw,
    signatureAlgorithmOid: sigAlgOid,
    signature: sigBits.bytes,
    version,
    serial,
    issuer,
    subject,
    selfIssued: sameBytes(issuer.der, subject.der),
    notBefore,
    notAfter,
    spki: spki.raw,
    basicConstraints: ext.basicConstraints,
    keyUsage: ext.keyUsage,
    extKeyUsage: ext.extKeyUsage,
    subjectAltName: ext.subjectAltName,
    subjectAltNameCritical: ext.subjectAltNameCritical,
    nameConstraints: ext.nameConstraints,
    subjectKeyId: ext.subjectKeyId,
    authorityKeyId: ext.authorityKeyId,
    unknownCritical: ext.unknownCritical,
  };
}

/**
 * Find the subject of a certificate that {@linkcode parseCertificate} rejected, so that a broken issuer
 * can still be named when it would have been the right one.
 *
 * @param der The certificate bytes.
 * @returns The parsed subject, or undefined if even that cannot be read.
 */
export function looseSubject(der: Uint8Array): Name | undefined {
  try {
    const tbs = new DerReader(
      new DerReader(new DerReader(der).expect(Tag.sequence, "Certificate").value)
        .expect(Tag.sequence, "tbsCertificate").value,
    );
    tbs.optional(Tag.explicit(0));
    tbs.expect(Tag.integer, "serialNumber");
    tbs.expect(Tag.sequence, "signature");
    tbs.expect(Tag.sequence, "issuer");
    tbs.expect(Tag.sequence, "validity");
    return parseName(tbs.expect(Tag.sequence, "subject"));
  } catch {
    return undefined;
  }
}

const SHORT_NAMES = new Map<string, string>([
  ["2.5.4.3", "CN"],
  ["2.5.4.5", "serialNumber"],
  ["2.5.4.6", "C"],
  ["2.5.4.7", "L"],
  ["2.5.4.8", "ST"],
  ["2.5.4.9", "street"],
  ["2.5.4.10", "O"],
  ["2.5.4.11", "OU"],
  ["0.9.2342.19200300.100.1.25", "DC"],
  ["0.9.2342.19200300.100.1.1", "UID"],
  ["1.2.840.113549.1.9.1", "emailAddress"],
]);

const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Decode a directory string to text, or undefined for an unknown string type or bad encoding.
 *
 * @param tag The ASN.1 string tag.
 * @param value Its contents.
 */
export function decodeDirectoryString(tag: number, value: Uint8Array): string | undefined {
  try {
    switch (tag) {
      case Tag.utf8String:
        return utf8Decoder.decode(value);
      case Tag.printableString:
      case Tag.ia5String:
      case Tag.teletexString:
        return latin1(value);
      case Tag.bmpString: {
        if (value.length % 2 !== 0) return undefined;
        let s = "";
        for (let i = 0; i < value.length; i += 2) s += String.fromCharCode((value[i]! << 8) | value[i + 1]!);
        return s;
      }
      case Tag.universalString: {
        if (value.length % 4 !== 0) return undefined;
        let s = "";
        for (let i = 0; i < value.length; i += 4) {
          const cp = ((value[i]! << 24) | (value[i + 1]! << 16) | (value[i + 2]! << 8) | value[i + 3]!) >>> 0;
          if (cp > 0x10ffff) return undefined;
          s += String.fromCodePoint(cp);
        }
        return s;
      }
      default:
        return undefined;
    }
  } catch {
    return undefined;
  }
}

function hex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/**
 * Render a Name for people, in encoding order: `O=bettertls.com, CN=local_ica`.
 *
 * @param name The name.
 * @returns The text, or `(empty name)`.
 */
export function formatName(name: Name): string {
  if (name.rdns.length === 0) return "(empty name)";
  const text = name.rdns.map((rdn) =>
    rdn.map(({ oid, tag, value }) => {
      const decoded = decodeDirectoryString(tag, value);
      // deno-lint-ignore no-control-regex
      const shown = decoded === undefined ? "#" + hex(value) : decoded.replace(/[\u0000-\u001f\u007f]/g, "?");
      return `${SHORT_NAMES.get(oid) ?? oid}=${shown}`;
    }).join(" + ")
  ).join(", ");
  return text.length > 200 ? text.slice(0, 197) + "..." : text;
}
