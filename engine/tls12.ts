/**
 * What both TLS 1.2 roles share (RFC 5246, RFC 7627, RFC 5746): the master secret and key block, Finished,
 * the downgrade sentinels of RFC 8446 §4.1.3, and the connected state that refuses renegotiation.
 * @module
 */

import { AlertDescription } from "./alert.ts";
import { incompatible, misbehaved } from "./errors.ts";
import { Reader } from "./msgs/codec.ts";
import { ExtensionType as E } from "./msgs/enums.ts";
import { decodeEmpty, type Extension, findExtension } from "./msgs/extensions.ts";
import { HandshakeType as H } from "./msgs/enums.ts";
import type { HandshakeMessage } from "./msgs/handshake.ts";
import { Protection12 } from "./record/layer.ts";
import type { Context, State, Step } from "./state.ts";
import { prf12, type Tls12Suite } from "../suites/tls12.ts";
import { concat } from "../suites/bytes.ts";
import type { CryptoProvider } from "../suites/provider.ts";

/** The last 8 bytes of a TLS 1.3-capable server's random when it negotiates TLS 1.2 ("DOWNGRD" 01). */
export const DOWNGRADE_TLS12: Uint8Array = Uint8Array.of(0x44, 0x4f, 0x57, 0x4e, 0x47, 0x52, 0x44, 0x01);
/** ... and when it negotiates TLS 1.1 or below ("DOWNGRD" 00). */
export const DOWNGRADE_TLS11: Uint8Array = Uint8Array.of(0x44, 0x4f, 0x57, 0x4e, 0x47, 0x52, 0x44, 0x00);

/** TLS_FALLBACK_SCSV (RFC 7507). */
export const FALLBACK_SCSV = 0x5600;
/** TLS_EMPTY_RENEGOTIATION_INFO_SCSV (RFC 5746 §3.3). */
export const RENEGOTIATION_SCSV = 0x00ff;

/**
 * Cipher suites that exist only from TLS 1.2 on (RFC 5246's SHA-256 suites, RFC 5288/5289 AES-GCM, RFC 6655
 * CCM, RFC 7905 ChaCha20-Poly1305) or TLS 1.3 (RFC 8446): none can be used in TLS 1.0 or 1.1.
 */
const TLS12_ONLY_SUITES: readonly (readonly [number, number])[] = [
  [0x003c, 0x0040],
  [0x0067, 0x006d],
  [0x009c, 0x00a7],
  [0x1301, 0x1305],
  [0xc023, 0xc032],
  [0xc09c, 0xc0af],
  [0xcca8, 0xccae],
];

/** Whether `suite` can only be used from TLS 1.2 on (see TLS12_ONLY_SUITES). */
export function isTls12OnlySuite(suite: number): boolean {
  return TLS12_ONLY_SUITES.some(([lo, hi]) => suite >= lo && suite <= hi);
}

/**
 * The master secret: with the extended master secret (RFC 7627 §4) it is bound to the session hash
 * (the transcript through ClientKeyExchange); without, to the two randoms (RFC 5246 §8.1).
 */
export function masterSecret(
  suite: Tls12Suite,
  preMaster: Uint8Array,
  ems: boolean,
  sessionHash: Uint8Array,
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
): Uint8Array {
  return ems
    ? prf12(suite.hash, preMaster, "extended master secret", sessionHash, 48)
    : prf12(suite.hash, preMaster, "master secret", concat(clientRandom, serverRandom), 48);
}

/** Both directions' record protection from the key block (RFC 5246 §6.3; AEAD suites have no MAC keys). */
export function keyBlock(
  suite: Tls12Suite,
  master: Uint8Array,
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
  provider: CryptoProvider,
): { client: Protection12; server: Protection12 } {
  const k = suite.aead.keyLen;
  const iv = suite.fixedIvLen;
  const block = prf12(suite.hash, master, "key expansion", concat(serverRandom, clientRandom), 2 * (k + iv));
  const protection = (key: Uint8Array, fixedIv: Uint8Array) =>
    new Protection12(suite.aead.importKey(key), fixedIv, provider.aeadKey(suite.aead, key));
  return {
    client: protection(block.subarray(0, k), block.slice(2 * k, 2 * k + iv)),
    server: protection(block.subarray(k, 2 * k), block.slice(2 * k + iv)),
  };
}

/** Finished.verify_data (RFC 5246 §7.4.9): 12 bytes of PRF over the transcript hash. */
export function verifyData12(
  suite: Tls12Suite,
  master: Uint8Array,
  who: "client" | "server",
  transcriptHash: Uint8Array,
): Uint8Array {
  return prf12(suite.hash, master, `${who} finished`, transcriptHash, 12);
}

/** The bytes a ServerKeyExchange signature covers (RFC 8422 §5.4). */
export function serverKeyExchangeContent(
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
  params: Uint8Array,
): Uint8Array {
  return concat(clientRandom, serverRandom, params);
}

/**
 * After a TLS 1.2 handshake. There is no post-handshake message airlock accepts but a renegotiation request,
 * and renegotiation is refused (RFC 5746 §4.2, §4.4): a client answers a HelloRequest, and a server a
 * ClientHello, with a no_renegotiation warning; a peer that asks again gets unexpected_message.
 */
export class Connected12 implements State {
  readonly name: string;
  readonly connected = true;
  #refused = false;

  constructor(readonly role: "client" | "server") {
    this.name = `${role}.Connected12`;
  }

  handle(cx: Context, m: HandshakeMessage): Step {
    const asks = this.role === "client" ? H.helloRequest : H.clientHello;
    if (m.type !== asks) {
      throw misbehaved(
        "unexpected_message",
        `Cannot accept a post-handshake message of type ${m.type} in TLS 1.2`,
        this.name,
      );
    }
    if (this.#refused) {
      throw misbehaved(
        "renegotiation_insisted",
        "Cannot renegotiate: the peer asked again after no_renegotiation",
        this.name,
      );
    }
    this.#refused = true;
    cx.sendWarning(AlertDescription.no_renegotiation);
    return this;
  }
}

/**
 * Waiting for the peer's ChangeCipherSpec (RFC 5246 §7.1): any handshake message first is unexpected_message;
 * the ChangeCipherSpec installs `read` and moves on to `next()` (the state for the peer's Finished).
 */
export class ExpectChangeCipherSpec implements State {
  readonly name: string;
  constructor(role: "client" | "server", readonly read: Protection12, readonly next: () => State) {
    this.name = `${role}.ExpectChangeCipherSpec`;
  }

  handle(_cx: Context, m: HandshakeMessage): Step {
    throw misbehaved(
      "unexpected_message",
      `Cannot accept handshake message ${m.type}: expected ChangeCipherSpec`,
      this.name,
    );
  }

  changeCipherSpec(cx: Context): Step {
    cx.changeReadCipher(this.read);
    return this.next();
  }
}

/**
 * The hello extensions both roles check alike: renegotiation_info empty in an initial handshake (RFC 5746
 * §3.4, §3.6: handshake_failure), extended_master_secret present unless not required (RFC 7627), and
 * ec_point_formats listing uncompressed (RFC 8422 §5.1.2: illegal_parameter).
 */
export function commonHelloExtensions(
  cx: Context,
  exts: readonly Extension[],
  message: "ClientHello" | "ServerHello",
  where: string,
): { ems: boolean; secureRenegotiation: boolean; pointFormats: boolean } {
  const ri = findExtension(exts, E.renegotiationInfo);
  if (ri !== undefined && !(ri.length === 1 && ri[0] === 0)) {
    throw misbehaved(
      "renegotiation_info",
      `Cannot accept ${message}: renegotiation_info is not empty in an initial handshake`,
      where,
    );
  }
  const emsData = findExtension(exts, E.extendedMasterSecret);
  if (emsData !== undefined) decodeEmpty(emsData, `${message}.extended_master_secret`);
  const ems = emsData !== undefined;
  if (!ems && cx.cfg.requireEms) {
    throw incompatible(
      "extended_master_secret_required",
      `Cannot accept ${message}: no extended_master_secret (RFC 7627), which we require`,
      where,
    );
  }
  const pf = findExtension(exts, E.ecPointFormats);
  if (pf !== undefined) {
    const r = new Reader(pf, `${message}.ec_point_formats`);
    const formats = r.vec8(1, 255, "ec_point_format_list");
    r.end();
    if (!formats.includes(0)) {
      throw misbehaved(
        "point_formats",
        `Cannot accept ${message}: ec_point_formats lacks uncompressed`,
        where,
      );
    }
  }
  return { ems, secureRenegotiation: ri !== undefined, pointFormats: pf !== undefined };
}
