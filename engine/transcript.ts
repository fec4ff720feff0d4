/**
 * The handshake transcript (RFC 8446 §4.4.1). Until the cipher suite (and so the hash) is known, the raw
 * messages are buffered; after a HelloRetryRequest, ClientHello1 is replaced by a synthetic message_hash.
 * @module
 */

import type { Hash, HashState } from "../suites/hash.ts";
import { localFault } from "./errors.ts";
import { HandshakeType } from "./msgs/enums.ts";

/** A running transcript hash. */
export class Transcript {
  #buffered: Uint8Array[] = [];
  #hash: Hash | undefined;
  #state: HashState | undefined;
  #kept: Uint8Array[] | undefined;

  /** Add one handshake message (header included). */
  add(raw: Uint8Array): void {
    this.#kept?.push(raw);
    if (this.#state) this.#state.update(raw);
    else this.#buffered.push(raw);
  }

  /**
   * Keep the raw messages from now on, besides hashing them: a TLS 1.2 CertificateVerify signs the messages
   * themselves (RFC 5246 §7.4.8), and Ed25519 cannot sign a hash. Call before the first `add`.
   */
  keep(): void {
    this.#kept ??= [...this.#buffered];
  }

  /** Everything kept so far, concatenated. */
  kept(): Uint8Array {
    if (!this.#kept) throw new Error("Transcript messages were not kept");
    let n = 0;
    for (const m of this.#kept) n += m.length;
    const out = new Uint8Array(n);
    n = 0;
    for (const m of this.#kept) out.set(m, n), n += m.length;
    return out;
  }

  /** Stop keeping raw messages. */
  forget(): void {
    this.#kept = undefined;
  }

  /** Fix the hash once the cipher suite is chosen; buffered messages are hashed now. */
  start(hash: Hash): void {
    if (this.#hash) {
      if (this.#hash !== hash) {
        throw localFault("transcript_hash_changed", "Transcript hash cannot change once chosen");
      }
      return;
    }
    this.#hash = hash;
    this.#state = hash.create();
    for (const m of this.#buffered) this.#state.update(m);
    this.#buffered = [];
  }

  /** The hash of everything so far. */
  current(): Uint8Array {
    if (!this.#state) throw new Error("Transcript hash not started");
    return this.#state.digest();
  }

  /**
   * The hash of everything so far followed by `extra`, without adding it (PSK binders hash a truncated
   * ClientHello, RFC 8446 §4.2.11.2). Before `start()`, `hash` decides; after, it must be the same hash.
   */
  hashWith(hash: Hash, extra: Uint8Array): Uint8Array {
    if (this.#hash && this.#hash !== hash) {
      throw localFault("transcript_hash_changed", "Transcript hash cannot change once chosen");
    }
    let state: HashState;
    if (this.#state) state = this.#state.clone();
    else {
      state = hash.create();
      for (const m of this.#buffered) state.update(m);
    }
    state.update(extra);
    return state.digest();
  }

  /**
   * Take over `other`'s state (Encrypted Client Hello: when the server rejects it, the handshake goes on with
   * the outer ClientHello's transcript, kept beside the inner one until the server's first message).
   */
  replaceWith(other: Transcript): void {
    this.#buffered = other.#buffered;
    this.#hash = other.#hash;
    this.#state = other.#state;
    this.#kept = other.#kept;
  }

  /**
   * Replace ClientHello1 with message_hash(Hash(ClientHello1)) (RFC 8446 §4.4.1). Call after `start()` and
   * before adding the HelloRetryRequest.
   */
  rewriteForHelloRetry(): void {
    if (!this.#hash || !this.#state) throw new Error("Transcript hash not started");
    const h = this.#state.digest();
    this.#state = this.#hash.create();
    this.#state.update(Uint8Array.of(HandshakeType.messageHash, 0, 0, h.length));
    this.#state.update(h);
  }
}
