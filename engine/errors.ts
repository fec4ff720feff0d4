/**
 * The one error type the engine produces: a {@link TlsError} carries the alert that was (or would be)
 * sent, a stable code grouped by who is at fault, and where the fault was found.
 *
 * Codes, as in rustls:
 * - `invalid_message.*`: the peer's bytes do not parse (decode_error by default)
 * - `peer_misbehaved.*`: the bytes parse but break the protocol (illegal_parameter, unexpected_message …)
 * - `peer_incompatible.*`: nothing in common (handshake_failure, protocol_version …)
 * - `certificate.*`: the peer's certificate or its signature (bad_certificate, decrypt_error …)
 * - `decrypt`: a record failed authentication (bad_record_mac)
 * - `alert_received.*`: the peer sent a fatal alert
 * - `truncated`: the transport ended without close_notify
 * - `local.*`: misuse of the API or an internal fault (internal_error)
 *
 * Messages never contain key material.
 * @module
 */

import { AlertDescription, type AlertName } from "./alert.ts";

/** A typed TLS failure: which alert, which code, and where. */
export class TlsError extends Error {
  override readonly name = "TlsError";
  /**
   * The alert sent to the peer (or received from it, for `alert_received.*`); undefined when none was, as
   * for `truncated` (the transport ended: there is nobody to tell).
   */
  readonly alert: AlertName | undefined;
  /** A stable, dotted code, e.g. `peer_misbehaved.unsolicited_extension`. */
  readonly code: string;
  /** Where the fault was found, e.g. `client.ExpectServerHello@ServerHello+38`. */
  readonly where: string;

  /**
   * @param alert The alert that goes with the fault.
   * @param code A stable code (see the module doc for the groups).
   * @param message A sentence for people: what was wrong.
   * @param where The state and offset.
   */
  constructor(
    alert: AlertName | undefined,
    code: string,
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

/** A fault in the bytes themselves: decode_error unless said otherwise. */
export function invalidMessage(
  what: string,
  message: string,
  where = "",
  alert: AlertName = "decode_error",
): TlsError {
  return new TlsError(alert, `invalid_message.${what}`, message, where);
}

/** A peer that broke the protocol with well-formed bytes. */
export function peerMisbehaved(
  what: string,
  message: string,
  alert: AlertName = "illegal_parameter",
  where = "",
): TlsError {
  return new TlsError(alert, `peer_misbehaved.${what}`, message, where);
}

/** A peer with nothing in common with us. */
export function peerIncompatible(
  what: string,
  message: string,
  alert: AlertName = "handshake_failure",
  where = "",
): TlsError {
  return new TlsError(alert, `peer_incompatible.${what}`, message, where);
}

/** A local fault: API misuse or an internal error. */
export function localError(what: string, message: string, alert: AlertName = "internal_error"): TlsError {
  return new TlsError(alert, `local.${what}`, message);
}

/** Wrap anything thrown into a TlsError: a non-TlsError becomes `local.internal`; its text stays out of the
 * message (it could carry data) and is kept only as `cause`, for debugging. */
export function asTlsError(e: unknown, where = ""): TlsError {
  if (e instanceof TlsError) return e;
  const kind = e instanceof Error ? e.name : typeof e;
  return new TlsError("internal_error", "local.internal", `Internal error: unexpected ${kind}`, where, {
    cause: e,
  });
}
