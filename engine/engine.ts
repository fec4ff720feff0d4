/**
 * The single driver (rustls' ConnectionCommon, OpenSSL's SSL object): `doHandshake`, `read`, `write`,
 * `shutdown` and `getError`, over one half of a BIO pair. It never touches a socket, timer or file. One
 * try/catch turns every fault into a sticky {@link TlsError}, sends its alert once, and returns -1.
 *
 * The driver holds the handshake state and the API's bookkeeping; it hands messages to states in one place
 * (`#handleNext`) and asks states what they can do rather than which they are. What a connection knows lives
 * in {@link Connection} (context.ts), the records' rules in record/inbound.ts and record/outbound.ts, and
 * building an engine from a configuration in create.ts.
 * @module
 */

import type { Bio } from "../bio/bio.ts";
import type { QuicLevel } from "./quic.ts";
import { AlertDescription, AlertLevel } from "./alert.ts";
import { SslError, type SslErrorCode } from "./codes.ts";
import type { Normalized } from "./config.ts";
import { Connection } from "./context.ts";
import { messageInfo } from "./message_info.ts";
import { LIMITS } from "./limits.ts";
import { asTlsError, errorGroup, type LocalError, localFault, type TlsError, truncated } from "./errors.ts";
import type { HandshakeInfo } from "./events.ts";
import { ContentType } from "./msgs/enums.ts";
import { type EarlyDriver, readEarlyData, writeEarlyData } from "./early_data.ts";
import { type QuicDriver, QuicFeed } from "./quic_feed.ts";
import type { Inbound } from "./record/inbound.ts";
import type { Outbound } from "./record/outbound.ts";
import type { Context, State, Step } from "./state.ts";
import { type PendingWrite, pendingWrite, refuseWhileWriting, retriedBytes } from "./write_retry.ts";

/** Output the engine may queue beyond the BIO before it stops reading (KeyUpdate answers, a flight). */
const MAX_QUEUED_OUTPUT = LIMITS.maxQueuedOutput;
/** Records sealed under one key before we update it ourselves (RFC 8446 §5.5: AES-GCM ≤ 2^24.5). */
const KEY_UPDATE_AFTER = LIMITS.keyUpdateAfterRecords;

/**
 * A TLS endpoint over one half of a BIO pair, with OpenSSL's return-value contract.
 *
 * Every call returns a number: `> 0` success, `0` a controlled end, `< 0` see `getError(ret)`. It never
 * throws for anything the peer does; a protocol failure is a sticky {@link TlsError} in `error`.
 */
export class TlsEngine extends EventTarget {
  /** QUIC mode (RFC 9001 §4): handshake bytes by encryption level instead of records. */
  readonly #quic: QuicFeed | undefined;
  readonly #cx: Connection;
  /** The connection's two record-layer halves, used at every turn. */
  readonly #in: Inbound;
  readonly #out: Outbound;
  readonly #listened = new Set<string>();
  #start: ((cx: Context) => Step) | undefined;
  #state: State | undefined;
  #pending: Promise<void> | undefined;
  /** What `getError()` says while `#pending` waits: WANT_ASYNC, or the callback being waited on. */
  #pendingReason: SslErrorCode = SslError.WANT_ASYNC;
  #error: TlsError | undefined;
  #lastLocal: TlsError | undefined;
  #reason: SslErrorCode = SslError.NONE;
  #retryVerify: ((verdict: boolean) => Step) | undefined;
  /** A write() that returned WANT_WRITE (write_retry.ts checks the retry against it). */
  #pendingWrite: PendingWrite | undefined;
  /** Our last handshake flight reached the BIO: from then on doHandshake() is 1, whatever the BIO holds. */
  #handshakeFlushed = false;
  #closeSent = false;

  /** @internal Use {@link createClient} or {@link createServer}. */
  constructor(
    bio: Bio | undefined,
    role: "client" | "server",
    cfg: Normalized,
    start: (cx: Context) => Step,
  ) {
    super();
    this.#cx = new Connection({
      role,
      cfg,
      bio,
      events: this,
      listened: this.#listened,
      where: () => this.#state?.name ?? "",
    });
    this.#in = this.#cx.inbound;
    this.#out = this.#cx.outbound;
    this.#start = start;
    this.#quic = cfg.quic ? new QuicFeed(this.#cx, this.#hooks) : undefined;
    if (role === "server") this.#begin();
  }

  /** "client" or "server". */
  get role(): "client" | "server" {
    return this.#cx.role;
  }

  /** True once the handshake has completed. */
  get isHandshakeDone(): boolean {
    return this.#cx.info !== undefined;
  }

  /** What the handshake negotiated, once it is done. */
  get handshakeInfo(): HandshakeInfo | undefined {
    return this.#cx.info;
  }

  /**
   * The fatal error, or the last local (API misuse) error; undefined if none. After the peer's close_notify
   * during the handshake (`doHandshake()` 0), an `alert_received.close_notify` error says so.
   */
  get error(): TlsError | undefined {
    return this.#error ?? this.#lastLocal ?? this.#in.closedInHandshake;
  }

  /** The certificate chain the peer presented (DER, leaf first), as soon as it arrived; empty before. */
  get peerCertificates(): readonly Uint8Array[] {
    return this.#cx.peerChain;
  }

  /**
   * Give the verdict on the peer's chain after WANT_RETRY_VERIFY (`retryVerify` option), then call the
   * engine again. Returns 1, or -1 if no verdict was awaited (a local error).
   */
  setVerifyResult(ok: boolean): number {
    return this.#guard(() => {
      const resume = this.#retryVerify;
      if (!resume) {
        return this.#refuse("no_verify_pending", "Cannot set a verify result: none is awaited");
      }
      this.#retryVerify = undefined;
      try {
        this.#apply(resume(ok));
      } catch (e) {
        // A refusal shows on the next call, with its alert, as any other handshake failure.
        this.#cx.deferred = e;
      }
      return 1;
    }, true);
  }

  /** Bytes sealed by the engine but not yet accepted by the BIO (at most about one record). */
  get pendingOutput(): number {
    return this.#out.pending;
  }

  /** Plaintext bytes already decrypted and waiting for `read()`. */
  get pendingPlaintext(): number {
    return this.#in.plaintext;
  }

  /**
   * Decrypted application data waiting for `read()` (SSL_pending): what the last record held and has not
   * been read. Bytes still in the BIO are not counted.
   *
   * @returns The byte count.
   */
  pending(): number {
    return this.pendingPlaintext;
  }

  /**
   * Whether the engine holds data it took from the BIO and has not handed over (SSL_has_pending): decrypted
   * bytes, or part of a record not yet processed.
   *
   * @returns True when a `read()` may find data without the BIO giving more.
   */
  hasPending(): boolean {
    return this.pendingPlaintext > 0 || this.#in.buffered > 0;
  }

  /**
   * Why the last call returned `ret` (SSL_get_error): NONE for `ret > 0`, otherwise WANT_READ, WANT_WRITE,
   * WANT_ASYNC, WANT_CLIENT_HELLO_CB, WANT_X509_LOOKUP, WANT_RETRY_VERIFY, ZERO_RETURN, SSL or SYSCALL.
   */
  getError(ret: number): SslErrorCode {
    if (ret > 0) return SslError.NONE;
    return this.#reason;
  }

  /**
   * A promise that settles when the pending crypto, verification or session store (a server's ticket store,
   * session id store or replay register) is done, or the next record sealed or opened natively is (never
   * rejects).
   */
  asyncWait(): Promise<void> {
    if (this.#pending) return this.#pending;
    const heads = [this.#out.nextSealed(), this.#in.nextOpened()].filter((p) => p !== undefined);
    return heads.length > 0 ? Promise.race(heads) : Promise.resolve();
  }

  /**
   * Drive the handshake (SSL_do_handshake): 1 when done, 0 if the peer closed it cleanly, -1 otherwise
   * (see `getError`).
   */
  doHandshake(): number {
    return this.#guard(() => this.#quic ? this.#quic.run() : this.#handshake(true));
  }

  /**
   * Read decrypted application data into `buf` (SSL_read). Returns the byte count, 0 at the peer's
   * close_notify (ZERO_RETURN), or -1 (see `getError`). Drives the handshake first if needed. With a provider
   * that opens records natively it may say WANT_ASYNC while records (up to four, read ahead from the BIO) are
   * being opened; they are delivered in order.
   */
  read(buf: Uint8Array): number {
    return this.#guard(() => this.#read(buf, true));
  }

  /**
   * Like `read()`, but the bytes stay to be read again (SSL_peek): the same return values, and what it
   * returns is what the next `read()` of the same size returns.
   */
  peek(buf: Uint8Array): number {
    return this.#guard(() => this.#read(buf, false));
  }

  /** SSL_read and SSL_peek: the next decrypted bytes into `buf`, consumed when `consume`. */
  #read(buf: Uint8Array, consume: boolean): number {
    const hs = this.#handshake(false);
    if (hs !== 1) return hs;
    for (;;) {
      if (this.#in.plaintext > 0) {
        const n = this.#in.readPlaintext(buf, consume);
        // OpenSSL: 0 bytes asked with data waiting is 0, with SSL_get_error's SYSCALL (nothing went wrong).
        if (n === 0) return this.#want(SslError.SYSCALL, 0);
        this.#out.flush();
        return n;
      }
      if (this.#in.closeReceived) return this.#want(SslError.ZERO_RETURN, 0);
      this.#out.flush();
      if (this.pendingOutput > MAX_QUEUED_OUTPUT) return this.#want(SslError.WANT_WRITE);
      const got = this.#advance();
      if (got !== "record") return this.#noRecord(got, 0);
    }
  }

  /**
   * Encrypt and send `data` (SSL_write). All or nothing, as OpenSSL by default: returns `data.length` once
   * every byte is sealed and in the BIO, or -1 (see `getError`). After WANT_WRITE, call again with the very
   * same array (the bytes already taken are not taken twice) until it returns the count: a retry with
   * another array fails with `local.bad_write_retry` unless `acceptMovingWriteBuffer` is set, and one with
   * fewer bytes than were taken with `local.bad_length`, as OpenSSL's. With `partialWrites`
   * (SSL_MODE_ENABLE_PARTIAL_WRITE) it returns the count so far as soon as a record is in the BIO. A write of
   * 0 bytes returns 0. With a provider that seals records natively (`webCryptoProvider`, AES-GCM, records of
   * 2 KiB and more) it may say WANT_ASYNC while several records are sealed at once: `await asyncWait()`, then
   * call again with the same data.
   */
  write(data: Uint8Array): number {
    return this.#guard(() => {
      const hs = this.#handshake(false);
      if (hs !== 1) return hs;
      if (this.#closeSent) {
        return this.#refuse("write_after_shutdown", "Cannot write: shutdown() already sent close_notify");
      }
      const retry = this.#pendingWrite !== undefined;
      let taken = retriedBytes(this.#pendingWrite, data, this.#cx.cfg.acceptMovingWriteBuffer);
      this.#pendingWrite = undefined;
      const pause = (): number => {
        this.#pendingWrite = pendingWrite(data, taken);
        return this.#wantFlush();
      };
      if (!this.#out.flush()) return pause();
      if (data.length === 0) return this.#want(SslError.SYSCALL, 0); // OpenSSL: 0, and SSL_get_error says SYSCALL
      if (retry && taken === data.length) return taken;
      while (taken < data.length) {
        const n = Math.min(this.#out.maxFragment, data.length - taken);
        this.#sealApplication(data.subarray(taken, taken + n));
        taken += n;
        if (!this.#out.flush()) {
          // A native AEAD seals several records at once; the bytes count once they are all in the BIO.
          const next = Math.min(this.#out.maxFragment, data.length - taken) + 256;
          const more = !this.#out.waitsForBio &&
            this.#out.sealing * (this.#out.maxFragment + 256) + next <= MAX_QUEUED_OUTPUT;
          if (more && taken < data.length) continue;
          return pause();
        }
        if (this.#cx.cfg.partialWrites) return taken;
      }
      return taken;
    });
  }

  /**
   * Send close_notify and wait for the peer's (SSL_shutdown): 0 once ours is sent and the peer's has not
   * come, 1 when both are done, -1 otherwise (WANT_WRITE, WANT_READ, or SSL). As OpenSSL: before the
   * handshake is done it sends nothing and fails with `local.shutdown_while_in_init` (the connection goes
   * on); application data arriving once ours is sent fails the connection (`local.application_data_after_close`)
   * on the next call, since nobody will read it. `read()` still returns data that came before.
   */
  shutdown(): number {
    return this.#guard(() => {
      if (!this.#cx.info && !this.#in.closeReceived) {
        return this.#refuse(
          "shutdown_while_in_init",
          "Cannot shut down: the handshake is not done (nothing was sent)",
        );
      }
      refuseWhileWriting(this.#pendingWrite, this.#out.waitsForBio);
      let justSent = false;
      if (!this.#closeSent) {
        this.#cx.sendAlert(AlertDescription.close_notify, AlertLevel.warning);
        this.#closeSent = true;
        justSent = true;
      }
      if (!this.#out.flush()) return this.#wantFlush();
      if (this.#in.closeReceived) return 1;
      // OpenSSL: SSL_get_error says SYSCALL for this 0 (nothing went wrong; its error queue is empty).
      if (justSent) return this.#want(SslError.SYSCALL, 0);
      // Wait for the peer's close_notify; application data now has no reader (OpenSSL 3 fails it too).
      for (;;) {
        if (this.#in.closeReceived) return 1;
        if (this.#in.plaintext > 0) {
          throw localFault(
            "application_data_after_close",
            "Cannot shut down: application data arrived after our close_notify (read it before shutting down)",
          );
        }
        const got = this.#advance();
        if (got !== "record") return this.#noRecord(got);
      }
    });
  }

  /**
   * Send a KeyUpdate (RFC 8446 §4.6.3) and move to the next write key; with `requestPeer`, ask the peer
   * to update its key too. Returns 1 when queued, -1 otherwise (see `getError`).
   */
  keyUpdate(requestPeer = false): number {
    return this.#guard(() => {
      if (this.#quic) {
        // RFC 9001 §6: QUIC updates keys itself; TLS KeyUpdate is not used.
        return this.#refuse("quic_key_update", "Cannot send KeyUpdate over QUIC: QUIC updates its own keys");
      }
      if (this.#cx.info && this.#cx.version !== 0x0304) {
        return this.#refuse(
          "key_update_tls12",
          "Cannot update keys: TLS 1.2 has no KeyUpdate (and airlock refuses renegotiation)",
        );
      }
      if (!this.#state?.sendKeyUpdate) {
        return this.#refuse("key_update_before_handshake", "Cannot update keys: the handshake is not done");
      }
      this.#state.sendKeyUpdate(this.#cx, requestPeer);
      this.#out.sealFlight();
      this.#out.flush();
      return 1;
    });
  }

  /**
   * Client: send 0-RTT early data (SSL_write_early_data) with the ClientHello, before the handshake is done.
   * Needs `earlyData: true` and a `session` whose ticket allows it. Returns the bytes accepted (at most what
   * the ticket allows in all), 0 when early data is not possible (no such session, or the ServerHello came),
   * or -1 (see `getError`). Whether the server took it shows in `handshakeInfo.earlyData`; if "rejected",
   * send it again after the handshake.
   */
  writeEarlyData(data: Uint8Array): number {
    return this.#guard(() => writeEarlyData(this.#cx, this.#hooks, data));
  }

  /**
   * Server: read 0-RTT early data (SSL_read_early_data), kept apart from 1-RTT data: the bytes read into
   * `buf`; 0 when there is no more early data (none was accepted, or EndOfEarlyData came and all was read);
   * -1 with WANT_READ (or another reason) while the handshake waits for more. Drives the handshake.
   */
  readEarlyData(buf: Uint8Array): number {
    return this.#guard(() => readEarlyData(this.#cx, this.#hooks, buf));
  }

  /**
   * QUIC (RFC 9001 §4.1.3): hand over handshake bytes the peer sent at encryption `level`, in order, then
   * drive the handshake (or post-handshake messages). Returns what `doHandshake()` would: 1 when the
   * handshake is done, -1 with WANT_READ while it needs more (see `getError`). Bytes at a level other than
   * the one expected are a protocol error. The bytes are always taken: with WANT_ASYNC (the provider is still
   * working) they wait their turn, and `doHandshake()` after `asyncWait()` goes on with them.
   */
  provideQuicData(level: QuicLevel, data: Uint8Array): number {
    const overflow = this.#quic && !this.#error ? this.#quic.take(level, data) : undefined;
    if (overflow) this.#fail(overflow);
    return this.#guard(() => {
      if (!this.#quic) {
        return this.#refuse("not_quic", "Cannot take QUIC data: the engine was not created with quic");
      }
      return this.#quic.run();
    });
  }

  /** QUIC: the handshake bytes to send, each with its encryption level, in order (and forgets them). */
  takeQuicData(): { level: QuicLevel; data: Uint8Array }[] {
    this.#out.sealFlight();
    return this.#out.takeQuic();
  }

  /** QUIC: the peer's quic_transport_parameters (RFC 9001 §8.2), once received. */
  get peerTransportParameters(): Uint8Array | undefined {
    return this.#cx.peerTransportParameters;
  }

  /**
   * Move queued output into the BIO; returns 1 when all of it went, -1 otherwise: WANT_WRITE when the BIO is
   * full, WANT_ASYNC while records are still being sealed natively.
   */
  flush(): number {
    // Moving sealed records is safe at any time, also while crypto is pending or a verdict awaited.
    if (this.#error) return this.#stuck();
    return this.#out.flush() ? 1 : this.#wantFlush();
  }

  // ---- the driver ---------------------------------------------------------------------------------

  /** What the QUIC feed and the early-data calls (quic_feed.ts, early_data.ts) may do to the driver. */
  readonly #hooks: QuicDriver & EarlyDriver = {
    handshake: (untilFlushed) => this.#handshake(untilFlushed),
    handleNext: () => this.#handleNext(),
    begin: () => this.#begin(),
    pending: () => this.#pending !== undefined,
    wantPending: () => this.#want(this.#pendingReason),
    waitsForClientHello: () => this.#state?.waitsForClientHello === true,
    want: (reason, ret) => this.#want(reason, ret),
    refuse: (code, message) => this.#refuse(code, message),
  };

  #guard(fn: () => number, duringRetry = false): number {
    this.#lastLocal = undefined;
    if (this.#error) return this.#stuck();
    // While waiting, what is already sealed still goes out: the peer can work on it meanwhile.
    if (this.#pending) return this.#out.flush(), this.#want(this.#pendingReason);
    if (this.#retryVerify && !duringRetry) {
      return this.#out.flush(), this.#want(SslError.WANT_RETRY_VERIFY);
    }
    try {
      if (this.#cx.deferred !== undefined) {
        const e = this.#cx.deferred;
        this.#cx.deferred = undefined;
        throw e;
      }
      return fn();
    } catch (e) {
      this.#fail(asTlsError(e, this.#state?.name ?? ""));
      return this.#stuck();
    }
  }

  #stuck(): number {
    this.#out.flush();
    return this.#want(SslError.SSL);
  }

  /** A local (API misuse) error that leaves the connection as it was: -1 with SSL. */
  #refuse(code: keyof typeof LocalError, message: string): number {
    this.#lastLocal = localFault(code, message);
    return this.#want(SslError.SSL);
  }

  #want(reason: SslErrorCode, ret = -1): number {
    this.#reason = reason;
    return ret;
  }

  /**
   * Run the handshake as far as it goes. `doHandshake()` reports done only once our last flight is in the
   * BIO (`untilFlushed`); `read()` and `write()` go on as soon as it is done, whatever waits in the queue.
   */
  #handshake(untilFlushed: boolean): number {
    for (;;) {
      if (this.#pending) return this.#out.flush(), this.#want(this.#pendingReason);
      if (this.#retryVerify) return this.#out.flush(), this.#want(SslError.WANT_RETRY_VERIFY);
      if (this.#start) {
        this.#begin();
        continue;
      }
      // Keep reading while our own output waits: with small buffers both peers may be writing at once.
      const flushed = this.#out.flush();
      if (this.#cx.info) {
        // OpenSSL: the handshake is done once its last flight is written; later output does not undo that.
        if (flushed) this.#handshakeFlushed = true;
        return this.#handshakeFlushed || !untilFlushed ? 1 : this.#wantFlush();
      }
      if (this.#in.closeReceived) return this.#want(SslError.ZERO_RETURN, 0);
      if (this.pendingOutput > MAX_QUEUED_OUTPUT) return this.#want(SslError.WANT_WRITE);
      const got = this.#advance();
      if (got === "record") continue;
      if (got === "want" && !flushed) return this.#wantFlush();
      return this.#noRecord(got);
    }
  }

  /** Our output is not all in the BIO: WANT_WRITE while the BIO is full, WANT_ASYNC while records are sealed. */
  #wantFlush(): number {
    return this.#want(this.#out.waitsForBio ? SslError.WANT_WRITE : SslError.WANT_ASYNC);
  }

  /**
   * No record to process: WANT_ASYNC, WANT_READ, or the end of the stream without close_notify. That is
   * OpenSSL 3's "unexpected eof while reading" (SSL, `truncated`, no alert: nobody is there to get one),
   * returned as `eofReturn` (0 from `read()`, -1 elsewhere, as OpenSSL); with `ignoreUnexpectedEof` after the
   * handshake, a clean end (0, ZERO_RETURN).
   */
  #noRecord(got: "want" | "eof" | "async", eofReturn = -1): number {
    if (got === "async") return this.#out.flush(), this.#want(SslError.WANT_ASYNC);
    if (got === "want") return this.#want(SslError.WANT_READ);
    if (this.#cx.cfg.ignoreUnexpectedEof && this.#cx.info) {
      this.#in.closeReceived = true;
      return this.#want(SslError.ZERO_RETURN, 0);
    }
    this.#fail(
      truncated(
        "Cannot read: unexpected eof while reading (the transport ended without close_notify)",
        this.#state?.name ?? "",
      ),
    );
    this.#out.flush();
    return this.#want(SslError.SSL, this.#cx.info ? eofReturn : -1);
  }

  /**
   * Move the input on by one step, the one step every loop takes: a whole handshake message to the state,
   * else one record in. "record" when something moved.
   */
  #advance(): "record" | "want" | "eof" | "async" {
    return this.#handleNext() ? "record" : this.#readRecord();
  }

  /** Hand the next whole handshake message to the state: the one place messages go in. False when none is whole. */
  #handleNext(): boolean {
    const m = this.#in.takeMessage();
    if (!m) return false;
    if (this.#cx.listening("message")) this.#cx.emit("message", messageInfo("received", m.raw));
    this.#apply(this.#state!.handle(this.#cx, m));
    return true;
  }

  /** Run the first state's setup (the client builds its ClientHello, perhaps waiting on its key shares). */
  #begin(): void {
    const start = this.#start;
    this.#start = undefined;
    if (start) this.#apply(start(this.#cx));
  }

  #apply(step: Step): void {
    this.#out.sealFlight();
    if ("handle" in step) {
      this.#state = step;
      return;
    }
    if ("retryVerify" in step) {
      this.#retryVerify = step.retryVerify;
      return;
    }
    this.#pendingReason = step.waitingFor ?? SslError.WANT_ASYNC;
    this.#pending = step.pending.then(
      (next) => {
        this.#pending = undefined;
        try {
          this.#apply(next);
        } catch (e) {
          this.#cx.deferred = e;
        }
      },
      (e) => {
        this.#pending = undefined;
        this.#out.dropFlight();
        this.#cx.deferred = e;
      },
    );
  }

  #fail(err: TlsError): void {
    this.#error = err;
    this.#pending = undefined;
    // Work in flight is dropped: its results arrive into arrays no longer ours.
    this.#out.drop();
    this.#in.drop();
    const alert = err.alertDescription;
    if (alert === undefined || errorGroup(err.code) === "alert_received") return;
    try {
      this.#cx.sendAlert(alert, AlertLevel.fatal);
    } catch {
      // Nothing more can be done for the peer; the error stands.
    }
  }

  /** Process one record; a TLS 1.2 ChangeCipherSpec goes to the state that expects it. */
  #readRecord(): "record" | "want" | "eof" | "async" {
    const got = this.#in.read(this.#state?.changeCipherSpec !== undefined);
    if (got !== "changeCipherSpec") return got;
    this.#apply(this.#state!.changeCipherSpec!(this.#cx));
    return "record";
  }

  // ---- writing ------------------------------------------------------------------------------------

  #sealApplication(data: Uint8Array): void {
    const prot = this.#out.prot;
    if (prot && prot.seq >= KEY_UPDATE_AFTER && this.#state?.sendKeyUpdate) {
      this.#state.sendKeyUpdate(this.#cx, false);
      this.#out.sealFlight();
    }
    this.#out.record(ContentType.applicationData, data);
  }

  /**
   * Listen for an event (see `on()` for the typed way). The engine remembers which event types have ever had
   * a listener: the others are not built at all (a key log line is two hex strings, every event an object).
   */
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: AddEventListenerOptions | boolean,
  ): void {
    this.#listened.add(type);
    super.addEventListener(type, listener, options);
  }
}
