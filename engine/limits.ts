/**
 * Every bound on what a peer controls, in one place. Each one is enforced where the input is read, fails with
 * a typed {@link TlsError} and its alert, and is tested at the boundary (N passes, N + 1 fails) in
 * `tests/limits_test.ts`. docs/limits.md lists them with their error codes.
 *
 * Bounds that come from the RFCs (record sizes, vector lengths) are enforced by the codec and the record layer
 * and are listed here for reference; the others are our policy, chosen as rustls, Go and OpenSSL choose theirs.
 * @module
 */

/** The limits (read-only). */
export const LIMITS = {
  /**
   * Record layer, RFC 8446 §5.1/§5.2: TLSPlaintext ≤ 2^14, TLSCiphertext ≤ 2^14 + 256, TLSInnerPlaintext ≤
   * 2^14 + 1 (record_overflow); our record_size_limit once negotiated (RFC 8449). The engine reads **at most
   * one maximum-size record's worth of bytes ahead** (RecordReader holds at most 5 + 2^14 + 256 bytes: a run of
   * small records costs one BIO read) and frames and decrypts records one at a time, each before it frames the
   * next (a provider that opens records natively has up to four in flight), so what it buffers is bounded by
   * construction.
   */
  maxCiphertext: 16384 + 256,
  /**
   * Default largest handshake message, header excluded (`maxHandshakeMessageSize`, 1024..2^24-1): a larger
   * length field fails as soon as its 4-byte header arrives (illegal_parameter,
   * `peer_misbehaved.handshake_message_too_large`), so reassembly never buffers more than this plus one record.
   * Raise it for long certificate chains. It also bounds a CompressedCertificate's uncompressed_length (RFC 8879
   * §5), checked before anything is decompressed (bad_certificate, `certificate.compressed_certificate_too_large`).
   */
  defaultMaxHandshakeMessage: 65536,
  /**
   * A ClientHello may be as long as its fields allow, whatever `maxHandshakeMessageSize` says: 2 + 32 + (1 + 32)
   * + (2 + 65534) + (1 + 255) + (2 + 65535) = 131,396 bytes (OpenSSL's CLIENT_HELLO_MAX_LENGTH). A longer one
   * fails as soon as its header arrives (illegal_parameter, `peer_misbehaved.handshake_message_too_large`).
   */
  maxClientHello: 131396,
  /**
   * Default most certificates in the peer's Certificate message, leaf included (`maxPeerChainLength`,
   * 1..256): more fails as soon as the message is decoded, before any certificate is parsed (bad_certificate,
   * `certificate.too_many_certificates`). Java's default; a leaf, `maxDepth` (8) intermediates and the root.
   */
  defaultMaxPeerChainLength: 10,
  /**
   * Default most certificate signatures checked while validating the peer's chain (`maxSignatureChecks`,
   * 1..10000; rustls-webpki's and Go's 100): certificate_unknown, `certificate.budget_exceeded`. Path
   * building also stops after 10,000 candidate issuers and 250,000 name-constraint comparisons.
   */
  defaultMaxSignatureChecks: 100,
  /** Consecutive empty application_data records (Go: 16 non-advancing records; OpenSSL: 32):
   * unexpected_message, `peer_misbehaved.too_many_empty_records`. */
  maxEmptyRecords: 32,
  /** Middlebox-compatibility ChangeCipherSpec records in one handshake: unexpected_message,
   * `peer_misbehaved.unexpected_ccs`. */
  maxChangeCipherSpecs: 8,
  /** HelloRetryRequests in one handshake (RFC 8446 §4.1.4): a second is unexpected_message,
   * `peer_misbehaved.second_hello_retry` (client); a server sends at most one. */
  maxHelloRetries: 1,
  /** user_canceled alerts in a row, with no handshake or application data between them (RFC 8446 §6 lets the
   * peer send it without closing; OpenSSL allows 5 warning alerts in a row): unexpected_message,
   * `peer_misbehaved.too_many_warning_alerts`. Every other alert but close_notify is fatal in TLS 1.3. */
  maxWarningAlertsInRow: 4,
  /** KeyUpdates received in one second of the injected clock (`now`): unexpected_message,
   * `peer_misbehaved.too_many_key_updates`. Each costs an HKDF step and, when requested, an answer. */
  maxKeyUpdatesPerSecond: 32,
  /** NewSessionTickets a client accepts on one connection (servers send 1 to 4): unexpected_message,
   * `peer_misbehaved.too_many_tickets`. A ticket is at most 2^16 - 1 bytes (the codec). */
  maxTicketsPerConnection: 32,
  /** PSK identities in one ClientHello the server tries to redeem (Go: 5); the rest are ignored, which means a
   * full handshake, not an error. Each try costs an AEAD open, and some 400 fit in one ClientHello. */
  maxPskIdentitiesTried: 5,
  /** External PSKs (engine/external_psk.ts): an identity we configure or look up is 1..1024 bytes (the wire
   * allows 2^16 - 1; OpenSSL's is at most 256, GnuTLS's 65535), so a longer offered identity is unknown, and
   * never reaches the lookup callback. The configuration refuses longer ones with a RangeError. */
  maxPskIdentityLength: 1024,
  /** An external PSK's key is at least 16 bytes (RFC 9257 §6: 128 bits of entropy at least) and at most 512
   * (OpenSSL's PSK_MAX_PSK_LEN): a RangeError when the configuration (or a lookup's answer) is made. */
  minPskKeyLength: 16,
  maxPskKeyLength: 512,
  /** External PSKs a client offers in one ClientHello (after a resumption ticket, if any): RangeError beyond. */
  maxExternalPsks: 8,
  /** Sealed output queued beyond the BIO before the engine stops reading (answers to KeyUpdates, a flight):
   * the engine returns WANT_WRITE instead of reading more. */
  maxQueuedOutput: 64 * 1024,
  /** Records sealed under one key before we update our own key (RFC 8446 §5.5: AES-GCM ≤ 2^24.5). */
  keyUpdateAfterRecords: 2 ** 23,
} as const;
