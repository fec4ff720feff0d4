/**
 * The connection core (rustls' CommonState): what one connection knows apart from its handshake state, and
 * the {@link Context} the states work through. It owns the two halves of the record layer ({@link Inbound},
 * {@link Outbound}), the transcript, the negotiated version, what the handshake learned about the peer, and
 * the events. The engine drives it; states only see it as a Context.
 * @module
 */

import type { Bio } from "../bio/bio.ts";
import { AlertLevel, alertName } from "./alert.ts";
import type { Normalized } from "./config.ts";
import type { EngineEventMap, HandshakeInfo } from "./events.ts";
import { CHANGE_CIPHER_SPEC, messageInfo } from "./message_info.ts";
import { trafficKeys } from "./key_schedule.ts";
import { ContentType } from "./msgs/enums.ts";
import type { QuicLevel } from "./quic.ts";
import { Inbound } from "./record/inbound.ts";
import { MAX_PLAINTEXT, Protection, type RecordProtection } from "./record/layer.ts";
import { Outbound } from "./record/outbound.ts";
import type { Context } from "./state.ts";
import { Transcript } from "./transcript.ts";
import { toHex } from "../suites/bytes.ts";
import type { Tls13Suite } from "../suites/tls13.ts";

/** How a connection is set up, and what it asks of the engine that drives it. */
export interface ConnectionOptions {
  readonly role: "client" | "server";
  readonly cfg: Normalized;
  /** The engine half of a BIO pair; none in QUIC mode. */
  readonly bio: Bio | undefined;
  /** Where events go. */
  readonly events: EventTarget;
  /** The event types that have a listener: the others are never built. */
  readonly listened: ReadonlySet<string>;
  /** The current state's name, for errors (`where`). */
  readonly where: () => string;
}

/** One connection's common state, handed to states as their {@link Context}. */
export class Connection implements Context {
  readonly role: "client" | "server";
  readonly quic: boolean;
  readonly transcript = new Transcript();
  /** The peer's side of the record layer. */
  readonly inbound: Inbound;
  /** Our side of the record layer. */
  readonly outbound: Outbound;
  /** The negotiated protocol version (0x0304 until a TLS 1.2 ServerHello is sent or received). */
  version = 0x0304;
  clientRandom: Uint8Array | undefined;
  /** Client: bytes `writeEarlyData()` may still send (undefined: early data is not open). */
  earlyWrite: number | undefined;
  /** QUIC: the level the peer's handshake bytes must come at (RFC 9001 §4.1.3). */
  quicReadLevel: QuicLevel = "initial";
  /** An error that arrived asynchronously (a native seal, pending crypto): the next call reports it. */
  deferred: unknown;
  #cfg: Normalized;
  #info: HandshakeInfo | undefined;
  #peerChain: readonly Uint8Array[] = [];
  #peerTransportParameters: Uint8Array | undefined;
  readonly #events: EventTarget;
  readonly #listened: ReadonlySet<string>;
  readonly #where: () => string;

  constructor(o: ConnectionOptions) {
    this.role = o.role;
    this.#cfg = o.cfg;
    this.quic = o.cfg.quic !== undefined;
    this.#events = o.events;
    this.#listened = o.listened;
    this.#where = o.where;
    this.outbound = new Outbound(o.role, o.bio, this.quic, (e) => void (this.deferred ??= e));
    this.inbound = new Inbound(this, o.bio, o.cfg.maxHandshakeMessageSize);
  }

  get cfg(): Normalized {
    return this.#cfg;
  }

  /** What the handshake negotiated, once it is done. */
  get info(): HandshakeInfo | undefined {
    return this.#info;
  }

  /** True once the handshake is done: application data may flow. */
  get handshakeDone(): boolean {
    return this.#info !== undefined;
  }

  /** Server: a ClientHello came. */
  get helloSeen(): boolean {
    return this.clientRandom !== undefined;
  }

  /** The current state's name, for errors. */
  get where(): string {
    return this.#where();
  }

  /** The certificate chain the peer presented (leaf first); empty before it came. */
  get peerChain(): readonly Uint8Array[] {
    return this.#peerChain;
  }

  /** QUIC: the peer's quic_transport_parameters, once received. */
  get peerTransportParameters(): Uint8Array | undefined {
    return this.#peerTransportParameters;
  }

  reconfigure(cfg: Normalized): void {
    this.#cfg = cfg;
  }

  sendHandshake(raw: Uint8Array, addToTranscript = true): void {
    if (addToTranscript) this.transcript.add(raw);
    this.outbound.handshake(raw);
    if (this.listening("message")) this.emit("message", messageInfo("sent", raw));
  }

  sendChangeCipherSpec(): void {
    if (this.outbound.ccsSent || this.quic) return;
    this.outbound.changeCipherSpec();
    this.emit("message", CHANGE_CIPHER_SPEC.sent);
  }

  changeWriteCipher(prot: RecordProtection): void {
    this.outbound.changeCipherSpec();
    this.outbound.prot = prot;
    this.emit("message", CHANGE_CIPHER_SPEC.sent);
  }

  changeReadCipher(prot: RecordProtection): void {
    this.inbound.changeReadCipher(prot);
  }

  sendWarning(description: number): void {
    this.sendAlert(description, AlertLevel.warning);
  }

  /** Send an alert after the flight so far, and say so (`alert` event). */
  sendAlert(desc: number, level: number): void {
    this.outbound.sealFlight();
    this.outbound.record(ContentType.alert, Uint8Array.of(level, desc));
    this.emit("alert", {
      direction: "sent",
      level: level === AlertLevel.warning ? "warning" : "fatal",
      name: alertName(desc),
      description: desc,
    });
  }

  setWriteSecret(suite: Tls13Suite, secret: Uint8Array, level: "early" | "handshake" | "application"): void {
    this.outbound.sealFlight();
    if (this.quic) this.outbound.quicLevel = level;
    else this.outbound.prot = this.#protection(suite, secret, level);
    this.emit("secrets", { direction: "write", level, cipherSuite: suite.name, secret });
  }

  resetWriteProtection(): void {
    this.outbound.sealFlight();
    this.outbound.prot = undefined;
    if (this.quic) this.outbound.quicLevel = "initial";
  }

  setReadSecret(suite: Tls13Suite, secret: Uint8Array, level: "early" | "handshake" | "application"): void {
    this.inbound.checkKeyChange();
    if (this.quic) this.quicReadLevel = level;
    this.inbound.setReadKey(this.quic ? undefined : this.#protection(suite, secret, level), level);
    this.emit("secrets", { direction: "read", level, cipherSuite: suite.name, secret });
  }

  /** TLS 1.3 protection for `secret`; at the application level the provider may hold the key natively too. */
  #protection(suite: Tls13Suite, secret: Uint8Array, level: string): Protection {
    const { key, iv } = trafficKeys(suite.hash, secret, suite.aead.keyLen);
    const native = level === "application" ? this.#cfg.provider.aeadKey(suite.aead, key) : undefined;
    return new Protection(suite.aead.importKey(key), iv, native);
  }

  openEarlyWrite(maxSize: number): void {
    this.earlyWrite = maxSize > 0 ? maxSize : undefined;
  }

  acceptEarlyData(maxSize: number): void {
    this.inbound.acceptEarlyData(maxSize);
  }

  endEarlyData(): void {
    this.inbound.endEarlyData();
  }

  skipEarlyData(budget: number): void {
    this.inbound.skipEarlyData(budget);
  }

  keyLog(label: string, secret: Uint8Array, clientRandom = this.clientRandom): void {
    if (!clientRandom || !this.listening("keylog")) return;
    this.emit("keylog", `${label} ${toHex(clientRandom)} ${toHex(secret)}`);
  }

  setMaxFragment(n: number): void {
    this.outbound.maxFragment = Math.max(1, Math.min(MAX_PLAINTEXT, n));
  }

  enforceRecordSizeLimit(limit: number): void {
    this.inbound.limitRecordSize(limit);
  }

  allowChangeCipherSpec(allowed: boolean): void {
    this.inbound.allowChangeCipherSpec(allowed);
  }

  setPeerTransportParameters(params: Uint8Array): void {
    this.#peerTransportParameters = params;
  }

  setPeerChain(chain: readonly Uint8Array[]): void {
    this.#peerChain = chain;
  }

  complete(info: HandshakeInfo): void {
    this.#info = info;
    this.emit("handshake", info);
  }

  /** Whether anyone listens for `name`: events nobody listens for are not built. */
  listening(name: keyof EngineEventMap): boolean {
    return this.#listened.has(name);
  }

  emit<K extends keyof EngineEventMap>(name: K, detail: EngineEventMap[K]): void {
    if (this.listening(name)) this.#events.dispatchEvent(new CustomEvent(name, { detail }));
  }
}
