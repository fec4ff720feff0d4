/**
 * The TLS 1.3 key schedule (RFC 8446 §7.1) and traffic key derivation (§7.3).
 *
 *              0
 *              |
 *    PSK ->  HKDF-Extract = Early Secret
 *              +-> Derive-Secret(., "derived", "") -> salt
 *   (EC)DHE -> HKDF-Extract = Handshake Secret
 *              +-> c hs traffic, s hs traffic
 *              +-> Derive-Secret(., "derived", "") -> salt
 *         0 -> HKDF-Extract = Master Secret
 *              +-> c ap traffic, s ap traffic, exp master, res master
 * @module
 */

import type { Hash } from "../suites/hash.ts";
import { Writer } from "./msgs/codec.ts";

const enc = new TextEncoder();

/** Each label's bytes with the "tls13 " prefix, encoded once: a handshake expands about twenty times. */
const labels = new Map<string, Uint8Array>();

/** HKDF-Expand-Label(Secret, Label, Context, Length) with the "tls13 " prefix. */
export function hkdfExpandLabel(
  hash: Hash,
  secret: Uint8Array,
  label: string,
  context: Uint8Array,
  length: number,
): Uint8Array {
  let full = labels.get(label);
  if (!full) {
    full = enc.encode("tls13 " + label);
    if (labels.size < 64) labels.set(label, full); // the protocol's labels, and a few exporter ones
  }
  const info = new Writer(4 + full.length + context.length)
    .u16(length)
    .vec(1, full)
    .vec(1, context)
    .finish();
  return hash.hkdfExpand(secret, info, length);
}

/** Derive-Secret(Secret, Label, TranscriptHash) where the caller already hashed the messages. */
export function deriveSecret(
  hash: Hash,
  secret: Uint8Array,
  label: string,
  transcriptHash: Uint8Array,
): Uint8Array {
  return hkdfExpandLabel(hash, secret, label, transcriptHash, hash.outputLen);
}

/** Traffic key and IV for an AEAD from a traffic secret (RFC 8446 §7.3). */
export function trafficKeys(
  hash: Hash,
  secret: Uint8Array,
  keyLen: number,
  ivLen = 12,
): { key: Uint8Array; iv: Uint8Array } {
  return {
    key: hkdfExpandLabel(hash, secret, "key", new Uint8Array(0), keyLen),
    iv: hkdfExpandLabel(hash, secret, "iv", new Uint8Array(0), ivLen),
  };
}

/** application_traffic_secret_N+1 (RFC 8446 §7.2). */
export function nextTrafficSecret(hash: Hash, secret: Uint8Array): Uint8Array {
  return hkdfExpandLabel(hash, secret, "traffic upd", new Uint8Array(0), hash.outputLen);
}

/** verify_data = HMAC(finished_key, Transcript-Hash) (RFC 8446 §4.4.4). */
export function finishedVerifyData(hash: Hash, baseKey: Uint8Array, transcriptHash: Uint8Array): Uint8Array {
  const finishedKey = hkdfExpandLabel(hash, baseKey, "finished", new Uint8Array(0), hash.outputLen);
  return hash.hmac(finishedKey, transcriptHash);
}

/** The handshake-stage secrets. */
export interface HandshakeSecrets {
  readonly clientHandshake: Uint8Array;
  readonly serverHandshake: Uint8Array;
}

/** The application-stage secrets. */
export interface ApplicationSecrets {
  readonly clientApplication: Uint8Array;
  readonly serverApplication: Uint8Array;
  readonly exporter: Uint8Array;
}

/** The running TLS 1.3 key schedule for one connection. */
export class KeySchedule {
  readonly hash: Hash;
  #secret: Uint8Array;
  #stage: "early" | "handshake" | "master" = "early";

  /** Start at the Early Secret: HKDF-Extract(0, PSK or 0). */
  constructor(hash: Hash, psk?: Uint8Array) {
    this.hash = hash;
    const zeros = new Uint8Array(hash.outputLen);
    this.#secret = hash.hkdfExtract(zeros, psk ?? zeros);
  }

  #advance(ikm: Uint8Array): void {
    const empty = this.hash.digest(new Uint8Array(0));
    const salt = deriveSecret(this.hash, this.#secret, "derived", empty);
    this.#secret = this.hash.hkdfExtract(salt, ikm);
  }

  /**
   * The binder key: Derive-Secret(Early Secret, "res binder" for a resumption PSK or "ext binder" for an
   * external one, "") (RFC 8446 §7.1).
   */
  binderKey(label: "res binder" | "ext binder" = "res binder"): Uint8Array {
    if (this.#stage !== "early") throw new Error("KeySchedule.binderKey() after the early stage");
    return deriveSecret(this.hash, this.#secret, label, this.hash.digest(new Uint8Array(0)));
  }

  /** client_early_traffic_secret for the ClientHello's transcript hash (RFC 8446 §7.1), for 0-RTT. */
  clientEarlyTraffic(clientHelloHash: Uint8Array): Uint8Array {
    if (this.#stage !== "early") throw new Error("KeySchedule.clientEarlyTraffic() after the early stage");
    return deriveSecret(this.hash, this.#secret, "c e traffic", clientHelloHash);
  }

  /** Mix in the (EC)DHE shared secret; returns the handshake traffic secrets for `transcriptHash` (CH..SH). */
  handshake(sharedSecret: Uint8Array, transcriptHash: Uint8Array): HandshakeSecrets {
    if (this.#stage !== "early") throw new Error("KeySchedule.handshake() called twice");
    this.#advance(sharedSecret);
    this.#stage = "handshake";
    return {
      clientHandshake: deriveSecret(this.hash, this.#secret, "c hs traffic", transcriptHash),
      serverHandshake: deriveSecret(this.hash, this.#secret, "s hs traffic", transcriptHash),
    };
  }

  /** Move to the Master Secret; returns the application secrets for `transcriptHash` (CH..server Finished). */
  application(transcriptHash: Uint8Array): ApplicationSecrets {
    if (this.#stage !== "handshake") throw new Error("KeySchedule.application() out of order");
    this.#advance(new Uint8Array(this.hash.outputLen));
    this.#stage = "master";
    return {
      clientApplication: deriveSecret(this.hash, this.#secret, "c ap traffic", transcriptHash),
      serverApplication: deriveSecret(this.hash, this.#secret, "s ap traffic", transcriptHash),
      exporter: deriveSecret(this.hash, this.#secret, "exp master", transcriptHash),
    };
  }

  /** resumption_master_secret for `transcriptHash` (CH..client Finished). */
  resumption(transcriptHash: Uint8Array): Uint8Array {
    if (this.#stage !== "master") throw new Error("KeySchedule.resumption() out of order");
    return deriveSecret(this.hash, this.#secret, "res master", transcriptHash);
  }
}
