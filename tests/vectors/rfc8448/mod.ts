/**
 * RFC 8448 Section 3 ("Simple 1-RTT Handshake") test vectors, plus the server RSA key
 * from RFC 8448 Section 2, as byte arrays.
 *
 * Values are extracted from RFC 8448 (M. Thomson, January 2019); see LICENSE.md in this
 * directory for the IETF Trust copyright and licence terms.
 *
 * Handshake messages (clientHello, serverHello, encryptedExtensions, ...) are the bare
 * handshake message bytes (msg_type + u24 length + body). `*Record` values are complete
 * TLS records as sent on the wire. `*Plaintext` values of protected records are the
 * TLSInnerPlaintext content without the trailing content-type byte (as the trace prints
 * them).
 */
import data from "./simple_1rtt.json" with { type: "json" };

/** Names of the RFC 8448 Section 3 vectors. */
export type Rfc8448SimpleName = keyof typeof data;

function fromHex(hex: string): Uint8Array<ArrayBuffer> {
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/.test(hex)) {
    throw new Error(`rfc8448: invalid hex string (${hex.length} chars)`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  }
  return out;
}

/** RFC 8448 Section 3 vectors. Each access returns the shared array; copy it before mutating. */
export const rfc8448Simple: Record<Rfc8448SimpleName, Uint8Array<ArrayBuffer>> = Object.fromEntries(
  Object.entries(data).map(([name, hex]) => [name, fromHex(hex)]),
) as Record<Rfc8448SimpleName, Uint8Array<ArrayBuffer>>;

/** The raw lowercase hex strings, keyed like {@link rfc8448Simple}. */
export const rfc8448SimpleHex: Readonly<Record<Rfc8448SimpleName, string>> = data;
