/**
 * What handshake states are and what they receive: the {@link State} interface (one class per state,
 * used up on transition), the {@link Context} the engine hands them, and helpers both roles share.
 * @module
 */

import type { SslErrorCode } from "./codes.ts";
import type { Normalized } from "./config.ts";
import { misbehaved } from "./errors.ts";
import type { EngineEventMap, HandshakeInfo, StoreErrorInfo } from "./events.ts";
import { handshakeName, HandshakeType } from "./msgs/enums.ts";
import { decodeFinished, type HandshakeMessage } from "./msgs/handshake.ts";
import type { Transcript } from "./transcript.ts";
import type { RecordProtection } from "./record/layer.ts";
import type { Tls13Suite } from "../suites/tls13.ts";
import type { SigningKey } from "../suites/sign.ts";
import { concat, ctEqual, utf8 } from "../suites/bytes.ts";
import { KxError } from "../suites/kx.ts";

/**
 * The next state; or a promise of it while crypto or verification is pending (→ WANT_ASYNC); or a
 * decision the caller must make about the peer's chain (→ WANT_RETRY_VERIFY, resumed by `setVerifyResult`).
 */
export type Step =
  | State
  | {
    readonly pending: Promise<Step>;
    /** What `getError()` says meanwhile (default WANT_ASYNC): WANT_CLIENT_HELLO_CB or WANT_X509_LOOKUP for a callback. */
    readonly waitingFor?: SslErrorCode;
  }
  | { readonly retryVerify: (verdict: boolean) => Step };

/** One handshake state. */
export interface State {
  /** e.g. `client.ExpectServerHello`. */
  readonly name: string;
  /** True once application data may flow. */
  readonly connected?: boolean;
  /** Server: true while the first ClientHello is awaited (it decides whether early data comes). */
  readonly waitsForClientHello?: boolean;
  /** Handle one handshake message. */
  handle(cx: Context, m: HandshakeMessage): Step;
  /**
   * TLS 1.2: the peer's ChangeCipherSpec arrived (RFC 5246 §7.1). Only states that expect one have this;
   * anywhere else a ChangeCipherSpec is unexpected_message (or, in TLS 1.3, the middlebox-compat one).
   */
  changeCipherSpec?(cx: Context): Step;
  /**
   * TLS 1.3, once connected: send a KeyUpdate and move to the next write key (RFC 8446 §4.6.3). Only a state
   * that can update its keys has this; the engine asks for it rather than knowing which state that is.
   */
  sendKeyUpdate?(cx: Context, requestPeer: boolean): void;
}

/** What the engine offers to states (rustls' CommonState). */
export interface Context {
  readonly role: "client" | "server";
  readonly cfg: Normalized;
  readonly transcript: Transcript;
  /** Queue a handshake message (header included) and add it to the transcript. */
  sendHandshake(raw: Uint8Array, addToTranscript?: boolean): void;
  /** Queue the middlebox-compatibility ChangeCipherSpec (at most once per connection). */
  sendChangeCipherSpec(): void;
  /** The negotiated version: 0x0304 (the default) or 0x0303 once TLS 1.2 is chosen. */
  version: number;
  /** TLS 1.2: send ChangeCipherSpec, then protect what follows with `prot`. */
  changeWriteCipher(prot: RecordProtection): void;
  /** TLS 1.2: the peer's ChangeCipherSpec came; open what follows with `prot`. */
  changeReadCipher(prot: RecordProtection): void;
  /** Send a warning alert (TLS 1.2 no_renegotiation). */
  sendWarning(description: number): void;
  /** Install new write protection derived from `secret`. */
  setWriteSecret(suite: Tls13Suite, secret: Uint8Array, level: "early" | "handshake" | "application"): void;
  /** Back to unprotected writes (a ClientHello after a HelloRetryRequest, when 0-RTT keys were in place). */
  resetWriteProtection(): void;
  /** Install new read protection; fails if a handshake message is split across the key change. */
  setReadSecret(suite: Tls13Suite, secret: Uint8Array, level: "early" | "handshake" | "application"): void;
  /** Client: let `writeEarlyData()` send up to `maxSize` bytes under the early key (0 closes it). */
  openEarlyWrite(maxSize: number): void;
  /** Server: application data read under the early key goes to `readEarlyData()`, up to `maxSize` bytes. */
  acceptEarlyData(maxSize: number): void;
  /** Server: EndOfEarlyData arrived; no more early data. */
  endEarlyData(): void;
  /** Server: drop up to `budget` bytes of records that fail to decrypt: 0-RTT data we rejected (RFC 8446 §4.2.10). */
  skipEarlyData(budget: number): void;
  /** The client random, for key log lines. */
  clientRandom: Uint8Array | undefined;
  /** Emit a key log line `LABEL client_random secret` (by default the connection's client random). */
  keyLog(label: string, secret: Uint8Array, clientRandom?: Uint8Array): void;
  /** Bound the records we send (the peer's record_size_limit, minus the content type byte). */
  setMaxFragment(n: number): void;
  /**
   * Refuse protected records whose TLSInnerPlaintext exceeds `limit` (our record_size_limit, once negotiated:
   * RFC 8449 §4), from the record just read on.
   */
  enforceRecordSizeLimit(limit: number): void;
  /** Allow or refuse the peer's middlebox-compat ChangeCipherSpec from now on. */
  allowChangeCipherSpec(allowed: boolean): void;
  /** QUIC mode (RFC 9001): no records, no ChangeCipherSpec, no EndOfEarlyData, no KeyUpdate. */
  readonly quic: boolean;
  /** Record the peer's quic_transport_parameters. */
  setPeerTransportParameters(params: Uint8Array): void;
  /** Record the certificate chain the peer presented (leaf first), for the API and the verifier. */
  setPeerChain(chain: readonly Uint8Array[]): void;
  /** Server: this connection goes on with other settings (the `onClientHello` callback chose them). */
  reconfigure(cfg: Normalized): void;
  /** The handshake is complete. */
  complete(info: HandshakeInfo): void;
  /** Dispatch a typed event. */
  emit<K extends keyof EngineEventMap>(name: K, detail: EngineEventMap[K]): void;
}

/** Require message type `type`, or fail with unexpected_message naming what was expected. */
export function expectMessage(m: HandshakeMessage, type: number | readonly number[], state: string): void {
  const types = typeof type === "number" ? [type] : type;
  if (!types.includes(m.type)) {
    throw misbehaved(
      "unexpected_message",
      `Cannot accept ${handshakeName(m.type)}: expected ${types.map(handshakeName).join(" or ")}`,
      state,
    );
  }
}

/**
 * Take the peer's Finished: it must be a Finished whose verify_data equals `expected` (computed over the
 * transcript so far; compared in constant time), or decrypt_error; then it joins the transcript.
 */
export function acceptFinished(cx: Context, m: HandshakeMessage, expected: Uint8Array, state: string): void {
  expectMessage(m, HandshakeType.finished, state);
  if (!ctEqual(decodeFinished(m.body, expected.length), expected)) {
    throw misbehaved("bad_finished", "Cannot accept Finished: verify_data is wrong", `${state}@Finished`);
  }
  cx.transcript.add(m.raw);
}

/** Go on with `next(value)` at once, or as a pending step (→ WANT_ASYNC) when a provider gave a promise. */
export function andThen<T>(value: T | PromiseLike<T>, next: (value: T) => Step): Step {
  return isPromiseLike(value) ? { pending: Promise.resolve(value).then(next) } : next(value);
}

/**
 * Ask a server's session store (a ticket store, session id store or anti-replay register) for `op`'s answer,
 * then go on with `next`: at once, or as a pending step (→ WANT_ASYNC) when the store gave a promise, as
 * {@link andThen} does for crypto. A store that throws or rejects fails closed: `failed` says how the
 * handshake goes on without it, and a `storeerror` event names the operation. Errors `next` throws are the
 * handshake's own and propagate.
 */
export function askStore<T>(
  cx: Context,
  operation: StoreErrorInfo["operation"],
  op: () => T | PromiseLike<T>,
  next: (value: T) => Step,
  failed: () => Step,
): Step {
  return attempt(op, next, (error) => {
    cx.emit("storeerror", { operation, error });
    return failed();
  });
}

/**
 * `next` with what `op` gives: at once, or as a pending step (→ WANT_ASYNC) when it gives a promise. What `op`
 * throws or rejects with goes to `failed`; what `next` throws propagates.
 */
function attempt<T>(
  op: () => T | PromiseLike<T>,
  next: (value: T) => Step,
  failed: (e: unknown) => Step,
): Step {
  let value: T | PromiseLike<T>;
  try {
    value = op();
  } catch (e) {
    return failed(e);
  }
  return isPromiseLike(value) ? { pending: Promise.resolve(value).then(next, failed) } : next(value);
}

export function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

/**
 * Run a key-exchange operation on the peer's share, then `next` with its result (at once, or after
 * WANT_ASYNC); an invalid share (KxError, thrown or rejected) becomes illegal_parameter naming the message
 * and group.
 */
export function usePeerShare<T>(
  op: () => T | PromiseLike<T>,
  message: string,
  group: string,
  where: string,
  next: (value: T) => Step,
): Step {
  return attempt(op, next, (e) => {
    if (e instanceof KxError) {
      throw misbehaved("bad_key_share", `Cannot accept ${message}: invalid ${group} key share`, where);
    }
    throw e;
  });
}

/**
 * The scheme our `key` signs with, for either role: its most preferred one that the peer offers; PKCS#1 v1.5
 * only in TLS 1.2 (RFC 8446 §4.4.3), where an EC key also signs the other ECDSA hash (`tls12Schemes`).
 */
export function signingScheme(
  key: SigningKey,
  peerSchemes: readonly number[],
  tls12: boolean,
): number | undefined {
  const mine = tls12 ? key.tls12Schemes ?? key.schemes : key.schemes;
  return mine.find((s) => peerSchemes.includes(s) && (tls12 || (s & 0xff) !== 0x01));
}

/** The content a CertificateVerify signs (RFC 8446 §4.4.3). */
export function certificateVerifyContent(role: "server" | "client", transcriptHash: Uint8Array): Uint8Array {
  return concat(
    new Uint8Array(64).fill(0x20),
    utf8(`TLS 1.3, ${role} CertificateVerify`),
    Uint8Array.of(0),
    transcriptHash,
  );
}
