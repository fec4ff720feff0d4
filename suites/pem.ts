// This module is browser compatible.
/**
 * PEM (RFC 7468) encoding and decoding with `atob`/`btoa`.
 *
 * @module
 */

const BLOCK = /-----BEGIN ([^\r\n-]+)-----([\s\S]*?)-----END \1-----/g;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Decode every PEM block in `text`, in order.
 *
 * @param text Text holding zero or more PEM blocks; anything between blocks is ignored.
 * @param label If given, only blocks with exactly this label (e.g. `"CERTIFICATE"`) are returned.
 * @returns The DER contents of the matching blocks.
 * @throws {SyntaxError} If a block is unterminated or its body is not plain base64
 * (this includes legacy encrypted PEM with `Proc-Type` headers).
 *
 * @example Read a certificate chain
 * ```ts
 * import assert from "node:assert/strict";
 * import { pemDecode, pemEncode } from "./pem.ts";
 * const text = pemEncode(new Uint8Array([1, 2]), "CERTIFICATE") + pemEncode(new Uint8Array([3]), "CERTIFICATE");
 * assert.deepEqual(pemDecode(text, "CERTIFICATE"), [new Uint8Array([1, 2]), new Uint8Array([3])]);
 * ```
 */
export function pemDecode(text: string, label?: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  let blocks = 0;
  for (const match of text.matchAll(BLOCK)) {
    blocks++;
    const [, name = "", body = ""] = match;
    if (label !== undefined && name !== label) continue;
    const b64 = body.replace(/\s+/g, "");
    if (!BASE64.test(b64)) throw new SyntaxError(`Cannot decode PEM block "${name}": body is not base64`);
    const binary = atob(b64);
    const der = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) der[i] = binary.charCodeAt(i);
    out.push(der);
  }
  const begins = text.match(/-----BEGIN /g)?.length ?? 0;
  if (begins !== blocks) throw new SyntaxError("Cannot decode PEM: a BEGIN line has no matching END line");
  return out;
}

/**
 * Encode DER bytes as one PEM block with 64-character lines.
 *
 * @param der The bytes to encode.
 * @param label The block label, e.g. `"PRIVATE KEY"`.
 * @returns The PEM text, ending in a newline.
 *
 * @example Encode a tiny block
 * ```ts
 * import assert from "node:assert/strict";
 * import { pemEncode } from "./pem.ts";
 * assert.equal(pemEncode(new Uint8Array([1, 2, 3]), "TEST"), "-----BEGIN TEST-----\nAQID\n-----END TEST-----\n");
 * ```
 */
export function pemEncode(der: Uint8Array, label: string): string {
  let binary = "";
  for (let i = 0; i < der.length; i += 0x8000) {
    binary += String.fromCharCode(...der.subarray(i, i + 0x8000));
  }
  const b64 = btoa(binary);
  let body = "";
  for (let i = 0; i < b64.length; i += 64) body += b64.slice(i, i + 64) + "\n";
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}
