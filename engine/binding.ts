/**
 * What a resumable session is bound to, for both roles (RFC 8446 §4.6.1, §4.2.11; RFC 5077; RFC 5246 §7.3).
 *
 * - **Server.** A ticket (or TLS 1.2 session id) resumes only under the authentication context it was
 *   issued in: whether client certificates are asked for and required, against which trust anchors, with
 *   which callbacks, and the user's `sessionContext` (OpenSSL's session id context). A ticket from another
 *   context is declined, never an error: the handshake goes on in full. A session's authentication lasts
 *   `authenticationLifetime` seconds from the full handshake that made it (7 days by default, as
 *   BoringSSL), and never past the client chain's notAfter: tickets issued on resumption carry the
 *   original time and are cut to what is left.
 * - **Client.** A session is offered only to the identity its server was verified for (the `serverName`,
 *   as an A-label host name or an IP address, even though an IP address is never sent as SNI), and only
 *   by a client that verifies the server the same way.
 * @module
 */

import { SHA256 } from "../suites/hash.ts";
import { ctEqual } from "../suites/bytes.ts";
import { parseCertificate } from "../verify/_cert.ts";
import { Writer } from "./msgs/codec.ts";
import type { TicketState, TicketStore } from "./session.ts";
import type { VerifyPolicy } from "./peer_verify.ts";
import type { RawKeyTrust } from "./raw_keys.ts";

/** The default and largest `authenticationLifetime`, in seconds (7 days, BoringSSL's and RFC 8446's cap). */
export const DEFAULT_AUTHENTICATION_LIFETIME = 7 * 24 * 3600;

/** A server's ticket settings, with what its sessions are bound to. */
export interface TicketSetup {
  readonly store: TicketStore;
  /** NewSessionTickets per handshake (TLS 1.3). */
  readonly count: number;
  /** Seconds a ticket is valid. */
  readonly lifetime: number;
  /** Seconds a session's authentication lasts from its full handshake, through every resumption. */
  readonly authenticationLifetime: number;
  /** Digest of the authentication context (see {@link serverSessionContext}). */
  readonly context: Uint8Array;
}

/** When a session was authenticated, and until when its client chain is valid. */
export interface SessionAuth {
  /** Milliseconds since the epoch of the full handshake. */
  readonly authenticatedAt: number;
  /** The client chain's earliest notAfter in milliseconds; 0 when the client sent no chain. */
  readonly peerNotAfter: number;
}

/** A digest over labelled fields, each length-prefixed, so that no two field lists share one. */
function digestOf(label: string, fields: readonly Uint8Array[], sha256 = SHA256.digest): Uint8Array {
  const w = new Writer(64).vec(1, new TextEncoder().encode(label));
  for (const f of fields) w.vec(3, f);
  return sha256(w.finish());
}

const flag = (b: boolean): Uint8Array => Uint8Array.of(b ? 1 : 0);

/** The anchors' digest (empty without anchors): the field stays small however many roots there are. */
function anchorsField(anchors: readonly Uint8Array[] | undefined, sha256 = SHA256.digest): Uint8Array {
  if (anchors === undefined) return new Uint8Array(0);
  const w = new Writer(4096);
  for (const a of anchors) w.vec(3, a);
  return sha256(w.finish());
}

/** How a server asks for and judges client certificates: the parts {@link serverSessionContext} covers. */
export interface ServerAuthContext {
  readonly clientAuth:
    | {
      readonly required: boolean;
      readonly trustAnchors: readonly Uint8Array[] | undefined;
      readonly verifyPeer: boolean;
      readonly retryVerify: boolean;
      /** Raw public keys accepted from clients (RFC 7250). */
      readonly rawKeys?: RawKeyTrust | undefined;
    }
    | undefined;
  /** The user's own context (`ServerConfig.sessionContext`). */
  readonly sessionContext: Uint8Array;
}

/** The digest a server's tickets carry: equal digests, and only those, resume each other's sessions. */
export function serverSessionContext(c: ServerAuthContext): Uint8Array {
  const a = c.clientAuth;
  return digestOf("airlock server session context 1", [
    flag(a !== undefined),
    flag(a?.required === true),
    anchorsField(a?.trustAnchors),
    flag(a?.verifyPeer === true),
    flag(a?.retryVerify === true),
    c.sessionContext,
    ...rawKeysField(a?.rawKeys),
  ]);
}

/** How a client judged the server: the parts {@link clientVerifyContext} covers. */
export interface ClientVerifyContext {
  readonly insecure: boolean;
  readonly trustAnchors: readonly Uint8Array[] | undefined;
  readonly verifyPeer: boolean;
  readonly retryVerify: boolean;
  /** Raw public keys accepted from the server (RFC 7250). */
  readonly rawKeys?: RawKeyTrust | undefined;
}

/**
 * Raw key trust (RFC 7250): no field without it (digests made before raw keys existed stay the same, so the
 * sessions they bind still resume); otherwise a digest of the pins and whether a callback decides, so that a
 * session authenticated by one set of pins is never resumed under another.
 */
function rawKeysField(t: RawKeyTrust | undefined, sha256 = SHA256.digest): Uint8Array[] {
  if (t === undefined) return [];
  const w = new Writer(1024).u8(t.verify !== undefined ? 1 : 0);
  for (const p of t.pinned) w.vec(3, p);
  return [sha256(w.finish())];
}

/**
 * The digest a client's sessions carry: a session is offered only by a client that verifies the same way.
 * SHA-256 is noble's unless `sha256` is given (a provider's, the same function on a faster path: clients
 * made from a fresh configuration object for each connection compute this each time).
 */
export function clientVerifyContext(c: ClientVerifyContext, sha256 = SHA256.digest): Uint8Array {
  return digestOf("airlock client verify context 1", [
    flag(c.insecure),
    anchorsField(c.trustAnchors, sha256),
    flag(c.verifyPeer),
    flag(c.retryVerify),
    ...rawKeysField(c.rawKeys, sha256),
  ], sha256);
}

/** The authentication of a full handshake that ends now, with `chain` from the client (may be empty). */
export function freshAuth(now: number, chain: readonly Uint8Array[]): SessionAuth {
  let peerNotAfter = 0;
  for (const der of chain) {
    let notAfter: number;
    try {
      notAfter = parseCertificate(der).notAfter * 1000;
    } catch {
      // A chain we accepted parses; should one not, the session must not outlive this handshake.
      notAfter = now;
    }
    if (peerNotAfter === 0 || notAfter < peerNotAfter) peerNotAfter = notAfter;
  }
  return { authenticatedAt: now, peerNotAfter };
}

/** Milliseconds from `now` until the authentication of `auth` lapses under `tickets` (≤ 0: it has). */
function authLeft(tickets: TicketSetup, auth: SessionAuth, now: number): number {
  const until = auth.authenticatedAt + tickets.authenticationLifetime * 1000;
  return Math.min(until, auth.peerNotAfter === 0 ? until : auth.peerNotAfter) - now;
}

/**
 * The lifetime in seconds of a ticket issued now for a session authenticated as `auth`: the configured
 * lifetime, cut to what is left of its authentication; 0 when nothing is left (issue none).
 */
export function ticketLifetime(tickets: TicketSetup, auth: SessionAuth, now: number): number {
  return Math.max(0, Math.min(tickets.lifetime, Math.floor(authLeft(tickets, auth, now) / 1000)));
}

/**
 * Whether a redeemed ticket state may resume here now: issued under the same context, not expired, not
 * issued in the future, and its authentication still holds. Anything else is a full handshake.
 */
export function resumable(tickets: TicketSetup | undefined, state: TicketState, now: number): boolean {
  if (!tickets || !ctEqual(state.context, tickets.context)) return false;
  const age = now - state.issuedAt;
  if (age < 0 || age > state.lifetime * 1000) return false;
  return authLeft(tickets, state, now) > 0;
}

/** What a client's sessions are bound to. */
export interface ClientBinding {
  /** The client's `serverName` as verified: an A-label host name without a trailing dot, or an IP address. */
  readonly peerName: string | undefined;
  /** {@link clientVerifyContext} of the client's verification settings. */
  readonly verifyContext: Uint8Array;
}

const clientBindings = new WeakMap<object, ClientBinding>();

/**
 * The binding of sessions made by a client created from `config` with `policy` (computed once per
 * configuration object: the policy is derived from it).
 */
export function clientBinding(
  config: object,
  policy: VerifyPolicy,
  sha256?: (data: Uint8Array) => Uint8Array,
): ClientBinding {
  let b = clientBindings.get(config);
  if (!b) {
    b = {
      peerName: policy.peerName, // normalized by createClient (normalizeHostName)
      verifyContext: clientVerifyContext({
        insecure: policy.insecure,
        trustAnchors: policy.trustAnchors,
        verifyPeer: policy.verifyPeer !== undefined,
        retryVerify: policy.retryVerify,
        rawKeys: policy.rawKeys,
      }, sha256),
    };
    clientBindings.set(config, b);
  }
  return b;
}

/** Whether a client bound as `binding` may offer a session bound as `session` (RFC 8446 §4.6.1). */
export function sameBinding(session: ClientBinding, binding: ClientBinding): boolean {
  return session.peerName === binding.peerName && ctEqual(session.verifyContext, binding.verifyContext);
}
