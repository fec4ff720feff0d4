/**
 * The write half of the record layer (Go's halfConn, outbound): handshake messages gathered into records, the
 * write protection, and the queue of records waiting for the BIO. Records a native AEAD is still sealing keep
 * their place in that queue, so bytes leave in the order they were written. In QUIC mode there are no records:
 * handshake bytes wait by encryption level for `takeQuicData()`.
 * @module
 */

import type { Bio } from "../../bio/bio.ts";
import { ContentType } from "../msgs/enums.ts";
import type { QuicLevel } from "../quic.ts";
import { encodeRecord, MAX_PLAINTEXT, type RecordProtection } from "./layer.ts";

/** A record being sealed natively; `bytes` once done. */
interface Sealing {
  bytes: Uint8Array | undefined;
  readonly done: Promise<void>;
}

/** Handshake bytes to send in QUIC mode, with their encryption level. */
export interface QuicData {
  level: QuicLevel;
  data: Uint8Array;
}

/** Our side of the record layer: what we send, sealed and in order. */
export class Outbound {
  /** The write protection; undefined while records go out in plaintext. */
  prot: RecordProtection | undefined;
  /** The largest plaintext in one record (the peer's record_size_limit, once negotiated). */
  maxFragment = MAX_PLAINTEXT;
  /** QUIC: the level our handshake bytes go out at. */
  quicLevel: QuicLevel = "initial";
  readonly #role: "client" | "server";
  readonly #bio: Bio | undefined;
  readonly #quic: QuicData[] | undefined;
  readonly #onSealError: (e: unknown) => void;
  /** Handshake messages of the flight being built, sealed together into as few records as fit. */
  #flight: Uint8Array[] = [];
  #out: Uint8Array[] = [];
  #outOff = 0;
  /** Records being sealed natively, in order; each joins `#out` once it and all before it are done. */
  #sealing: Sealing[] = [];
  #firstRecordSent = false;
  #ccsSent = false;

  /** `onSealError` receives a native seal's failure (the engine reports it on the next call). */
  constructor(
    role: "client" | "server",
    bio: Bio | undefined,
    quic: boolean,
    onSealError: (e: unknown) => void,
  ) {
    this.#role = role;
    this.#bio = bio;
    this.#quic = quic ? [] : undefined;
    this.#onSealError = onSealError;
  }

  /** Bytes sealed but not yet accepted by the BIO. */
  get pending(): number {
    let n = 0;
    for (const b of this.#out) n += b.length;
    return n - this.#outOff;
  }

  /** True while sealed records wait for room in the BIO (as opposed to being sealed natively). */
  get waitsForBio(): boolean {
    return this.#out.length > 0;
  }

  /** Records being sealed natively. */
  get sealing(): number {
    return this.#sealing.length;
  }

  /** Settles when the next record sealed natively is done; undefined when none is in flight. */
  nextSealed(): Promise<void> | undefined {
    return this.#sealing[0]?.done;
  }

  /** True once a ChangeCipherSpec went out (TLS 1.2, or TLS 1.3's middlebox-compat one). */
  get ccsSent(): boolean {
    return this.#ccsSent;
  }

  /** Add a handshake message to the flight being built. */
  handshake(raw: Uint8Array): void {
    this.#flight.push(raw);
  }

  /** Forget the flight being built and the records in flight: the connection failed, their results are not ours. */
  drop(): void {
    this.#flight = [];
    this.#sealing = [];
  }

  /** Forget the flight being built (its crypto failed). */
  dropFlight(): void {
    this.#flight = [];
  }

  /** Seal the flight built so far into records of at most `maxFragment` bytes. */
  sealFlight(): void {
    if (this.#flight.length === 0) return;
    let total = 0;
    for (const m of this.#flight) total += m.length;
    const all = new Uint8Array(total);
    let at = 0;
    for (const m of this.#flight) {
      all.set(m, at);
      at += m.length;
    }
    this.#flight = [];
    for (let i = 0; i < all.length; i += this.maxFragment) {
      this.record(ContentType.handshake, all.subarray(i, Math.min(all.length, i + this.maxFragment)));
    }
  }

  /** Send a ChangeCipherSpec record after the flight so far (never protected). */
  changeCipherSpec(): void {
    this.#ccsSent = true;
    this.sealFlight();
    this.#queue(encodeRecord(ContentType.changeCipherSpec, 0x0303, Uint8Array.of(1)));
  }

  /** Seal one record of `type` (natively when the provider prefers it) and queue it. */
  record(type: number, content: Uint8Array): void {
    if (this.#quic) {
      // RFC 9001 §4.1: handshake bytes go out by level; alerts become the QUIC CRYPTO_ERROR of `error`.
      if (type === ContentType.handshake) this.#quic.push({ level: this.quicLevel, data: content.slice() });
      return;
    }
    const prot = this.prot;
    if (prot && type === ContentType.applicationData && prot.prefersNative(content.length)) {
      const entry: Sealing = {
        bytes: undefined,
        done: prot.sealAsync(type, content).then(
          (bytes) => {
            entry.bytes = bytes;
            while (this.#sealing[0]?.bytes) this.#out.push(this.#sealing.shift()!.bytes!);
          },
          (e) => this.#onSealError(e),
        ),
      };
      this.#sealing.push(entry);
      return;
    }
    if (prot) return this.#queue(prot.seal(type, content));
    // RFC 8446 §5.1: 0x0301 only for an initial ClientHello.
    const version = this.#role === "client" && !this.#firstRecordSent ? 0x0301 : 0x0303;
    this.#firstRecordSent = true;
    this.#queue(encodeRecord(type, version, content));
  }

  /** A finished record joins the output behind any still being sealed. */
  #queue(record: Uint8Array): void {
    if (this.#sealing.length === 0) this.#out.push(record);
    else this.#sealing.push({ bytes: record, done: Promise.resolve() });
  }

  /** Move queued records into the BIO; true when nothing is left queued or being sealed. */
  flush(): boolean {
    if (!this.#bio) return true; // QUIC: output waits in takeQuic()
    while (this.#out.length > 0) {
      const head = this.#out[0]!;
      // Records are ours alone: the BIO may keep them rather than copy them.
      const rest = this.#outOff === 0 ? head : head.subarray(this.#outOff);
      const n = this.#bio.give ? this.#bio.give(rest) : this.#bio.write(rest);
      this.#outOff += n;
      if (this.#outOff < head.length) return false;
      this.#out.shift();
      this.#outOff = 0;
    }
    return this.#sealing.length === 0;
  }

  /** QUIC: the handshake bytes to send, in order (and forgets them). */
  takeQuic(): QuicData[] {
    const q = this.#quic;
    if (!q) return [];
    return q.splice(0, q.length);
  }
}
