/**
 * The read half of the record layer and the per-record policy (rustls' CommonState, Go's halfConn, inbound):
 * framing records off the BIO, opening them (natively, several in flight, in order), and deciding what each
 * one means. Handshake bytes go to the joiner, application data to the plaintext buffer, 0-RTT data to its own
 * buffer; alerts, ChangeCipherSpec, rejected early data, record sizes and floods of empty records or warnings
 * are judged here, each fault a typed error with its alert.
 * @module
 */

import type { Bio } from "../../bio/bio.ts";
import { AlertDescription, AlertLevel, type AlertName, alertName, isKnownAlert } from "../alert.ts";
import { alertReceived, invalidMessage, misbehaved, type TlsError } from "../errors.ts";
import type { EngineEventMap } from "../events.ts";
import { CHANGE_CIPHER_SPEC } from "../message_info.ts";
import { LIMITS } from "../limits.ts";
import { ContentType } from "../msgs/enums.ts";
import type { HandshakeMessage } from "../msgs/handshake.ts";
import {
  HandshakeJoiner,
  MAX_PLAINTEXT,
  type Opened,
  type RawRecord,
  type RecordProtection,
  RecordReader,
} from "./layer.ts";

/** Consecutive empty application_data records accepted before the peer is judged abusive. */
const MAX_EMPTY_RECORDS = LIMITS.maxEmptyRecords;
/** Middlebox-compat ChangeCipherSpec records accepted in one handshake. */
const MAX_CCS = LIMITS.maxChangeCipherSpecs;
/** Records a native AEAD may open ahead at once (WebCrypto keeps them in flight; order is kept). */
const MAX_IN_FLIGHT = 4;

/** A record being opened natively, with the key it is opened under; `result` once done. */
interface Opening {
  readonly rec: RawRecord;
  readonly prot: RecordProtection;
  result: { opened: Opened } | { error: unknown } | undefined;
  readonly done: Promise<void>;
}

/** Server: 0-RTT data accepted and not yet read, and what is left of its budget. */
export interface EarlyData {
  readonly chunks: Uint8Array[];
  left: number;
  open: boolean;
}

/** What the read half asks of the connection it belongs to. */
export interface InboundHost {
  readonly role: "client" | "server";
  /** The negotiated version: a TLS 1.2 warning alert does not end the connection. */
  readonly version: number;
  /** True once the handshake is done: application data may flow. */
  readonly handshakeDone: boolean;
  /** Server: a ClientHello came (a close_notify before one is no clean end). */
  readonly helloSeen: boolean;
  /** Where a fault happens: the current state's name. */
  readonly where: string;
  /** Dispatch an event (a received alert, the peer's close). */
  emit<K extends keyof EngineEventMap>(name: K, detail: EngineEventMap[K]): void;
}

/**
 * What reading one record gave: a record processed; a TLS 1.2 ChangeCipherSpec for the state; or none yet
 * (WANT_READ), the end of the stream, or a record still being opened natively (WANT_ASYNC).
 */
export type ReadResult = "record" | "changeCipherSpec" | "want" | "eof" | "async";

/** The peer's side of the record layer: what it sent, opened, checked and sorted by content type. */
export class Inbound {
  /** The peer's close_notify came. */
  closeReceived = false;
  /** The peer's close_notify during the handshake: not an error, but `error` says what happened. */
  closedInHandshake: TlsError | undefined;
  /** Server: 0-RTT data accepted (`acceptEarlyData`), for `readEarlyData()`. */
  early: EarlyData | undefined;
  readonly #host: InboundHost;
  readonly #bio: Bio | undefined;
  readonly #records = new RecordReader();
  readonly #joiner: HandshakeJoiner;
  #prot: RecordProtection | undefined;
  /** Records being opened natively (the first, then those read ahead), in order, with the key used. */
  #opening: Opening[] = [];
  /** Records read ahead under a key that changed before their turn: processed again, in order. */
  #replay: RawRecord[] = [];
  /** Our record_size_limit once negotiated (RFC 8449 §4), and the last protected record's inner length. */
  #recvLimit: number | undefined;
  #lastInner = 0;
  #ccsAllowed = false;
  #ccsSeen = 0;
  #emptyRecords = 0;
  #warningAlerts = 0;
  #plain: Uint8Array = new Uint8Array(0);
  #plainOff = 0;
  /** Server: bytes of rejected 0-RTT records still to drop. */
  #skipEarly = 0;
  /** Server: the handshake key came right after our ServerHello, with no early data before it. */
  #helloRefusable = false;

  constructor(host: InboundHost, bio: Bio | undefined, maxHandshakeMessageSize: number) {
    this.#host = host;
    this.#bio = bio;
    this.#joiner = new HandshakeJoiner(maxHandshakeMessageSize);
  }

  /** Decrypted application data not yet read. */
  get plaintext(): number {
    return this.#plain.length - this.#plainOff;
  }

  /** Bytes taken from the BIO and not yet framed into a record. */
  get buffered(): number {
    return this.#records.buffered;
  }

  /** Copy decrypted application data into `buf`; consumed when `consume`. Returns the byte count. */
  readPlaintext(buf: Uint8Array, consume: boolean): number {
    const n = Math.min(buf.length, this.#plain.length - this.#plainOff);
    buf.set(this.#plain.subarray(this.#plainOff, this.#plainOff + n));
    if (consume) this.#plainOff += n;
    return n;
  }

  /** The next whole handshake message, if one is. */
  takeMessage(): HandshakeMessage | undefined {
    return this.#joiner.take();
  }

  /** QUIC: handshake bytes come by level, not in records. */
  pushHandshake(data: Uint8Array): void {
    this.#joiner.push(data);
  }

  /**
   * Settles when the next record opened natively is done; undefined when none is still being opened (one
   * that is done waits for a read, not for the provider: a promise already settled here would have a
   * write's `asyncWait()` return at once, again and again).
   */
  nextOpened(): Promise<void> | undefined {
    const head = this.#opening[0];
    return head && !head.result ? head.done : undefined;
  }

  /** Forget the records in flight: the connection failed, their results are not ours. */
  drop(): void {
    this.#opening = [];
    this.#replay = [];
  }

  /** RFC 8446 §5.1: messages before a key change must end at a record boundary. */
  checkKeyChange(): void {
    if (this.#joiner.buffered > 0) {
      throw misbehaved(
        "data_across_key_change",
        "Cannot change keys: handshake data follows in the same record",
      );
    }
  }

  /** TLS 1.3: read with a new key at `level` (`prot` undefined in QUIC mode, which has no records). */
  setReadKey(prot: RecordProtection | undefined, level: "early" | "handshake" | "application"): void {
    if (prot) this.#prot = prot;
    this.#helloRefusable = this.#host.role === "server" && level === "handshake" && !this.early &&
      this.#skipEarly === 0;
  }

  /** TLS 1.2: the peer's ChangeCipherSpec came; open what follows with `prot`. */
  changeReadCipher(prot: RecordProtection): void {
    this.#prot = prot;
  }

  /** Server: application data read under the early key goes to `early`, up to `maxSize` bytes. */
  acceptEarlyData(maxSize: number): void {
    this.early = { chunks: [], left: maxSize, open: true };
  }

  /** Server: EndOfEarlyData arrived. */
  endEarlyData(): void {
    if (this.early) this.early.open = false;
  }

  /** Server: drop up to `budget` bytes of records that fail to decrypt (0-RTT data we rejected). */
  skipEarlyData(budget: number): void {
    this.#skipEarly = budget;
  }

  /** Allow or refuse the peer's middlebox-compat ChangeCipherSpec from now on. */
  allowChangeCipherSpec(allowed: boolean): void {
    this.#ccsAllowed = allowed;
  }

  /** Refuse protected records whose inner plaintext exceeds `limit`, from the record just read on. */
  limitRecordSize(limit: number): void {
    this.#recvLimit = limit;
    this.#checkRecordSize();
  }

  /**
   * Process one record: the next one opened natively (or "async" while it is not yet), one to process again
   * after a key change, or the next one off the BIO. `takesCcs`: the state expects a TLS 1.2
   * ChangeCipherSpec, and "changeCipherSpec" says it came.
   */
  read(takesCcs: boolean): ReadResult {
    const head = this.#opening[0];
    if (head) {
      if (!head.result) return "async";
      this.#opening.shift();
      this.#finishOpen(head);
      return "record";
    }
    const again = this.#replay.shift();
    if (again) return this.#process(again, takesCcs);
    const got = this.#frame();
    if (got !== "record") return got;
    if (this.#plainHandshake()) return "record";
    return this.#process(this.#records.take()!, takesCcs);
  }

  /**
   * Frame the next record, pulling bytes off the BIO when none is whole in those read ahead: at most one
   * record's worth at a time, so a run of small records costs one BIO read. "eof" only once the BIO is at its
   * end and no whole record is left (the part of one then is a truncation).
   */
  #frame(): "record" | "want" | "eof" {
    for (;;) {
      if (this.#records.ready()) return "record";
      if (!this.#bio) return "want"; // QUIC: bytes come through provideQuicData()
      const chunk = this.#bio.read(this.#records.room());
      if (chunk.length === 0) return this.#bio.eof ? "eof" : "want";
      this.#records.push(chunk, true); // a BIO's read() gives a fresh array away
    }
  }

  /**
   * The framed record, when it is a plaintext handshake record that `#process` would only hand to the
   * joiner: hand it over from the reader's bytes, with no view and no record object (a peer may send a
   * handshake message 1 byte per record, and each record must stay cheap). Returns whether it did.
   */
  #plainHandshake(): boolean {
    if (this.#prot) return false;
    const next = this.#records.peek()!;
    if (next.type !== ContentType.handshake || next.length === 0 || next.length > MAX_PLAINTEXT) return false;
    this.#lastInner = 0;
    this.#emptyRecords = this.#warningAlerts = 0;
    this.#records.takeInto(this.#joiner);
    return true;
  }

  /** Start opening `rec` natively, then the application data records already read ahead or in the BIO (bounded). */
  #openNative(prot: RecordProtection, rec: RawRecord): void {
    for (;;) {
      const entry: Opening = {
        rec,
        prot,
        result: undefined,
        done: prot.openAsync(rec).then(
          (opened) => void (entry.result = { opened }),
          (error) => void (entry.result = { error }),
        ),
      };
      this.#opening.push(entry);
      if (this.#opening.length >= MAX_IN_FLIGHT || this.#frame() !== "record") return;
      // Anything else waits, framed, for its turn.
      const next = this.#records.peek()!;
      if (next.type !== ContentType.applicationData || !prot.prefersNative(next.length)) return;
      rec = this.#records.take()!;
    }
  }

  /** A natively opened record's turn: deliver it, or, if our key changed meanwhile, open it (and those after) again. */
  #finishOpen(entry: Opening): void {
    if (entry.prot !== this.#prot) {
      this.#replay = [entry.rec, ...this.#opening.map((e) => e.rec), ...this.#replay];
      this.#opening = [];
      return;
    }
    const result = entry.result!;
    if ("error" in result) throw result.error;
    this.#lastInner = result.opened.innerLength;
    this.#checkRecordSize();
    this.#deliver(result.opened.type, result.opened.content);
  }

  #process(rec: RawRecord, takesCcs: boolean): "record" | "changeCipherSpec" {
    if (rec.type === ContentType.changeCipherSpec && takesCcs) {
      // TLS 1.2 (RFC 5246 §7.1): the peer's next records use the new keys; the state knows whether it is time.
      // Anything but the one byte 0x01 is unexpected_message, as in TLS 1.3 (RFC 8446 §5) and OpenSSL.
      if (rec.body.length !== 1 || rec.body[0] !== 1) {
        throw misbehaved(
          "bad_ccs",
          `Cannot accept ChangeCipherSpec: ${rec.body.length} bytes, not the one byte 0x01`,
          "record+5",
        );
      }
      if (this.#joiner.buffered > 0) {
        throw misbehaved(
          "data_across_key_change",
          "Cannot accept ChangeCipherSpec: a handshake message is incomplete",
          "record",
        );
      }
      if (this.#prot && !this.#prot.hidesType) {
        throw misbehaved("unexpected_ccs", "Cannot accept a second ChangeCipherSpec", "record");
      }
      this.#host.emit("message", CHANGE_CIPHER_SPEC.received);
      return "changeCipherSpec";
    }
    if (rec.type === ContentType.changeCipherSpec) {
      // RFC 8446 §5: one byte 0x01, unprotected, between the first ClientHello and the peer's Finished.
      if (!this.#ccsAllowed || rec.body.length !== 1 || rec.body[0] !== 1 || ++this.#ccsSeen > MAX_CCS) {
        throw misbehaved("unexpected_ccs", "Cannot accept ChangeCipherSpec here", "record");
      }
      // RFC 8446 §5.1: not even this record may come between the fragments of a handshake message.
      if (this.#joiner.buffered > 0) throw interleaved();
      this.#host.emit("message", CHANGE_CIPHER_SPEC.received);
      return "record";
    }
    let type = rec.type;
    let content = rec.body;
    this.#lastInner = 0;
    const skipping = this.#skipEarly > 0 && rec.type === ContentType.applicationData;
    // RFC 8446 §5: once this direction reads with a key (early, handshake or application; in TLS 1.2 from the
    // peer's ChangeCipherSpec), every record but the compat ChangeCipherSpec is protected. A plaintext alert
    // then is refused, never taken as the peer's: injected, it would end the connection as a clean close.
    if (this.#prot && !this.#isHelloRefusal(rec)) {
      if (
        !skipping && rec.type === ContentType.applicationData && this.#prot.prefersNative(rec.body.length)
      ) {
        this.#openNative(this.#prot, rec);
        return "record";
      }
      const opened = skipping ? this.#prot.tryOpen(rec) : this.#prot.open(rec);
      if (!opened) return this.#dropRejectedEarly(rec.body.length);
      // The first record that decrypts ends the rejected early data.
      if (skipping) this.#skipEarly = 0;
      ({ type, content } = opened);
      this.#lastInner = opened.innerLength;
      this.#checkRecordSize();
    } else if (skipping) {
      return this.#dropRejectedEarly(rec.body.length);
    } else if (rec.type === ContentType.applicationData) {
      throw misbehaved(
        "unprotected_data",
        "Cannot accept application data before keys are established",
        "record",
      );
    } else if (content.length > MAX_PLAINTEXT) {
      throw misbehaved(
        "record_overflow",
        `Cannot accept record: ${content.length} bytes exceed ${MAX_PLAINTEXT}`,
        "record+3",
      );
    }
    this.#deliver(type, content);
    return "record";
  }

  // RFC 8449 §4: in TLS 1.3 the limit covers the whole inner plaintext, type and padding included.
  #checkRecordSize(): void {
    const limit = this.#recvLimit;
    if (limit !== undefined && this.#lastInner > limit) {
      throw misbehaved(
        "record_size_limit",
        `Cannot accept record: ${this.#lastInner} bytes exceed our record_size_limit ${limit}`,
        "record",
        "record_overflow",
      );
    }
  }

  /**
   * The one plaintext record a TLS 1.3 server takes once it reads with a key: the client's fatal alert refusing
   * our ServerHello, sent before the client had keys of its own (as OpenSSL's ENC_READ_STATE_ALLOW_PLAIN_ALERTS),
   * and only until a record opens under the handshake key. The connection ends either way. A close_notify or a
   * warning never passes here (it would end the handshake cleanly), nor anything while rejected 0-RTT is
   * skipped (the client writes with its early key then).
   */
  #isHelloRefusal(rec: RawRecord): boolean {
    return this.#helloRefusable && this.#prot!.seq === 0 && rec.type === ContentType.alert &&
      rec.body.length === 2 && rec.body[0] === AlertLevel.fatal &&
      rec.body[1] !== AlertDescription.close_notify && rec.body[1] !== AlertDescription.user_canceled;
  }

  /** Hand a record's content (opened, or plaintext) to where its type goes. */
  #deliver(type: number, content: Uint8Array): void {
    // RFC 8446 §5.1: handshake messages must not be interleaved with other record types.
    if (this.#joiner.buffered > 0 && type !== ContentType.handshake) throw interleaved();
    switch (type) {
      case ContentType.handshake:
        if (content.length === 0) {
          throw misbehaved("empty_handshake_record", "Cannot accept an empty handshake record", "record");
        }
        this.#emptyRecords = this.#warningAlerts = 0;
        this.#joiner.push(content);
        return;
      case ContentType.alert:
        return this.#receiveAlert(content);
      case ContentType.applicationData:
        if (!this.#host.handshakeDone && this.early?.open) return this.#receiveEarly(content);
        if (!this.#host.handshakeDone) {
          throw misbehaved(
            "early_application_data",
            "Cannot accept application data before the handshake is done",
            "record",
          );
        }
        if (content.length === 0) {
          if (++this.#emptyRecords > MAX_EMPTY_RECORDS) {
            throw misbehaved("too_many_empty_records", "Cannot accept more empty records", "record");
          }
          return;
        }
        this.#emptyRecords = this.#warningAlerts = 0;
        this.#plain = content;
        this.#plainOff = 0;
        return;
      default:
        throw misbehaved("bad_content_type", `Cannot accept inner content type ${type}`, "record");
    }
  }

  /**
   * RFC 8446 §4.2.10: a server that rejects 0-RTT skips the client's early records (those that do not
   * decrypt with the handshake key, or come before any key after a HelloRetryRequest), up to a budget.
   */
  #dropRejectedEarly(length: number): "record" {
    this.#skipEarly -= length;
    if (this.#skipEarly < 0) {
      throw misbehaved("too_much_early_data", "Cannot accept more rejected early data", "record");
    }
    return "record";
  }

  #receiveEarly(content: Uint8Array): void {
    const e = this.early!;
    e.left -= content.length;
    if (e.left < 0) {
      // RFC 8446 §4.2.10: more than max_early_data_size.
      throw misbehaved(
        "too_much_early_data",
        "Cannot accept early data beyond max_early_data_size",
        "record",
      );
    }
    if (content.length > 0) e.chunks.push(content);
  }

  #receiveAlert(content: Uint8Array): void {
    // RFC 8446 §5.1, RFC 5246 §6.2.1: no zero-length alert fragments (even padded): unexpected_message, as
    // OpenSSL answers; any other length than 2 does not decode.
    if (content.length === 0) {
      throw misbehaved("empty_alert_record", "Cannot accept an empty alert record", "record");
    }
    if (content.length !== 2) {
      throw invalidMessage("bad_alert", `Cannot decode alert: ${content.length} bytes instead of 2`, "Alert");
    }
    const level = content[0]!;
    const desc = content[1]!;
    const host = this.#host;
    host.emit("alert", {
      direction: "received",
      level: level === AlertLevel.warning ? "warning" : "fatal",
      name: alertName(desc),
      description: desc,
    });
    if (desc === AlertDescription.close_notify) {
      if (host.role === "server" && !host.helloSeen) {
        // OpenSSL: a close_notify before any ClientHello is an unexpected message, not a clean end.
        throw misbehaved(
          "close_notify_before_hello",
          "Cannot accept close_notify: no ClientHello came before it",
          "Alert",
        );
      }
      this.closeReceived = true;
      if (!host.handshakeDone) {
        this.closedInHandshake = alertReceived(
          "close_notify",
          "The peer closed the connection (close_notify) during the handshake",
          host.where,
        );
      }
      host.emit("peerclosed", undefined);
      return;
    }
    if (
      desc === AlertDescription.user_canceled || (level === AlertLevel.warning && host.version === 0x0303)
    ) {
      // TLS 1.2 (RFC 5246 §7.2): a warning alert (no_renegotiation, say) does not end the connection.
      if (++this.#warningAlerts <= LIMITS.maxWarningAlertsInRow) return;
      throw misbehaved("too_many_warning_alerts", "Cannot accept more warning alerts in a row", "Alert");
    }
    // RFC 8446 §6: every other alert ends the connection, whatever its level.
    const name = isKnownAlert(desc) ? (alertName(desc) as AlertName) : "unknown";
    throw alertReceived(name, `The peer sent a fatal alert: ${alertName(desc)}`, host.where);
  }
}

/** RFC 8446 §5.1: a record of another type while a handshake message is incomplete. */
function interleaved(): TlsError {
  return misbehaved(
    "interleaved_handshake",
    "Cannot accept record: a handshake message is incomplete",
    "record",
  );
}
