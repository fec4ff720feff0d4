/**
 * The one error type the engine produces: a {@link TlsError} carries the alert that was (or would be)
 * sent, a stable code grouped by who is at fault, and where the fault was found.
 *
 * Codes, as in rustls, one table per group (code → the alert it sends unless the call site says otherwise):
 * - `invalid_message.*` ({@link InvalidMessage}): the peer's bytes do not parse (decode_error)
 * - `peer_misbehaved.*` ({@link PeerMisbehaved}): the bytes parse but break the protocol (illegal_parameter,
 *   unexpected_message …)
 * - `peer_incompatible.*` ({@link PeerIncompatible}): nothing in common (handshake_failure, protocol_version …)
 * - `certificate.*` ({@link InvalidCertificate}, and verify/'s `VerifyErrorCode`s with the alert
 *   `alertForVerifyError` gives): the peer's certificate or its signature
 * - `decrypt`: a record failed authentication (bad_record_mac)
 * - `alert_received.*`: the peer sent a fatal alert (an alert name, or `unknown`)
 * - `truncated`: the transport ended without close_notify (no alert: nobody is there to get one)
 * - `local.*` ({@link LocalError}): misuse of the API or an internal fault (internal_error)
 * - `policy.*` ({@link PolicyError}): a callback of ours refused the peer (the alert it chose)
 *
 * {@link TlsErrorCode} is the union of them all. A call site is one line, code first:
 * `throw misbehaved("bad_finished", "Cannot accept Finished: verify_data is wrong", where)`.
 *
 * Messages never contain key material.
 * @module
 */

import { AlertDescription, type AlertName } from "./alert.ts";
import type { VerifyErrorCode } from "../verify/mod.ts";

/** `invalid_message.*`: the peer's bytes do not parse. */
export const InvalidMessage = {
  bad_alert: "decode_error",
  bad_ech_config: "decode_error",
  bad_ech_extension: "decode_error",
  bad_length: "decode_error",
  bad_record_version: "protocol_version",
  bad_server_name: "decode_error",
  // RFC 8446 §4.4.2: one CertificateEntry for a raw public key (OpenSSL 3.2 says decode_error too).
  raw_key_entries: "decode_error",
  too_short: "decode_error",
  trailing_data: "decode_error",
} as const satisfies Record<string, AlertName>;

/** `peer_misbehaved.*`: well-formed bytes that break the protocol. */
export const PeerMisbehaved = {
  bad_alpn: "illegal_parameter",
  bad_ccs: "unexpected_message",
  bad_content_type: "unexpected_message",
  bad_ech_confirmation: "illegal_parameter",
  bad_ech_inner: "illegal_parameter",
  bad_ech_outer_extensions: "illegal_parameter",
  bad_ech_retry: "illegal_parameter",
  ech_decrypt: "decrypt_error",
  ech_missing: "missing_extension",
  ech_retry_configs_after_accept: "unsupported_extension",
  bad_cookie: "illegal_parameter",
  bad_finished: "decrypt_error",
  bad_key_share: "illegal_parameter",
  bad_key_update: "illegal_parameter",
  bad_legacy_version: "illegal_parameter",
  bad_psk_binder: "decrypt_error",
  bad_psk_selection: "illegal_parameter",
  bad_psk_mode: "illegal_parameter",
  bad_selected_version: "illegal_parameter",
  certificate_context: "illegal_parameter",
  certificate_key_for_suite: "unsupported_certificate",
  certificate_request_context: "illegal_parameter",
  close_notify_before_hello: "unexpected_message",
  compression: "illegal_parameter",
  data_across_key_change: "unexpected_message",
  downgrade: "illegal_parameter",
  duplicate_extension: "illegal_parameter",
  duplicate_key_share: "illegal_parameter",
  duplicate_server_name: "illegal_parameter",
  early_application_data: "unexpected_message",
  empty_alert_record: "unexpected_message",
  empty_certificate: "decode_error",
  empty_handshake_record: "unexpected_message",
  empty_inner_plaintext: "unexpected_message",
  explicit_curve: "illegal_parameter",
  extension_not_allowed: "illegal_parameter",
  handshake_message_too_large: "illegal_parameter",
  hello_changed_after_hrr: "illegal_parameter",
  hrr_changes_nothing: "illegal_parameter",
  hrr_for_offered_share: "illegal_parameter",
  interleaved_handshake: "unexpected_message",
  max_fragment_length: "illegal_parameter",
  missing_key_share: "missing_extension",
  missing_quic_transport_parameters: "missing_extension",
  missing_signature_algorithms: "missing_extension",
  point_formats: "illegal_parameter",
  psk_binder_count: "illegal_parameter",
  psk_not_last: "illegal_parameter",
  psk_without_modes: "missing_extension",
  quic_backlog: "unexpected_message",
  quic_key_update: "unexpected_message",
  quic_wrong_level: "unexpected_message",
  record_overflow: "record_overflow",
  // The extension's value; a record over our limit is record_overflow (said at that call site).
  record_size_limit: "illegal_parameter",
  renegotiation_info: "handshake_failure",
  renegotiation_insisted: "unexpected_message",
  resumed_ems_changed: "handshake_failure",
  resumed_suite_changed: "illegal_parameter",
  resumed_suite_missing: "illegal_parameter",
  second_hello_retry: "unexpected_message",
  session_id_echo: "illegal_parameter",
  session_id_mismatch: "illegal_parameter",
  share_for_unlisted_group: "illegal_parameter",
  suite_changed_after_hrr: "illegal_parameter",
  ticket_lifetime: "illegal_parameter",
  tls12_after_early_data: "illegal_parameter",
  too_many_empty_records: "unexpected_message",
  too_many_key_updates: "unexpected_message",
  too_many_tickets: "unexpected_message",
  too_many_warning_alerts: "unexpected_message",
  too_much_early_data: "unexpected_message",
  unexpected_ccs: "unexpected_message",
  unexpected_cookie: "illegal_parameter",
  unexpected_message: "unexpected_message",
  unoffered_cipher_suite: "illegal_parameter",
  unoffered_certificate_type: "illegal_parameter",
  // RFC 8879 §4: a CompressedCertificate with an algorithm we did not offer.
  unoffered_compression_algorithm: "illegal_parameter",
  unoffered_early_data: "unsupported_extension",
  unoffered_group: "illegal_parameter",
  unoffered_signature_scheme: "illegal_parameter",
  unprotected_data: "unexpected_message",
  unprotected_record: "unexpected_message",
  unsolicited_extension: "unsupported_extension",
  wrong_group: "illegal_parameter",
  wrong_retry_share: "illegal_parameter",
  wrong_signature_type: "illegal_parameter",
} as const satisfies Record<string, AlertName>;

/** `peer_incompatible.*`: a peer that follows the protocol but has nothing in common with us. */
export const PeerIncompatible = {
  // The server did not use the encrypted ClientHello (draft-ietf-tls-esni §6.1.6): see EchRejectedError.
  ech_rejected: "ech_required",
  extended_master_secret_required: "handshake_failure",
  inappropriate_fallback: "inappropriate_fallback",
  no_application_protocol: "no_application_protocol",
  no_common_cipher_suite: "handshake_failure",
  // RFC 7250 §4.2
  no_common_certificate_type: "unsupported_certificate",
  no_common_group: "handshake_failure",
  // A server without certificates, a client that offered no PSK it knows (RFC 8446 §6.2).
  unknown_psk_identity: "unknown_psk_identity",
  // A PSK-only peer: no PSK in a mode both allow, or the server did not select one.
  psk_required: "handshake_failure",
  no_common_signature_scheme: "handshake_failure",
  no_common_version: "protocol_version",
  quic_without_alpn: "no_application_protocol",
  tls13_required: "protocol_version",
} as const satisfies Record<string, AlertName>;

/**
 * `certificate.*` that the engine finds itself; a chain that fails path validation takes verify/'s code
 * (`VerifyErrorCode`) and the alert `alertForVerifyError` gives it, which owns that table.
 */
export const InvalidCertificate = {
  bad_encoding: "bad_certificate",
  // RFC 8879 §4, §5: a CompressedCertificate that does not decompress to exactly uncompressed_length bytes.
  bad_compressed_certificate: "bad_certificate",
  // RFC 8879 §5: uncompressed_length beyond maxHandshakeMessageSize, refused before decompressing.
  compressed_certificate_too_large: "bad_certificate",
  // verify/'s, for a certificate's signature; in CertificateVerify it is decrypt_error (said at that call site).
  bad_signature: "bad_certificate",
  // RFC 7250: a raw public key neither pinned nor accepted by the callback (GnuTLS sends bad_certificate).
  raw_key_not_trusted: "bad_certificate",
  rejected: "bad_certificate",
  // TLS 1.2 has no certificate_required: handshake_failure there (said at that call site).
  required: "certificate_required",
  too_many_certificates: "bad_certificate",
} as const satisfies Record<string, AlertName>;

/** `local.*`: misuse of the API, or an internal fault. */
export const LocalError = {
  application_data_after_close: "unexpected_message",
  bad_alpn_selection: "internal_error",
  bad_length: "internal_error",
  bad_write_retry: "internal_error",
  early_data_role: "internal_error",
  internal: "internal_error",
  key_update_before_handshake: "internal_error",
  key_update_tls12: "internal_error",
  no_verify_pending: "internal_error",
  not_quic: "internal_error",
  quic_key_update: "internal_error",
  shutdown_while_in_init: "internal_error",
  transcript_hash_changed: "internal_error",
  write_after_shutdown: "internal_error",
} as const satisfies Record<string, AlertName>;

/** `policy.*`: a callback of ours refused the peer; the alert is the one it chose. */
export const PolicyError = {
  client_hello_refused: "handshake_failure",
} as const satisfies Record<string, AlertName>;

/** The groups with a table, by their code prefix. */
export const ERROR_TABLES = {
  invalid_message: InvalidMessage,
  peer_misbehaved: PeerMisbehaved,
  peer_incompatible: PeerIncompatible,
  certificate: InvalidCertificate,
  local: LocalError,
  policy: PolicyError,
} as const;

/** What an `alert_received.*` code names: the alert, or `unknown` for a value outside the registry. */
export type ReceivedAlertName = AlertName | "unknown";

/**
 * Every code a {@link TlsError} can carry, grouped by who is at fault (see the module doc): e.g.
 * `"peer_misbehaved.bad_finished"`, `"certificate.expired"`, `"alert_received.handshake_failure"`,
 * `"truncated"`, `"local.bad_write_retry"`.
 *
 * @example Branch on a code
 * ```ts
 * import assert from "node:assert/strict";
 * import type { TlsErrorCode } from "../mod.ts";
 *
 * function retryable(code: TlsErrorCode): boolean {
 *   return code === "truncated";
 * }
 * assert.equal(retryable("peer_misbehaved.bad_finished"), false);
 * ```
 */
export type TlsErrorCode =
  | `invalid_message.${keyof typeof InvalidMessage}`
  | `peer_misbehaved.${keyof typeof PeerMisbehaved}`
  | `peer_incompatible.${keyof typeof PeerIncompatible}`
  | `certificate.${keyof typeof InvalidCertificate | VerifyErrorCode}`
  | "decrypt"
  | `alert_received.${ReceivedAlertName}`
  | "truncated"
  | `local.${keyof typeof LocalError}`
  | `policy.${keyof typeof PolicyError}`;

/** The group of a code: what comes before the dot (`decrypt` and `truncated` are their own). */
export type TlsErrorGroup = keyof typeof ERROR_TABLES | "decrypt" | "alert_received" | "truncated";

/** The group of `code`, e.g. `"local"` for `"local.bad_length"`. */
export function errorGroup(code: TlsErrorCode): TlsErrorGroup {
  const dot = code.indexOf(".");
  return (dot < 0 ? code : code.slice(0, dot)) as TlsErrorGroup;
}

/** A typed TLS failure: which alert, which code, and where. */
export class TlsError extends Error {
  /** Always "TlsError". */
  override readonly name = "TlsError";
  /**
   * The alert sent to the peer (or received from it, for `alert_received.*`); undefined when none was, as
   * for `truncated` (the transport ended: there is nobody to tell).
   */
  readonly alert: AlertName | undefined;
  /** A stable, dotted code, e.g. `peer_misbehaved.unsolicited_extension`. */
  readonly code: TlsErrorCode;
  /** Where the fault was found, e.g. `client.ExpectServerHello@ServerHello+38`. */
  readonly where: string;

  /**
   * Build one through its group's constructor ({@link misbehaved} and the rest), which takes the alert from
   * the group's table.
   * @param alert The alert that goes with the fault.
   * @param code A stable code (see the module doc for the groups).
   * @param message A sentence for people: what was wrong.
   * @param where The state and offset.
   */
  constructor(
    alert: AlertName | undefined,
    code: TlsErrorCode,
    message: string,
    where = "",
    options?: { cause?: unknown },
  ) {
    const notes = [where, alert === undefined ? "" : `alert ${alert}`].filter((n) => n !== "").join(", ");
    super(notes ? `${message} (${notes})` : message, options);
    this.alert = alert;
    this.code = code;
    this.where = where;
  }

  /** The numeric alert description; undefined without an alert. */
  get alertDescription(): number | undefined {
    return this.alert === undefined ? undefined : AlertDescription[this.alert];
  }
}

/**
 * A group's constructor: the code (without its group prefix), a sentence for people, where, and the alert
 * when it is not the one the group's table gives.
 */
export type GroupError<C extends string> = (
  code: C,
  message: string,
  where?: string,
  alert?: AlertName,
) => TlsError;

function group<G extends keyof typeof ERROR_TABLES>(
  name: G,
): GroupError<keyof (typeof ERROR_TABLES)[G] & string> {
  const table: Readonly<Record<string, AlertName>> = ERROR_TABLES[name];
  return (code, message, where = "", alert = table[code]) =>
    new TlsError(alert, `${name}.${code}` as TlsErrorCode, message, where);
}

/** A fault in the bytes themselves (`invalid_message.*`). */
export const invalidMessage: GroupError<keyof typeof InvalidMessage> = group("invalid_message");

/** A peer that broke the protocol with well-formed bytes (`peer_misbehaved.*`). */
export const misbehaved: GroupError<keyof typeof PeerMisbehaved> = group("peer_misbehaved");

/** A peer with nothing in common with us (`peer_incompatible.*`). */
export const incompatible: GroupError<keyof typeof PeerIncompatible> = group("peer_incompatible");

/** A local fault: API misuse or an internal error (`local.*`). */
export const localFault: GroupError<keyof typeof LocalError> = group("local");

/** A callback of ours refused the peer (`policy.*`). */
export const refused: GroupError<keyof typeof PolicyError> = group("policy");

/**
 * The peer's certificate or its signature (`certificate.*`). A code of verify/'s (`VerifyErrorCode`, not in
 * {@link InvalidCertificate}) brings its alert, from `alertForVerifyError`.
 */
export function invalidCertificate(
  code: keyof typeof InvalidCertificate,
  message: string,
  where?: string,
  alert?: AlertName,
): TlsError;
export function invalidCertificate(
  code: VerifyErrorCode,
  message: string,
  where: string,
  alert: AlertName,
): TlsError;
export function invalidCertificate(
  code: VerifyErrorCode | keyof typeof InvalidCertificate,
  message: string,
  where = "",
  alert?: AlertName,
): TlsError {
  const table: Readonly<Record<string, AlertName>> = InvalidCertificate;
  return new TlsError(alert ?? table[code], `certificate.${code}`, message, where);
}

/** A record that failed authentication (`decrypt`, bad_record_mac). */
export function decryptFailed(message: string, where = ""): TlsError {
  return new TlsError("bad_record_mac", "decrypt", message, where);
}

/** The peer's fatal alert (`alert_received.*`); the error's alert is the received one (internal_error when
 * unknown). */
export function alertReceived(name: ReceivedAlertName, message: string, where = ""): TlsError {
  return new TlsError(name === "unknown" ? "internal_error" : name, `alert_received.${name}`, message, where);
}

/** The transport ended without close_notify (`truncated`): no alert, nobody is there to get one. */
export function truncated(message: string, where = ""): TlsError {
  return new TlsError(undefined, "truncated", message, where);
}

/** Wrap anything thrown into a TlsError: a non-TlsError becomes `local.internal`; its text stays out of the
 * message (it could carry data) and is kept only as `cause`, for debugging. */
export function asTlsError(e: unknown, where = ""): TlsError {
  if (e instanceof TlsError) return e;
  const kind = e instanceof Error ? e.name : typeof e;
  return new TlsError(LocalError.internal, "local.internal", `Internal error: unexpected ${kind}`, where, {
    cause: e,
  });
}
