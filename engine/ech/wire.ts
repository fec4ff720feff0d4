// Copyright 2026 the airlock authors. MIT license.
// This module is browser compatible.

/**
 * What the client and the server of Encrypted Client Hello share (draft-ietf-tls-esni §5, §7.2): the
 * `encrypted_client_hello` extension's bodies, the HPKE `info`, the acceptance confirmations and the
 * EncodedClientHelloInner padding. The states' logic is in client.ts and server.ts.
 * @module
 */

import { Reader, Writer } from "../msgs/codec.ts";
import { invalidMessage, misbehaved, TlsError } from "../errors.ts";
import { hkdfExpandLabel } from "../key_schedule.ts";
import { HandshakeType } from "../msgs/enums.ts";
import { concat, utf8 } from "../../suites/bytes.ts";
import type { Hash } from "../../suites/hash.ts";
import { type EchConfig, parseEchConfigList } from "./config.ts";

/** ECHClientHelloType (§5). */
export const ECH_OUTER = 0;
export const ECH_INNER = 1;

/** The AEAD tag every HPKE AEAD we speak adds (AES-GCM, ChaCha20-Poly1305). */
export const HPKE_TAG_LENGTH = 16;

/** The outer variant of ECHClientHello. */
export interface EchOuter {
  readonly kdf: number;
  readonly aead: number;
  readonly configId: number;
  /** The HPKE encapsulated key; empty in the ClientHello that answers a HelloRetryRequest. */
  readonly enc: Uint8Array;
  readonly payload: Uint8Array;
}

/** The inner variant's body: the type byte alone. */
export const ECH_INNER_BODY: Uint8Array = Uint8Array.of(ECH_INNER);

/** Encode the outer ECHClientHello. */
export function encodeEchOuter(o: EchOuter): Uint8Array {
  return new Writer(10 + o.enc.length + o.payload.length)
    .u8(ECH_OUTER)
    .u16(o.kdf)
    .u16(o.aead)
    .u8(o.configId)
    .vec(2, o.enc)
    .vec(2, o.payload)
    .finish();
}

/**
 * Decode a ClientHello's `encrypted_client_hello` (§5): the inner variant (empty), or the outer one (enc
 * 0..65535 bytes, payload 1..65535). A type outside the enum is illegal_parameter (§7); a malformed body is
 * decode_error.
 */
export function decodeEchClientHello(data: Uint8Array, where: string): "inner" | EchOuter {
  const r = new Reader(data, "encrypted_client_hello");
  const type = r.u8();
  if (type === ECH_INNER) {
    r.end();
    return "inner";
  }
  if (type !== ECH_OUTER) {
    throw misbehaved(
      "bad_ech_inner",
      `Cannot accept ClientHello: ECHClientHelloType ${type} is unknown`,
      where,
    );
  }
  const kdf = r.u16(), aead = r.u16(), configId = r.u8();
  const enc = r.vec16(0, 0xffff, "enc");
  const payload = r.vec16(1, 0xffff, "payload");
  r.end();
  return { kdf, aead, configId, enc, payload };
}

/** HPKE's `info` for ECH: "tls ech", a zero byte, then the ECHConfig (§6.1). */
export function echInfo(config: Uint8Array): Uint8Array {
  return concat(utf8("tls ech"), Uint8Array.of(0), config);
}

/**
 * accept_confirmation (§7.2) or hrr_accept_confirmation (§7.2.1): HKDF-Expand-Label(HKDF-Extract(0,
 * ClientHelloInner.random), label, transcript hash, 8).
 */
export function echConfirmation(
  hash: Hash,
  innerRandom: Uint8Array,
  transcriptHash: Uint8Array,
  hrr: boolean,
): Uint8Array {
  const prk = hash.hkdfExtract(new Uint8Array(hash.outputLen), innerRandom);
  return hkdfExpandLabel(
    hash,
    prk,
    hrr ? "hrr ech accept confirmation" : "ech accept confirmation",
    transcriptHash,
    8,
  );
}

/** Where ServerHello.random's last 8 bytes sit in the whole message (4-byte header, legacy_version, random). */
export const SH_CONFIRMATION_AT = 4 + 2 + 24;

/**
 * The transcript hash a HelloRetryRequest's confirmation covers: message_hash(ClientHelloInner1) and the
 * HelloRetryRequest with a zeroed confirmation (RFC 8446 §4.4.1; draft-ietf-tls-esni §7.2.1).
 */
export function hrrTranscript(hash: Hash, ch1Hash: Uint8Array, hrrZeroed: Uint8Array): Uint8Array {
  const state = hash.create();
  state.update(Uint8Array.of(HandshakeType.messageHash, 0, 0, ch1Hash.length));
  state.update(ch1Hash);
  state.update(hrrZeroed);
  return state.digest();
}

/**
 * The padding after EncodedClientHelloInner (§6.1.3): up to the configuration's maximum_name_length for the
 * server name (or the length of a server_name extension with such a name when there is none), then up to a
 * multiple of 32 bytes.
 */
export function echPadding(
  encodedLength: number,
  sniLength: number | undefined,
  maxNameLength: number,
): number {
  const forName = sniLength === undefined ? maxNameLength + 9 : Math.max(0, maxNameLength - sniLength);
  const l = encodedLength + forName;
  return forName + 31 - ((l - 1) % 32);
}

/**
 * The server's retry_configs in EncryptedExtensions (§5): an ECHConfigList, read as a client must. Malformed
 * is decode_error (§6.1.6, §6.2).
 */
export function decodeRetryConfigs(
  data: Uint8Array,
  where: string,
): { list: Uint8Array; configs: EchConfig[] } {
  try {
    return { list: new Uint8Array(data), configs: parseEchConfigList(data) };
  } catch (e) {
    if (e instanceof TlsError) {
      throw invalidMessage(
        "bad_ech_extension",
        "Cannot accept EncryptedExtensions: encrypted_client_hello is not an ECHConfigList",
        where,
      );
    }
    throw e;
  }
}
