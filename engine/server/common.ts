/**
 * What the TLS 1.3 and TLS 1.2 servers share (rustls's server/common.rs): the connection's setup, and the
 * choices made the same way in both versions: the certificate (by name, then by signature scheme), ALPN,
 * and the client's fragment limits. It imports no state file; hello.ts, tls13.ts and tls12.ts import it.
 * @module
 */

import type { Normalized, ServerCert, ServerConfig, ServerOverrides } from "../config.ts";
import { incompatible, localFault, misbehaved } from "../errors.ts";
import { ExtensionType as E } from "../msgs/enums.ts";
import { decodeAlpn, decodeU16, decodeU8, type Extension, findExtension } from "../msgs/extensions.ts";
import { certificateMatchesName, type VerifyPolicy } from "../peer_verify.ts";
import type { AntiReplay, SessionIdStore } from "../session.ts";
import type { TicketSetup } from "../binding.ts";
import type { ServerPsks } from "../external_psk.ts";
import type { ServerEchSetup, ServerEchState } from "../ech/server.ts";
import { type Context, signingScheme } from "../state.ts";
import type { ServerCertificateTypes } from "../raw_keys.ts";

/** The caller's server options the states read: built and frozen once by `createServer`, never the raw config. */
export type ServerOptions = {
  readonly [
    K in
      | "onClientHello"
      | "selectCertificate"
      | "selectAlpn"
      | "helloRetryCookie"
      | "cipherSuitePreference"
      | "encryptedExtensions"
  ]: ServerConfig[K];
};

/** Server-side connection settings the states need beyond the normalized config. */
export interface ServerSetup {
  readonly options: ServerOptions;
  /** The settings for this connection with `overrides` applied (from `onClientHello`), and their normalized form. */
  readonly reconfigure: (
    overrides: ServerOverrides,
  ) => { readonly setup: ServerSetup; readonly cfg: Normalized };
  readonly certs: readonly ServerCert[];
  /** Our raw public key (RFC 7250) as a one-entry chain, if we present one. */
  readonly rawKey: ServerCert | undefined;
  /** The certificate types we present and accept (RFC 7250). */
  readonly certificateTypes: ServerCertificateTypes;
  /** Key for HelloRetryRequest cookies (drawn from the engine's random source when first needed). */
  readonly cookieKey: () => Uint8Array;
  /** TLS 1.2 session ids (RFC 5246 §7.3); undefined: none are given. */
  readonly sessionIds: SessionIdStore | undefined;
  /** Where tickets go and how many to issue; undefined: no tickets, no resumption. */
  readonly tickets: TicketSetup | undefined;
  /** 0-RTT: the most early data accepted, and the replay guard (none when tickets are single-use). */
  readonly earlyData:
    | { readonly maxSize: number; readonly antiReplay: AntiReplay | undefined }
    | undefined;
  /** External PSKs (external_psk.ts); undefined: none. */
  readonly psks: ServerPsks | undefined;
  /** ECH keys (ech/server.ts); undefined: none. */
  readonly ech?: ServerEchSetup | undefined;
  /** What became of this connection's ECH, once the first ClientHello was read. */
  readonly echState?: ServerEchState | undefined;
  /** How client certificates are asked for and judged; undefined: not asked for. */
  readonly clientAuth:
    | {
      readonly policy: VerifyPolicy;
      readonly required: boolean;
      readonly authorities: readonly Uint8Array[];
    }
    | undefined;
}

/**
 * Our suites that the client offered, best first: in the client's order unless the server's preference is
 * asked for (`cipherSuitePreference`), then in ours. The same rule in TLS 1.3 and TLS 1.2.
 */
export function offeredSuites<S extends { readonly id: number }>(
  setup: ServerSetup,
  ours: readonly S[],
  theirs: readonly number[],
): S[] {
  if (setup.options.cipherSuitePreference === "server") {
    const offered = new Set(theirs);
    return ours.filter((s) => offered.has(s.id));
  }
  const byId = new Map(ours.map((s) => [s.id, s]));
  const out: S[] = [];
  for (const id of theirs) {
    const s = byId.get(id);
    if (s && !out.includes(s)) out.push(s);
  }
  return out;
}

/** RFC 7301 §3.2: the server's ALPN choice from the client's list (same in TLS 1.2 and 1.3). */
export function chooseAlpn(
  cx: Context,
  setup: ServerSetup,
  exts: readonly Extension[],
  where: string,
): string | undefined {
  let alpn: string | undefined;
  const alpnData = findExtension(exts, E.alpn);
  if (alpnData !== undefined) {
    const offered = decodeAlpn(alpnData, "ClientHello.alpn");
    const select = setup.options.selectAlpn;
    if (select) alpn = select(offered);
    else if (cx.cfg.alpn.length > 0) alpn = cx.cfg.alpn.find((p) => offered.includes(p));
    if (alpn !== undefined && !offered.includes(alpn)) {
      throw localFault(
        "bad_alpn_selection",
        "selectAlpn returned a protocol the client did not offer",
        where,
      );
    }
    if (alpn === undefined && (select || cx.cfg.alpn.length > 0)) {
      // RFC 7301 §3.2
      throw incompatible(
        "no_application_protocol",
        "Cannot accept ClientHello: no ALPN protocol in common",
        where,
      );
    }
  }
  return alpn;
}

/** The client's record_size_limit (RFC 8449) and max_fragment_length (RFC 6066 §4), checked. */
export function fragmentRequests(
  exts: readonly Extension[],
  where: string,
): { clientRecordSizeLimit: number | undefined; maxFragmentLength: number | undefined } {
  let clientRecordSizeLimit: number | undefined;
  const rsl = findExtension(exts, E.recordSizeLimit);
  if (rsl !== undefined) {
    clientRecordSizeLimit = decodeU16(rsl, "ClientHello.record_size_limit");
    if (clientRecordSizeLimit < 64) {
      throw misbehaved(
        "record_size_limit",
        `Cannot accept record_size_limit ${clientRecordSizeLimit}: below 64`,
        where,
      );
    }
  }
  // RFC 6066 §4: max_fragment_length 1..4 asks for 2^9..2^12-byte records; RFC 8449 §5: ignored next to
  // record_size_limit.
  let maxFragmentLength: number | undefined;
  const mfl = findExtension(exts, E.maxFragmentLength);
  if (mfl !== undefined && rsl === undefined) {
    maxFragmentLength = decodeU8(mfl, "ClientHello.max_fragment_length");
    if (maxFragmentLength < 1 || maxFragmentLength > 4) {
      throw misbehaved(
        "max_fragment_length",
        `Cannot accept max_fragment_length ${maxFragmentLength}: not 1..4`,
        where,
      );
    }
  }
  return { clientRecordSizeLimit, maxFragmentLength };
}

/**
 * Go's pickCertificate: among the chains whose key can sign with a scheme the client offers, the first whose
 * leaf names the SNI host; without a match, the first usable one (the default certificate).
 */
export function pickCertificate(
  certs: readonly ServerCert[],
  clientSchemes: readonly number[],
  serverName: string | undefined,
): { cert: ServerCert; scheme: number } | undefined {
  const usable = certs.flatMap((cert) => {
    const scheme = signingScheme(cert.key, clientSchemes, false);
    return scheme === undefined ? [] : [{ cert, scheme }];
  });
  return forServerName(usable, serverName)[0];
}

/**
 * The usable certificates to choose among for `serverName` (RFC 6066 §3): those whose leaf names it or, when
 * none does, all of them. TLS 1.3 and 1.2 both choose by name first; TLS 1.2 then by suite. With one usable
 * certificate the answer is that one whatever the name, so its leaf is not parsed (it was, on every
 * handshake of a server with one certificate: the common case).
 */
export function forServerName<T extends { readonly cert: ServerCert }>(
  usable: readonly T[],
  serverName: string | undefined,
): readonly T[] {
  if (serverName === undefined || usable.length <= 1) return usable;
  const named = usable.filter((u) => certificateMatchesName(u.cert.chain[0]!, serverName));
  return named.length > 0 ? named : usable;
}
