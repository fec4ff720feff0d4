/**
 * Client and server configuration: what callers pass, and the frozen, normalized form the states use.
 * Verification is on by default; turning it off is an explicit, loudly named option.
 * @module
 */

import type { EchClientOptions, EchServerKey } from "./ech/options.ts";
import type { AlertName } from "./alert.ts";
import type { Extension } from "./msgs/extensions.ts";
import { KX_GROUPS, TLS13_SUITES, type Tls13Suite } from "../suites/tls13.ts";
import { TLS12_SUITES, type Tls12Suite, type Tls12SuiteName } from "../suites/tls12.ts";
import type { KxGroup } from "../suites/kx.ts";
import type { Hash } from "../suites/hash.ts";
import type { Aead } from "../suites/aead.ts";
import { type PublicKey, SIG_SCHEMES, type SigningKey, type SigSchemeName } from "../suites/sign.ts";
import { ctEqual } from "../suites/bytes.ts";
import { DerReader, readBitString, readOnly, Tag } from "../suites/der.ts";
import { publicKeyFromCertificate } from "../verify/mod.ts";
import { pemDecode } from "../suites/pem.ts";
import { BoundedCache } from "../suites/cache.ts";
import { type CertCompressor, checkCertCompressors } from "../suites/cert_compression.ts";
import type { CryptoProvider } from "../suites/provider.ts";
import { defaultProvider } from "../suites/default_provider.ts";
import type { ExternalPsk, PskLookup, PskMode } from "./external_psk.ts";
import type { AntiReplay, SessionIdStore, TicketStore, TlsSession } from "./session.ts";
import { MAX_PLAINTEXT } from "./record/layer.ts";
import { LIMITS } from "./limits.ts";

/** A cipher suite name: TLS 1.3, or a TLS 1.2 ECDHE+AEAD suite. */
export type CipherSuiteName = Tls13Suite["name"] | Tls12SuiteName;
/** A protocol version name, as OpenSSL spells it. */
export type VersionName = "TLSv1.2" | "TLSv1.3";
/** A key exchange group name. */
export type GroupName = KxGroup["name"];

/** Options both roles share. */
export interface CommonConfig {
  /** ALPN protocols: for a client, offered in order; for a server, accepted in preference order. */
  readonly alpnProtocols?: readonly string[];
  /**
   * Cipher suites in preference order, TLS 1.3 and TLS 1.2 names mixed as you like (default: the three TLS 1.3
   * suites, then the six TLS 1.2 ECDHE suites: AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305, ECDSA before RSA).
   * Naming no suite of one version turns that version off.
   */
  readonly cipherSuites?: readonly CipherSuiteName[];
  /** The lowest protocol version to speak (default "TLSv1.2"; anything older is always refused). */
  readonly minVersion?: VersionName;
  /** The highest protocol version to speak (default "TLSv1.3"). */
  readonly maxVersion?: VersionName;
  /**
   * TLS 1.2: require the extended master secret (RFC 7627) from the peer, and resume only sessions that
   * used it (default false, as in OpenSSL, BoringSSL, rustls and Go outside FIPS mode: requiring it locks out
   * every TLS 1.2 peer without it). Without it a TLS 1.2 session is open to the triple-handshake attack, so
   * sessions with and without it never resume each other (RFC 7627 §5.3) whatever this says.
   */
  readonly requireExtendedMasterSecret?: boolean;
  /**
   * Key exchange groups in preference order (default: X25519MLKEM768, x25519, secp256r1, secp384r1: the
   * post-quantum hybrid of draft-ietf-tls-ecdhe-mlkem first, as Chrome, Go and OpenSSL 3.5 do).
   */
  readonly groups?: readonly GroupName[];
  /** Signature schemes accepted from the peer, in preference order. */
  readonly signatureSchemes?: readonly SigSchemeName[];
  /** Our record_size_limit (RFC 8449), 64..16385; when set, a client offers it. A server answers a client's offer with it (default 16385). */
  readonly recordSizeLimit?: number;
  /**
   * QUIC mode (RFC 9001 §4): no TLS records; handshake bytes go through `provideQuicData(level, bytes)` and
   * `takeQuicData()`, traffic secrets through the `secrets` event, and `transportParameters` travel in the
   * quic_transport_parameters extension (the peer's: `peerTransportParameters`). ALPN is required.
   */
  readonly quic?: { readonly transportParameters: Uint8Array };
  /** Largest handshake message accepted from the peer, in bytes (default 65536). */
  readonly maxHandshakeMessageSize?: number;
  /**
   * Certificate compression (RFC 8879, TLS 1.3 only), off by default: the algorithms we decompress and
   * compress with, in preference order; `certCompressors()` gives what the runtime has (brotli and zstd
   * where node:zlib has them, zlib everywhere). A client offers them in its ClientHello and accepts a
   * CompressedCertificate; a server compresses its Certificate for a client that offers one of them (the
   * compressed bytes kept per chain), and its CertificateRequest invites the client to compress too. A
   * CompressedCertificate's uncompressed_length may be at most `maxHandshakeMessageSize`; decompression stops
   * there. Off by default because it changes the ClientHello (its fingerprint, and byte-exact tests) and adds
   * a decompressor to what a peer can reach before it is authenticated.
   *
   * @example Offer every algorithm the runtime has
   * ```ts
   * import assert from "node:assert/strict";
   * import { certCompressors, createBioPair, createClient, SslError } from "@airlock/tls";
   * const { engine, network } = createBioPair();
   * const config = { serverName: "example.com", retryVerify: true, certificateCompression: certCompressors() };
   * const client = createClient(config, engine);
   * // A ClientHello offering compress_certificate (WANT_ASYNC first where a key share comes from WebCrypto).
   * let ret = client.doHandshake();
   * while (client.getError(ret) === SslError.WANT_ASYNC) ret = (await client.asyncWait(), client.doHandshake());
   * assert.equal(client.getError(ret), SslError.WANT_READ);
   * assert.ok(network.pending() > 0);
   * ```
   */
  readonly certificateCompression?: readonly CertCompressor[];
  /**
   * Most certificates accepted in the peer's Certificate message, leaf included (default 10, as Java's
   * `jdk.tls.maxCertificateChainLength`: a leaf, 8 intermediates and the root; 1..256). A longer chain is
   * refused with bad_certificate (`certificate.too_many_certificates`) before any of it is parsed or
   * checked, whatever the verification settings.
   */
  readonly maxPeerChainLength?: number;
  /**
   * Most certificate signatures checked while the peer's chain is validated against trust anchors (default
   * 100, as rustls-webpki; 1..10000). Running out fails with certificate_unknown
   * (`certificate.budget_exceeded`). Each check can cost a few milliseconds of CPU, spent before the peer has
   * proved anything: an mTLS server may want it lower.
   */
  readonly maxSignatureChecks?: number;
  /**
   * OpenSSL's `SSL_MODE_ENABLE_PARTIAL_WRITE`: `write()` returns as soon as a record of the data is in the
   * BIO, with the count written so far, instead of the default all-or-nothing (-1 until every byte is in).
   */
  readonly partialWrites?: boolean;
  /**
   * OpenSSL's `SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER`: a `write()` retried after WANT_WRITE may pass the same
   * bytes from another array. By default a retry must pass the very same array (the same buffer and offset),
   * or the connection fails with `local.bad_write_retry`, as OpenSSL's "bad write retry".
   */
  readonly acceptMovingWriteBuffer?: boolean;
  /**
   * OpenSSL's `SSL_OP_IGNORE_UNEXPECTED_EOF`: the end of the stream without close_notify reads as a clean
   * end (0, ZERO_RETURN). By default it is an error (0 from `read()`, -1 during the handshake; SSL, code
   * `truncated`), since an attacker can cut a connection to truncate what it carries.
   */
  readonly ignoreUnexpectedEof?: boolean;
  /**
   * Where the crypto comes from (default: `defaultProvider()`, the fastest the runtime has unless
   * `installDefaultProvider` chose one: `nodeCryptoProvider` on Node, Bun and Deno, `webCryptoProvider` in
   * browsers). Name `nobleProvider` here where runs must be reproducible byte for byte (with `random` and
   * `now` injected).
   */
  readonly provider?: CryptoProvider;
  /**
   * Random bytes source (default: crypto.getRandomValues). Inject for reproducible runs, with `nobleProvider`
   * (WebCrypto draws its own key shares).
   */
  readonly random?: (n: number) => Uint8Array;
  /** Clock in milliseconds since the epoch (default: Date.now). */
  readonly now?: () => number;
}

/** What a client verifier sees. */
export interface PeerVerifyInfo {
  /** The certificate chain as sent, DER, leaf first. */
  readonly chain: readonly Uint8Array[];
  /**
   * The name the client expects, if any: its `serverName` normalized (a DNS name in lower-case A-labels
   * without a trailing dot, or an IP address without brackets).
   */
  readonly serverName: string | undefined;
}

/** Client options. */
export interface ClientConfig extends CommonConfig {
  /**
   * The server's host name: a DNS name, internationalized names included, or an IPv4 or IPv6 address
   * (brackets allowed). A DNS name is sent as SNI (RFC 6066 §3) in A-label form as UTS #46 maps it
   * (`bücher.example` goes out as `xn--bcher-kva.example`), lower-cased and without a trailing dot, and the
   * server's certificate must name it in a dNSName; an IP address is never sent, and must be named in an
   * iPAddress. `createClient` throws a TypeError for a name that is neither (a space, an empty label, …) and
   * a RangeError for a label over 63 octets or a name over 253.
   */
  readonly serverName?: string;
  /**
   * Trust anchors (root certificates: PEM text with one or more CERTIFICATE blocks, or DER): the server's
   * chain must validate to one of them, for `serverName`, at `now()` (RFC 5280 path validation and
   * RFC 9525 name checks, see `verifyCertificateChain`).
   */
  readonly trustAnchors?: readonly (string | Uint8Array)[];
  /**
   * Your own decision about the server's chain (pinning, a platform verifier, a look-up), after the
   * trust-anchor check if there is one. Return or resolve `true` to accept. The CertificateVerify signature
   * and Finished MACs are always checked.
   */
  readonly verifyPeer?: (info: PeerVerifyInfo) => boolean | Promise<boolean>;
  /**
   * Stop after the server's Certificate with WANT_RETRY_VERIFY (OpenSSL 3's `SSL_set_retry_verify`):
   * inspect `engine.peerCertificates`, call `engine.setVerifyResult(ok)`, then call the engine again.
   * Runs after the trust-anchor check and `verifyPeer`, if those are configured.
   */
  readonly retryVerify?: boolean;
  /**
   * The client certificate chain and key, sent when the server asks (mTLS); or a function that picks one
   * from what the server accepts (return undefined to send none). A function may return a promise to look
   * the certificate up late (OpenSSL's client certificate callback): the engine says WANT_X509_LOOKUP until
   * it settles (`await engine.asyncWait()`, then call again).
   */
  readonly clientCertificate?:
    | CertifiedKey
    | ((
      request: CertificateRequestInfo,
    ) => CertifiedKey | undefined | Promise<CertifiedKey | undefined>);
  /**
   * Accept any certificate chain. The CertificateVerify signature still proves the server holds the key
   * of the certificate it sent, but nothing proves who that is. For tests and debugging only: the engine
   * dispatches an `insecure` event when it is used.
   */
  readonly dangerouslyDisableCertificateVerification?: boolean;
  /**
   * A session saved from an earlier connection (the `session` event) to resume: offered when it has not
   * expired, was made for the same `serverName`, and its cipher suite is still offered.
   */
  readonly session?: TlsSession;
  /**
   * Offer 0-RTT early data when `session` allows it (its ticket carried max_early_data_size): the
   * ClientHello carries early_data and `writeEarlyData()` sends data before the handshake completes.
   * `handshakeInfo.earlyData` then says whether the server accepted it; rejected data must be sent again.
   */
  readonly earlyData?: boolean;
  /**
   * How many of `groups` get a key share in the first ClientHello (default 2 when the first group is
   * X25519MLKEM768, so a classical share rides beside the hybrid one, otherwise 1).
   */
  readonly keyShareCount?: number;
  /** Middlebox compatibility mode (RFC 8446 §D.4): a 32-byte legacy_session_id and a dummy ChangeCipherSpec (default true). */
  readonly middleboxCompat?: boolean;
  /** Offer psk_key_exchange_modes (psk_dhe_ke), and in TLS 1.2 an empty session_ticket, so servers send tickets (default true). */
  readonly offerTickets?: boolean;
  /**
   * Send TLS_FALLBACK_SCSV (RFC 7507): say this connection is a retry at a lower `maxVersion` after a failed
   * attempt at a higher one. A server that speaks a higher version then refuses with inappropriate_fallback.
   */
  readonly fallbackScsv?: boolean;
  /**
   * Rewrite the ClientHello extension list before it is sent (order, extra extensions, fingerprint
   * control, tests). The engine's own view of what it offered does not change.
   */
  readonly helloExtensions?: (extensions: Extension[]) => Extension[];
  /**
   * External pre-shared keys to offer (RFC 8446 §2.2), in order, after a resumption `session` if any (at most
   * 8). A server that selects one authenticates with it: no certificates. With `psks` and no way to verify a
   * certificate (no trustAnchors, verifyPeer or retryVerify), the client speaks TLS 1.3 only and fails with
   * handshake_failure unless the server selects one of them.
   */
  readonly psks?: readonly ExternalPsk[];
  /**
   * The PSK key exchange modes offered (default `["psk_dhe_ke"]`: a fresh (EC)DHE exchange beside the PSK,
   * forward secret). `"psk_ke"` (the PSK alone, no forward secrecy) only when listed.
   */
  readonly pskModes?: readonly PskMode[];
  /**
   * Raw public keys (RFC 7250, TLS 1.3 only: set `minVersion: "TLSv1.3"`): offer to take the server's
   * SubjectPublicKeyInfo instead of a certificate chain, accepted only when pinned or when `verifyKey` says so;
   * with `clientKey`, also offer to authenticate with our own raw key. See {@link ClientRawPublicKeys}.
   *
   * @example Pin a server's raw key
   * ```ts no-assert
   * import { createBioPair, createClient } from "@airlock/tls";
   * const serverKeyPem = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";
   * const { engine } = createBioPair();
   * createClient({ minVersion: "TLSv1.3", rawPublicKeys: { pinnedKeys: [serverKeyPem] } }, engine);
   * ```
   */
  readonly rawPublicKeys?: ClientRawPublicKeys;
  /**
   * Encrypted Client Hello (draft-ietf-tls-esni, RFC 9849): `{ configList }` encrypts the real ClientHello
   * (server name, ALPN, everything) to the server's published key, and sends an outer ClientHello to the
   * configuration's public name. `handshakeInfo.ech` says "accepted"; when the server rejects it the handshake
   * is authenticated for the public name and fails with `EchRejectedError`, which carries the server's
   * retry configurations. Without a list, a GREASE extension is sent (default, as browsers do); `{ grease:
   * false }` sends none. Real ECH needs TLS 1.3; the inner ClientHello offers TLS 1.3 only, no 0-RTT.
   */
  readonly ech?: EchClientOptions;
}

/** What a raw public key verifier sees (RFC 7250). */
export interface RawPublicKeyInfo {
  /** The peer's DER SubjectPublicKeyInfo, as sent. */
  readonly spki: Uint8Array;
  /** For a client: its `serverName`, normalized; undefined for a server judging a client. */
  readonly serverName: string | undefined;
}

/**
 * How a peer's raw public key (RFC 7250) is trusted: it is one of `pinnedKeys` (compared byte for byte, in
 * constant time), or `verifyKey` accepts it. At least one of them is required: a raw key is never accepted
 * unchecked. A key that fails is refused with bad_certificate (`certificate.raw_key_not_trusted`).
 */
export interface RawPublicKeyTrust {
  /** Keys to accept: PEM text with `PUBLIC KEY` blocks (as `openssl pkey -pubout` writes) or DER SubjectPublicKeyInfo. */
  readonly pinnedKeys?: readonly (string | Uint8Array)[];
  /** Your own decision about a key that is not pinned; return or resolve `true` to accept. */
  readonly verifyKey?: (info: RawPublicKeyInfo) => boolean | Promise<boolean>;
}

/** A client's raw public key settings (RFC 7250, TLS 1.3 only). */
export interface ClientRawPublicKeys extends RawPublicKeyTrust {
  /**
   * The server certificate types to offer in server_certificate_type, in preference order (default
   * `["RawPublicKey"]`). Add `"X509"` to let a server without raw keys send a certificate chain, which is then
   * verified as usual (`trustAnchors`, `verifyPeer`, …).
   */
  readonly serverTypes?: readonly ("RawPublicKey" | "X509")[];
  /**
   * Our own key, sent as a raw public key when the server asks for a client certificate and chooses
   * RawPublicKey (client_certificate_type offers RawPublicKey first, then X509 if `clientCertificate` is set).
   */
  readonly clientKey?: SigningKey;
}

/** What a server's CertificateRequest asks for. */
export interface CertificateRequestInfo {
  /** Signature schemes the server accepts, by id. */
  readonly signatureSchemes: readonly number[];
  /** DER-encoded distinguished names of the CAs the server trusts, if it sent any. */
  readonly certificateAuthorities: readonly Uint8Array[];
}

/** How a server asks for and judges client certificates (mTLS). */
export interface ClientAuthConfig {
  /** Refuse a client without a certificate (certificate_required); otherwise a client may send none. */
  readonly required?: boolean;
  /** Roots the client's chain must validate to (purpose clientAuth). */
  readonly trustAnchors?: readonly (string | Uint8Array)[];
  /** Your own decision about the client's chain, after the trust-anchor check. */
  readonly verifyPeer?: (info: PeerVerifyInfo) => boolean | Promise<boolean>;
  /** Stop with WANT_RETRY_VERIFY after the client's Certificate; resume with `setVerifyResult`. */
  readonly retryVerify?: boolean;
  /** Send the anchors' subject names in certificate_authorities (default true when anchors are given). */
  readonly sendCertificateAuthorities?: boolean;
  /**
   * Accept clients that authenticate with a raw public key (RFC 7250, TLS 1.3): pinned keys or a callback.
   * Without `trustAnchors`, `verifyPeer` or `retryVerify`, X.509 client chains are refused.
   */
  readonly rawPublicKeys?: RawPublicKeyTrust;
}

/** One certificate chain and its key. */
export interface CertifiedKey {
  /** The chain, leaf first: DER certificates, or PEM text with one or more CERTIFICATE blocks. */
  readonly chain: readonly Uint8Array[] | string;
  /** The leaf's private key (see `loadPrivateKey`). */
  readonly key: SigningKey;
}

/** Server options. */
export interface ServerConfig extends CommonConfig {
  /**
   * Certificate chains; the first one whose key can sign with a scheme the client offers is used. Required,
   * unless the server has external PSKs (`psks` or `pskLookup`; then a client without one of them is refused)
   * or `rawPublicKey` (may be empty then: the server speaks TLS 1.3 only to clients that take raw keys).
   */
  readonly certificates?: readonly CertifiedKey[];
  /**
   * Encrypted Client Hello keys (draft-ietf-tls-esni, RFC 9849), for rotation several: PEM key files as
   * `airlock ech-keygen` writes them, or `{ privateKey, config }`. A client's encrypted ClientHello is opened
   * with the key its config_id names, and the handshake goes on with the inner hello (its server name, ALPN,
   * …); `handshakeInfo.ech` says "accepted". When none opens it (a stale configuration, or GREASE), the
   * handshake goes on with the outer hello and EncryptedExtensions carries retry_configs: every key's
   * configuration unless it is marked `retry: false` (an old key still accepted, no longer advertised).
   * Shared mode only: this server terminates the inner handshake itself.
   */
  readonly echKeys?: readonly EchServerKey[];
  /**
   * External pre-shared keys (RFC 8446 §2.2) the server accepts, by identity; the first identity the client
   * offers that is known here (or to `pskLookup`) is used, its binder checked, and no certificate is sent.
   */
  readonly psks?: readonly ExternalPsk[];
  /**
   * Look up an external PSK by the identity the client offered (after `psks`): the key, or undefined when
   * unknown; it may return a promise (WANT_ASYNC meanwhile).
   */
  readonly pskLookup?: PskLookup;
  /**
   * The PSK key exchange modes accepted with external PSKs, in preference order (default `["psk_dhe_ke"]`).
   * `"psk_ke"` (no (EC)DHE, no forward secrecy) only when listed. Tickets always resume with psk_dhe_ke.
   */
  readonly pskModes?: readonly PskMode[];
  /**
   * Present this key as a raw public key (RFC 7250, TLS 1.3) to clients that offer RawPublicKey in
   * server_certificate_type; other clients get a chain from `certificates`. `spki` (PEM `PUBLIC KEY` or DER)
   * defaults to the key's own SubjectPublicKeyInfo, and must be that key's.
   */
  readonly rawPublicKey?: { readonly key: SigningKey; readonly spki?: string | Uint8Array };
  /** Choose the ALPN protocol from the client's list (overrides `alpnProtocols`); return undefined to refuse. */
  readonly selectAlpn?: (offered: readonly string[]) => string | undefined;
  /**
   * Session tickets (RFC 8446 §4.6.1), on by default: `count` NewSessionTickets after each handshake
   * (default 2), valid `lifetime` seconds (default 7200), kept by `store`: a {@link TicketKeys} (stateless,
   * sealed under a rotating key) or a {@link SessionCache} (server-side, single use), or your own
   * {@link TicketStore}. By default each configuration object gets its own TicketKeys, so reuse one config
   * for all connections. `false` turns tickets and resumption off.
   *
   * A session's authentication lasts `authenticationLifetime` seconds (default and most 604800, 7 days)
   * from the full handshake that made it: tickets issued on resumption keep that time and are cut to what
   * is left, and to the client certificate's notAfter. Tickets resume only under the same client
   * authentication settings and `sessionContext` (see docs/security.md).
   */
  readonly tickets?: false | {
    readonly count?: number;
    readonly lifetime?: number;
    readonly store?: TicketStore;
    readonly authenticationLifetime?: number;
  };
  /**
   * What this server's sessions are bound to beyond its client authentication settings (OpenSSL's
   * `SSL_CTX_set_session_id_context`): tickets and session ids issued under another value are declined
   * with a full handshake. Set it when servers share a ticket store but must not share sessions, or when
   * `clientAuth.verifyPeer` changes what it accepts (a function cannot be compared).
   */
  readonly sessionContext?: string | Uint8Array;
  /**
   * Accept 0-RTT early data (RFC 8446 §2.3) on resumed connections, up to `maxSize` bytes each: tickets
   * then advertise it, and `readEarlyData()` returns it, apart from 1-RTT data. Early data can be replayed
   * by an attacker: only accept it for requests that are safe to repeat. Replays of a ticket within the
   * ticket age window are refused by `antiReplay` (default: a bounded {@link StrikeRegister} per config; a
   * {@link SessionCache} store is single-use already). Servers sharing tickets share their {@link AntiReplay}
   * too (see docs/fleet.md); one that fails refuses the early data.
   */
  readonly earlyData?: { readonly maxSize: number; readonly antiReplay?: AntiReplay };
  /**
   * TLS 1.2 session-id resumption (RFC 5246 §7.3): a full handshake without a ticket gives the client a
   * session id, kept here for `tickets.lifetime` seconds (default: a {@link SessionCache} of 10,000 per
   * configuration object, or a shared {@link SessionIdStore} of your own). `false` gives none;
   * `tickets: false` turns this off too.
   */
  readonly sessionIdCache?: false | SessionIdStore;
  /** Ask for client certificates (mTLS). */
  readonly clientAuth?: ClientAuthConfig;
  /**
   * Send a cookie in HelloRetryRequest and require the client to echo it (default false, as OpenSSL, Go and
   * rustls: each engine keeps its own state between the two ClientHellos, so a cookie proves nothing more).
   */
  readonly helloRetryCookie?: boolean;
  /**
   * Whose order picks the cipher suite among those both support: `"client"` (default, as OpenSSL and rustls
   * do: the client knows whether it has AES hardware) or `"server"` (OpenSSL's SSL_OP_CIPHER_SERVER_PREFERENCE,
   * `s_server -serverpref`): the order of `cipherSuites`.
   */
  readonly cipherSuitePreference?: "client" | "server";
  /** Rewrite the EncryptedExtensions list before it is sent (tests, extra extensions). */
  readonly encryptedExtensions?: (extensions: Extension[]) => Extension[];
  /**
   * OpenSSL's client-hello callback (`SSL_CTX_set_client_hello_cb`), rustls' `Acceptor`: called with the
   * parsed ClientHello before anything is chosen. Return nothing to go on, `{ config }` to serve this
   * connection with other certificates, ALPN, versions, suites, groups, schemes or client authentication, or
   * `{ refuse: alert }` to end the handshake with that alert. Return a promise to decide later: the engine
   * says WANT_CLIENT_HELLO_CB until it settles (`await engine.asyncWait()`, then call again). A callback that
   * throws ends the handshake with internal_error.
   */
  readonly onClientHello?: (hello: ClientHelloInfo) => ClientHelloDecision | Promise<ClientHelloDecision>;
  /**
   * OpenSSL's certificate callback (`SSL_CTX_set_cert_cb`): choose the chains and keys for this connection
   * late, once the version is chosen (they replace `certificates`; undefined keeps them). Return a promise to
   * look them up: the engine says WANT_X509_LOOKUP until it settles (`await engine.asyncWait()`).
   */
  readonly selectCertificate?: (
    info: CertificateSelectInfo,
  ) => readonly CertifiedKey[] | undefined | Promise<readonly CertifiedKey[] | undefined>;
}

/**
 * The ClientHello as a server's `onClientHello` callback sees it, before anything is chosen (OpenSSL's
 * `SSL_client_hello_get*`, rustls' `ClientHello`). Values are as the client sent them.
 */
export interface ClientHelloInfo {
  /** The SNI host name, lower case (A-labels for internationalized names); undefined without SNI. */
  readonly serverName: string | undefined;
  /** ALPN protocols offered, in the client's order. */
  readonly alpnProtocols: readonly string[];
  /** supported_versions in the client's order (wire values: 0x0304 is TLS 1.3), or [legacy_version] without it. */
  readonly versions: readonly number[];
  /** Cipher suite ids in the client's order (signalling values included). */
  readonly cipherSuites: readonly number[];
  /** supported_groups, in the client's order. */
  readonly groups: readonly number[];
  /** The groups the client sent key shares for. */
  readonly keyShareGroups: readonly number[];
  /** signature_algorithms, in the client's order. */
  readonly signatureSchemes: readonly number[];
  /** Every extension, in the order sent, with its body. */
  readonly extensions: readonly Extension[];
  /** legacy_version (0x0303 from a TLS 1.3 client). */
  readonly legacyVersion: number;
  /** The client's 32 random bytes. */
  readonly random: Uint8Array;
  /** legacy_session_id (0 to 32 bytes). */
  readonly sessionId: Uint8Array;
}

/** What a server's `onClientHello` may change for one connection. */
export type ServerOverrides = Partial<
  Pick<
    ServerConfig,
    | "certificates"
    | "alpnProtocols"
    | "selectAlpn"
    | "cipherSuites"
    | "minVersion"
    | "maxVersion"
    | "groups"
    | "signatureSchemes"
    | "clientAuth"
    | "sessionContext"
    | "requireExtendedMasterSecret"
  >
>;

/**
 * A server's `onClientHello` answer: nothing (go on as configured), `{ config }` (this connection uses these
 * settings instead), or `{ refuse: alert }` (the handshake fails with that alert, code
 * `policy.client_hello_refused`).
 */
export type ClientHelloDecision =
  | void
  | undefined
  | { readonly config: ServerOverrides }
  | { readonly refuse: AlertName };

/** What a server's `selectCertificate` callback sees. */
export interface CertificateSelectInfo {
  /** The SNI host name, lower case (A-labels); undefined without SNI. */
  readonly serverName: string | undefined;
  /** signature_algorithms the client offered, in its order. */
  readonly signatureSchemes: readonly number[];
  /** The protocol version chosen: "TLSv1.3" or "TLSv1.2". */
  readonly version: VersionName;
}

/** Options normalized to ids, with defaults. */
export interface Normalized {
  /** TLS 1.3 suites (empty when 1.3 is off). */
  readonly suites: readonly Tls13Suite[];
  /** TLS 1.2 suites (empty when 1.2 is off). */
  readonly suites12: readonly Tls12Suite[];
  /** The protocol versions spoken, as wire values: 0x0303 and/or 0x0304. */
  readonly minVersion: number;
  readonly maxVersion: number;
  readonly requireEms: boolean;
  readonly groups: readonly KxGroup[];
  readonly schemes: readonly number[];
  readonly alpn: readonly string[];
  readonly recordSizeLimit: number | undefined;
  readonly maxHandshakeMessageSize: number;
  readonly maxPeerChainLength: number;
  readonly maxSignatureChecks: number;
  /** Certificate compression algorithms (RFC 8879), in preference order; empty: off. */
  readonly certCompressors: readonly CertCompressor[];
  readonly quic: { readonly transportParameters: Uint8Array } | undefined;
  readonly random: (n: number) => Uint8Array;
  readonly now: () => number;
  readonly provider: CryptoProvider;
  /** OpenSSL's modes and options (see `CommonConfig`). */
  readonly partialWrites: boolean;
  readonly acceptMovingWriteBuffer: boolean;
  readonly ignoreUnexpectedEof: boolean;
}

/** The schemes we accept by default, in preference order. PKCS#1 comes last: it is for certificates only. */
export const DEFAULT_SCHEMES: readonly SigSchemeName[] = [
  "ecdsa_secp256r1_sha256",
  "ecdsa_secp384r1_sha384",
  "ed25519",
  "rsa_pss_rsae_sha256",
  "rsa_pss_rsae_sha384",
  "rsa_pss_rsae_sha512",
  "rsa_pss_pss_sha256",
  "rsa_pss_pss_sha384",
  "rsa_pss_pss_sha512",
  "rsa_pkcs1_sha256",
  "rsa_pkcs1_sha384",
  "rsa_pkcs1_sha512",
];

/** Random bytes drawn from the platform's CSPRNG ahead of need, each handed out once. */
const RANDOM_POOL = 4096;
let pool = new Uint8Array(0);
let poolAt = 0;

/**
 * The platform's CSPRNG. A handshake asks for a few dozen bytes at a time, ten times or so, and each
 * `getRandomValues` call costs more than its bytes (2 µs on Node, 1.6% of a TLS 1.3 handshake): small
 * requests are served from a pool filled 4 KiB at a time, and the bytes handed out are wiped from it.
 */
function defaultRandom(n: number): Uint8Array {
  if (n > 256) {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
    return out;
  }
  if (poolAt + n > pool.length) {
    pool = crypto.getRandomValues(new Uint8Array(RANDOM_POOL));
    poolAt = 0;
  }
  const taken = pool.subarray(poolAt, poolAt + n);
  const out = taken.slice();
  taken.fill(0);
  poolAt += n;
  return out;
}

function pick<T extends { readonly name: string }>(
  all: readonly T[],
  names: readonly string[] | undefined,
  what: string,
): readonly T[] {
  if (!names) return all; // frozen (KX_GROUPS)
  if (names.length === 0) throw new RangeError(`Cannot configure ${what}: the list is empty`);
  return names.map((n) => {
    const found = all.find((x) => x.name === n);
    if (!found) throw new RangeError(`Cannot configure ${what}: "${n}" is not supported`);
    return found;
  });
}

/** A provider's suites for one list of names (all suites when none), by name list: see `suitesOf`. */
const providedSuites = new WeakMap<
  CryptoProvider,
  Map<string, { readonly suites: readonly Tls13Suite[]; readonly suites12: readonly Tls12Suite[] }>
>();

/**
 * The TLS 1.3 and TLS 1.2 suites `names` selects (checked by the caller), in its order, each hashing and
 * protecting records with `provider`'s implementations of its hash and AEAD. Made once per provider and list
 * (at most 64 lists per provider are kept) and shared, frozen, by every connection: a configuration is
 * normalized for every connection, and making them again was 2–4% of a handshake on Bun.
 */
function suitesOf(
  provider: CryptoProvider,
  names: readonly string[] | undefined,
): { readonly suites: readonly Tls13Suite[]; readonly suites12: readonly Tls12Suite[] } {
  let byNames = providedSuites.get(provider);
  if (!byNames) providedSuites.set(provider, byNames = new Map());
  const key = names ? names.join(",") : "";
  const known = byNames.get(key);
  if (known) return known;
  const provided = <S extends { readonly hash: Hash; readonly aead: Aead }>(s: S): S => {
    const hash = provider.hash(s.hash.name);
    const aead = provider.aead(s.aead.name);
    return hash === s.hash && aead === s.aead ? s : Object.freeze({ ...s, hash, aead });
  };
  const select = <S extends { readonly name: string; readonly hash: Hash; readonly aead: Aead }>(
    all: readonly S[],
  ): readonly S[] =>
    Object.freeze(
      all.filter((s) => !names || names.includes(s.name))
        .sort((a, b) => (names ? names.indexOf(a.name) - names.indexOf(b.name) : 0)).map(provided),
    );
  const made = Object.freeze({ suites: select(TLS13_SUITES), suites12: select(TLS12_SUITES) });
  if (byNames.size >= 64) byNames.clear();
  byNames.set(key, made);
  return made;
}

/** Normalize the options both roles share. */
export function normalizeCommon(c: CommonConfig): Normalized {
  const schemes = (c.signatureSchemes ?? DEFAULT_SCHEMES).map((n) => {
    const id = SIG_SCHEMES[n];
    if (id === undefined) throw new RangeError(`Cannot configure signatureSchemes: "${n}" is not supported`);
    return id;
  });
  const rsl = c.recordSizeLimit;
  if (rsl !== undefined && (!Number.isInteger(rsl) || rsl < 64 || rsl > MAX_PLAINTEXT + 1)) {
    throw new RangeError(`Cannot configure recordSizeLimit: ${rsl} is outside 64..${MAX_PLAINTEXT + 1}`);
  }
  const maxHs = c.maxHandshakeMessageSize ?? 65536;
  if (!Number.isInteger(maxHs) || maxHs < 1024 || maxHs > 0xffffff) {
    throw new RangeError(`Cannot configure maxHandshakeMessageSize: ${maxHs} is outside 1024..16777215`);
  }
  const maxChain = c.maxPeerChainLength ?? LIMITS.defaultMaxPeerChainLength;
  if (!Number.isInteger(maxChain) || maxChain < 1 || maxChain > 256) {
    throw new RangeError(`Cannot configure maxPeerChainLength: ${maxChain} is outside 1..256`);
  }
  const maxSigs = c.maxSignatureChecks ?? LIMITS.defaultMaxSignatureChecks;
  if (!Number.isInteger(maxSigs) || maxSigs < 1 || maxSigs > 10_000) {
    throw new RangeError(`Cannot configure maxSignatureChecks: ${maxSigs} is outside 1..10000`);
  }
  for (const p of c.alpnProtocols ?? []) {
    const len = new TextEncoder().encode(p).length;
    if (len < 1 || len > 255) {
      throw new RangeError(`Cannot configure alpnProtocols: "${p}" must be 1..255 bytes`);
    }
  }
  const names = c.cipherSuites;
  if (names) {
    if (names.length === 0) throw new RangeError("Cannot configure cipherSuites: the list is empty");
    const all = [...TLS13_SUITES, ...TLS12_SUITES];
    for (const n of names) {
      if (!all.some((s) => s.name === n)) {
        throw new RangeError(`Cannot configure cipherSuites: "${n}" is not supported`);
      }
    }
  }
  const versions = { "TLSv1.2": 0x0303, "TLSv1.3": 0x0304 } as const;
  const versionOf = (v: string | undefined, fallback: number, what: string): number => {
    if (v === undefined) return fallback;
    const n = versions[v as VersionName];
    if (n === undefined) {
      throw new RangeError(
        `Cannot configure ${what}: "${v}" is not "TLSv1.2" or "TLSv1.3" (older versions are refused)`,
      );
    }
    return n;
  };
  // QUIC is TLS 1.3 only (RFC 9001 §4.2).
  let minVersion = versionOf(c.minVersion, c.quic ? 0x0304 : 0x0303, "minVersion");
  let maxVersion = versionOf(c.maxVersion, 0x0304, "maxVersion");
  if (minVersion > maxVersion) {
    throw new RangeError(
      `Cannot configure versions: minVersion ${c.minVersion} is above maxVersion ${c.maxVersion}`,
    );
  }
  if (c.quic && maxVersion !== 0x0304) throw new RangeError("Cannot configure QUIC: it needs TLS 1.3");
  const provider = c.provider ?? defaultProvider();
  const { suites, suites12 } = suitesOf(provider, names);
  // A version with no suite configured is off.
  if (suites.length === 0) maxVersion = Math.min(maxVersion, 0x0303);
  if (suites12.length === 0) minVersion = Math.max(minVersion, 0x0304);
  if (minVersion > maxVersion) {
    throw new RangeError(
      "Cannot configure cipherSuites: no suite for any version between minVersion and maxVersion",
    );
  }
  return Object.freeze({
    suites: maxVersion >= 0x0304 ? suites : [],
    suites12: minVersion <= 0x0303 ? suites12 : [],
    minVersion,
    maxVersion,
    requireEms: c.requireExtendedMasterSecret === true,
    groups: pick(KX_GROUPS, c.groups, "groups"),
    schemes,
    alpn: [...(c.alpnProtocols ?? [])],
    recordSizeLimit: rsl,
    maxHandshakeMessageSize: maxHs,
    maxPeerChainLength: maxChain,
    maxSignatureChecks: maxSigs,
    certCompressors: checkCertCompressors(c.certificateCompression),
    quic: c.quic,
    random: c.random ?? defaultRandom,
    provider,
    now: c.now ?? Date.now,
    partialWrites: c.partialWrites === true,
    acceptMovingWriteBuffer: c.acceptMovingWriteBuffer === true,
    ignoreUnexpectedEof: c.ignoreUnexpectedEof === true,
  });
}

/** PEM texts of certificates decoded lately (a configuration is normalized for every connection). */
const decodedPem = new BoundedCache<readonly Uint8Array[]>(32, 1 << 20);

/**
 * The certificates in a PEM text, decoded once per text: a server's chain and a client's anchors come as the
 * same text on every connection (decoding them was 1% of a Node server's CPU under load). At most 32 texts
 * of at most 1 MiB are kept.
 */
function certificatesPem(text: string): readonly Uint8Array[] {
  return decodedPem.get(text, () => Object.freeze(pemDecode(text, "CERTIFICATE")));
}

/** Decode trust anchors given as PEM text or DER. */
export function decodeAnchors(
  anchors: readonly (string | Uint8Array)[] | undefined,
  what: string,
): Uint8Array[] | undefined {
  if (anchors === undefined) return undefined;
  const out = anchors.flatMap((a) => (typeof a === "string" ? certificatesPem(a) : [a]));
  if (out.length === 0) throw new TypeError(`Cannot configure ${what}: no certificate found`);
  return out;
}

/** A server certificate chain, decoded to DER, with its key. */
export interface ServerCert {
  readonly chain: readonly Uint8Array[];
  readonly key: SigningKey;
}

/** Decode the server's certificate chains. */
export function normalizeCertificates(certs: readonly CertifiedKey[]): ServerCert[] {
  if (!certs || certs.length === 0) {
    throw new TypeError(
      "Cannot configure server: at least one certificate chain is required (or external PSKs: psks, pskLookup)",
    );
  }
  return certs.map((c, i) => {
    const chain = typeof c.chain === "string" ? [...certificatesPem(c.chain)] : [...c.chain];
    if (chain.length === 0) throw new TypeError(`Cannot configure server: certificates[${i}].chain is empty`);
    checkKeyMatchesLeaf(chain[0]!, c.key, `certificates[${i}]`);
    return { chain, key: c.key };
  });
}

/** Leaves already found to match their keys (a configuration is normalized for every connection). */
const MATCHED = new WeakMap<SigningKey, Uint8Array>();

/**
 * Refuse a private key that is not the leaf certificate's, when the configuration is made: otherwise the first
 * handshake fails with a signature the peer cannot verify, and the alert blames the peer.
 */
function checkKeyMatchesLeaf(leaf: Uint8Array, key: SigningKey, what: string): void {
  const seen = MATCHED.get(key);
  if (seen !== undefined && (seen === leaf || ctEqual(seen, leaf))) return;
  let certKey: PublicKey;
  try {
    certKey = publicKeyFromCertificate(leaf);
  } catch (e) {
    throw new TypeError(
      `Cannot configure ${what}: the leaf certificate cannot be read (${(e as Error).message})`,
    );
  }
  if (!samePublicKey(certKey, key.publicKey)) {
    throw new TypeError(
      `Cannot configure ${what}: the private key (${key.type}) is not the leaf certificate's (${certKey.type})`,
    );
  }
  MATCHED.set(key, leaf);
}

/** The same key: its type, and its raw point, or for RSA the subjectPublicKey bits (its parameters aside). */
export function samePublicKey(a: PublicKey, b: PublicKey): boolean {
  if (a.type !== b.type) return false;
  if (a.raw !== undefined || b.raw !== undefined) {
    return a.raw !== undefined && b.raw !== undefined && ctEqual(a.raw, b.raw);
  }
  const bits = (spki: Uint8Array) => {
    const top = new DerReader(readOnly(spki, Tag.sequence, "SubjectPublicKeyInfo"));
    top.expect(Tag.sequence, "algorithm");
    return readBitString(top.expect(Tag.bitString, "subjectPublicKey").value, "subjectPublicKey").bytes;
  };
  try {
    return ctEqual(bits(a.spki), bits(b.spki));
  } catch {
    return false;
  }
}
