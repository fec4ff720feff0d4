/**
 * TLS alerts (RFC 8446 §6): descriptions, levels, and the two-byte alert record body.
 * @module
 */

/** Alert descriptions, by their RFC names. */
export const AlertDescription = {
  close_notify: 0,
  unexpected_message: 10,
  bad_record_mac: 20,
  record_overflow: 22,
  handshake_failure: 40,
  bad_certificate: 42,
  unsupported_certificate: 43,
  certificate_revoked: 44,
  certificate_expired: 45,
  certificate_unknown: 46,
  illegal_parameter: 47,
  unknown_ca: 48,
  access_denied: 49,
  decode_error: 50,
  decrypt_error: 51,
  protocol_version: 70,
  insufficient_security: 71,
  internal_error: 80,
  inappropriate_fallback: 86,
  user_canceled: 90,
  no_renegotiation: 100,
  missing_extension: 109,
  unsupported_extension: 110,
  unrecognized_name: 112,
  bad_certificate_status_response: 113,
  unknown_psk_identity: 115,
  certificate_required: 116,
  no_application_protocol: 120,
  // draft-ietf-tls-esni §11.2
  ech_required: 121,
} as const;

/** An alert name such as `"decode_error"`. */
export type AlertName = keyof typeof AlertDescription;

/** Alert levels (RFC 8446 §6). */
export const AlertLevel = { warning: 1, fatal: 2 } as const;

const NAMES = new Map<number, AlertName>(
  Object.entries(AlertDescription).map(([k, v]) => [v, k as AlertName]),
);

/** The RFC name of an alert description, or `unknown(N)` for a value outside the registry. */
export function alertName(description: number): string {
  return NAMES.get(description) ?? `unknown(${description})`;
}

/** Whether `description` is a registered alert. */
export function isKnownAlert(description: number): boolean {
  return NAMES.has(description);
}
