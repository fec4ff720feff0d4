/**
 * QUIC mode's input (RFC 9001 §4.1.3): the handshake bytes the QUIC stack hands over, by encryption level,
 * wait in a bounded backlog while the provider works and are fed to the handshake in order. The driver
 * (engine.ts) keeps the public call and lends the few hooks the feed needs.
 * @module
 */

import type { Connection } from "./context.ts";
import { misbehaved, type TlsError } from "./errors.ts";
import type { QuicLevel } from "./quic.ts";

/** What the feed asks of the driver. */
export interface QuicDriver {
  /** Run the handshake as far as it goes; `untilFlushed` as `doHandshake()`. */
  handshake(untilFlushed: boolean): number;
  /** Hand the next whole handshake message to the state; false when none is whole. */
  handleNext(): boolean;
  /** True while crypto or a callback is pending. */
  pending(): boolean;
  /** -1 with the reason `getError()` gives while pending. */
  wantPending(): number;
}

/** The backlog of QUIC handshake bytes and the loop that feeds them to the handshake. */
export class QuicFeed {
  /** Bytes handed over but not yet fed to the handshake (they wait while the provider works). */
  readonly #backlog: { level: QuicLevel; data: Uint8Array }[] = [];
  /** Index of the next piece of `#backlog` to feed (a nested call shares it). */
  #head = 0;
  /** The bytes in `#backlog` from `#head` on, kept as it changes: no sum over it per call. */
  #waiting = 0;
  readonly #cx: Connection;
  readonly #driver: QuicDriver;

  constructor(cx: Connection, driver: QuicDriver) {
    this.#cx = cx;
    this.#driver = driver;
  }

  /** Take a copy of `data` at `level`; the error to fail with when too much waits. */
  take(level: QuicLevel, data: Uint8Array): TlsError | undefined {
    this.#backlog.push({ level, data: data.slice() });
    this.#waiting += data.length;
    // Bounded: while the provider works, a peer gets at most two messages' worth ahead of us.
    if (this.#waiting <= 2 * this.#cx.cfg.maxHandshakeMessageSize) return undefined;
    return misbehaved(
      "quic_backlog",
      `Cannot accept handshake data: ${this.#waiting} bytes wait, over twice maxHandshakeMessageSize`,
    );
  }

  /** Feed the waiting handshake bytes level by level, as far as the handshake goes without waiting. */
  run(): number {
    const d = this.#driver;
    let r = d.handshake(true);
    // Read by index and cut once: shifting a long backlog of tiny pieces one at a time is quadratic.
    try {
      while (this.#head < this.#backlog.length && !d.pending()) {
        r = this.#feed(this.#backlog[this.#head++]!);
      }
    } finally {
      this.#backlog.splice(0, this.#head);
      this.#head = 0;
    }
    return d.pending() ? d.wantPending() : r;
  }

  /** One piece of handshake bytes to the handshake, then any post-handshake messages; as `run`. */
  #feed({ level, data }: { level: QuicLevel; data: Uint8Array }): number {
    const d = this.#driver;
    this.#waiting -= data.length;
    if (level !== this.#cx.quicReadLevel) {
      throw misbehaved(
        "quic_wrong_level",
        `Cannot accept handshake data at level ${level}: expected ${this.#cx.quicReadLevel}`,
      );
    }
    if (data.length > 0) this.#cx.inbound.pushHandshake(data);
    const r = d.handshake(true);
    if (r !== 1) return r;
    // Post-handshake messages (NewSessionTicket) come at the application level.
    while (!d.pending() && d.handleNext());
    return r;
  }
}
