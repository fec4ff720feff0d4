/**
 * Typed engine events. The engine is an EventTarget; `on(engine, "handshake", (e) => …)` gives the
 * event's `detail` its type.
 * @module
 */

import type { TlsSession } from "./session.ts";

/** What the handshake settled on. */
export interface HandshakeInfo {
  /** The protocol version: "TLSv1.3" or "TLSv1.2". */
  readonly version: "TLSv1.3" | "TLSv1.2";
  /** The cipher suite name, e.g. "TLS_AES_128_GCM_SHA256". */
  readonly cipherSuite: string;
  /**
   * The key exchange group name, e.g. "x25519"; "none" for a resumed TLS 1.2 session or an external PSK in
   * psk_ke mode (no key exchange).
   */
  readonly group: string;
  /** The negotiated ALPN protocol, if any. */
  readonly alpn: string | undefined;
  /** The SNI host name the client sent, if any (lower case; A-labels for an internationalized name). */
  readonly serverName: string | undefined;
  /**
   * The signature scheme the server signed with (TLS 1.3 CertificateVerify, TLS 1.2 ServerKeyExchange);
   * undefined in a resumption (no certificates).
   */
  readonly signatureScheme: string | undefined;
  /** Whether the session was resumed: a ticket (TLS 1.3 PSK with (EC)DHE; TLS 1.2 RFC 5077) or a TLS 1.2 session id. */
  readonly resumed: boolean;
  /**
   * 0-RTT: "accepted" (the server took the early data), "rejected" (it did not: the client must send that
   * data again), or undefined when none was offered.
   */
  readonly earlyData?: "accepted" | "rejected";
  /** TLS 1.2: whether the extended master secret (RFC 7627) was used; always true for TLS 1.3. */
  readonly extendedMasterSecret?: boolean;
  /**
   * The external PSK the handshake used (RFC 8446 §2.2), with its identity and key exchange mode; undefined
   * when none was (a certificate handshake or a ticket resumption). No certificates are sent with one.
   */
  readonly externalPsk?: { readonly identity: Uint8Array; readonly mode: "psk_dhe_ke" | "psk_ke" };
  /** Whether a HelloRetryRequest took place. */
  readonly helloRetry: boolean;
  /**
   * Encrypted Client Hello: "accepted" (the server used the encrypted inner ClientHello), "grease" (a client
   * that sent a GREASE extension), "rejected" (a server that could not decrypt the client's extension, or it
   * was GREASE); undefined when no `encrypted_client_hello` was sent. A client whose real offer is rejected
   * never completes: it fails with `EchRejectedError`.
   */
  readonly ech?: "accepted" | "rejected" | "grease";
  /** The peer's certificate chain, DER, leaf first (empty for a client that sent none, or a raw public key). */
  readonly peerCertificates: readonly Uint8Array[];
  /** "RawPublicKey" when the peer authenticated with a raw public key (RFC 7250); absent otherwise. */
  readonly peerCertificateType?: "RawPublicKey";
  /** The peer's raw public key (DER SubjectPublicKeyInfo), when `peerCertificateType` is "RawPublicKey". */
  readonly peerRawPublicKey?: Uint8Array;
}

/** An alert, sent or received. */
export interface AlertInfo {
  /** Whether we sent it or the peer did. */
  readonly direction: "sent" | "received";
  /** Its level (every alert but close_notify and user_canceled is fatal in TLS 1.3). */
  readonly level: "warning" | "fatal";
  /** The RFC name, e.g. "close_notify". */
  readonly name: string;
  /** The AlertDescription number, e.g. 0 for close_notify. */
  readonly description: number;
}

/** New traffic secrets for one direction (for QUIC-style embedding and debugging). */
export interface SecretsInfo {
  /** Whether it protects what we read or what we write. */
  readonly direction: "read" | "write";
  /** The epoch it opens (RFC 8446 §7.1; in QUIC, the encryption level). */
  readonly level: "early" | "handshake" | "application";
  /** The cipher suite it is for, e.g. "TLS_AES_128_GCM_SHA256". */
  readonly cipherSuite: string;
  /** The traffic secret (key material: handle with care). */
  readonly secret: Uint8Array;
}

/**
 * A handshake message or ChangeCipherSpec as it goes out or comes in (like `openssl s_client -msg`): its
 * name (`ClientHello`, `HelloRetryRequest`, `ChangeCipherSpec`, …), type number and length, header excluded.
 * Alerts have their own event.
 */
export interface MessageInfo {
  /** Whether we sent it or the peer did. */
  readonly direction: "sent" | "received";
  /** The record content type it travels in. */
  readonly contentType: "handshake" | "change_cipher_spec";
  /** The HandshakeType (a HelloRetryRequest is a server_hello, 2); 1 for ChangeCipherSpec. */
  readonly type: number;
  /** Its name, e.g. "ClientHello", "HelloRetryRequest", "ChangeCipherSpec". */
  readonly name: string;
  /** Its length in bytes, the 4-byte handshake header excluded. */
  readonly length: number;
  /** For a CompressedCertificate (RFC 8879): its algorithm's name, e.g. "brotli" (hex if unknown). */
  readonly compression?: string;
}

/**
 * A server's session store failed (a {@link TicketStore}, {@link SessionIdStore} or {@link AntiReplay} threw
 * or rejected) and the handshake went on without it, failing closed: what `operation` failed says what was
 * given up.
 * - `redeem` / `lookup`: the ticket or session id was treated as unknown (a full handshake);
 * - `renews`: the resumed TLS 1.2 session gets no new ticket;
 * - `issue`: no ticket was sent (TLS 1.3: no more NewSessionTickets; TLS 1.2: an empty one);
 * - `store`: the TLS 1.2 session id was not kept (it will not resume);
 * - `admit`: the 0-RTT data was refused (the handshake goes on in 1-RTT);
 * - `psk`: the server's `pskLookup` failed: the external PSK identity was treated as unknown.
 */
export interface StoreErrorInfo {
  /** The operation that failed. */
  readonly operation: "redeem" | "lookup" | "renews" | "issue" | "store" | "admit" | "psk";
  /** What the store threw or rejected with. */
  readonly error: unknown;
}

/** The events an engine dispatches, with the type of each `detail`. */
export interface EngineEventMap {
  /** The handshake completed. */
  handshake: HandshakeInfo;
  /** An alert was sent or received. */
  alert: AlertInfo;
  /** A handshake message or ChangeCipherSpec was sent or received (for tracing). */
  message: MessageInfo;
  /** One NSS key log line (SSLKEYLOGFILE format), without a newline. */
  keylog: string;
  /** New traffic secrets were installed. */
  secrets: SecretsInfo;
  /** The peer sent close_notify. */
  peerclosed: undefined;
  /** A NewSessionTicket arrived. */
  ticket: { readonly lifetime: number; readonly ticketLength: number };
  /** A resumable session arrived (client): store `toBytes()`, pass it back as `session` to resume. */
  session: TlsSession;
  /** Certificate verification was turned off for this connection: say it loudly. */
  insecure: string;
  /** Server: a session store failed, and the handshake went on without it (see {@link StoreErrorInfo}). */
  storeerror: StoreErrorInfo;
}

/** An event name. */
export type EngineEventName = keyof EngineEventMap;

/**
 * Listen to one typed engine event.
 *
 * @example Log the negotiated suite
 * ```ts no-assert
 * import { createBioPair, createClient, on } from "@airlock/tls";
 * const { engine: bio } = createBioPair();
 * const client = createClient({ serverName: "example.com", dangerouslyDisableCertificateVerification: true }, bio);
 * on(client, "handshake", (info) => console.log(info.cipherSuite));
 * ```
 *
 * @param target The engine.
 * @param name The event name.
 * @param fn Called with the event's detail.
 * @returns A function that removes the listener.
 */
export function on<K extends EngineEventName>(
  target: EventTarget,
  name: K,
  fn: (detail: EngineEventMap[K]) => void,
): () => void {
  const listener = (e: Event) => fn((e as CustomEvent<EngineEventMap[K]>).detail);
  target.addEventListener(name, listener);
  return () => target.removeEventListener(name, listener);
}
