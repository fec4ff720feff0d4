/**
 * External pre-shared keys in TLS 1.3 (RFC 8446 §2.2, §4.2.9, §4.2.11; RFC 9257, RFC 9258): keys provisioned
 * out of band, offered by identity in pre_shared_key beside (or instead of) a resumption ticket. This module
 * holds what both roles share: the configuration types and their checks, the key exchange modes, the binder
 * ("ext binder", where a ticket's is "res binder"), and the server's lookup of an identity (a static list, then
 * the caller's callback, which may answer with a promise: WANT_ASYNC meanwhile).
 *
 * Limits (engine/limits.ts): an identity is 1..{@link LIMITS.maxPskIdentityLength} bytes, a key
 * {@link LIMITS.minPskKeyLength}..{@link LIMITS.maxPskKeyLength} bytes, a client offers at most
 * {@link LIMITS.maxExternalPsks} of them. No early data is ever sent or accepted with an external PSK.
 * @module
 */

import { ctEqual, utf8 } from "../suites/bytes.ts";
import type { Hash, HashName } from "../suites/hash.ts";
import { finishedVerifyData, KeySchedule } from "./key_schedule.ts";
import { LIMITS } from "./limits.ts";
import { PskKeyExchangeMode } from "./msgs/enums.ts";

/** The hash a PSK is used with: it decides which cipher suites can use it (RFC 8446 §4.2.11). */
export type PskHash = HashName;

/** A PSK key exchange mode (RFC 8446 §4.2.9): with a fresh (EC)DHE exchange (forward secret), or the key alone. */
export type PskMode = "psk_dhe_ke" | "psk_ke";

/**
 * One external PSK: its identity (bytes, or text sent as UTF-8), the key, and the hash it is used with.
 *
 * @example A client and a server sharing one key
 * ```ts
 * import type { ExternalPsk } from "@airlock/tls";
 * const key = crypto.getRandomValues(new Uint8Array(32)); // provisioned to both ends out of band
 * const psk: ExternalPsk = { identity: "client-7", key };
 * // createClient({ psks: [psk] }, bio) and createServer({ psks: [psk] }, bio): no certificates needed.
 * if (psk.hash !== undefined) throw new Error("SHA-256 is the default");
 * ```
 */
export interface ExternalPsk {
  /** The identity, 1..1024 bytes: bytes as given, or text as UTF-8. */
  readonly identity: Uint8Array | string;
  /** The key, 16..512 bytes (RFC 9257 §6: at least 128 bits of entropy). */
  readonly key: Uint8Array;
  /** The hash the key is used with (default "SHA-256", as OpenSSL's and GnuTLS's command lines). */
  readonly hash?: PskHash;
}

/** What a server's {@link PskLookup} answers for an identity it knows: the key, or the key and its hash. */
export type PskLookupResult = Uint8Array | { readonly key: Uint8Array; readonly hash?: PskHash };

/**
 * A server's lookup of an identity the client offered (raw bytes, at most 1024 of them): the key, or undefined
 * when unknown. It may answer with a promise (a key service): the engine says WANT_ASYNC until it settles. One
 * that throws or rejects counts as unknown (the engine's `storeerror` event says so, operation `"psk"`).
 */
export type PskLookup = (
  identity: Uint8Array,
) => PskLookupResult | undefined | PromiseLike<PskLookupResult | undefined>;

/** An external PSK checked and normalized: identity bytes, key, hash name. */
export interface ExternalKey {
  readonly identity: Uint8Array;
  readonly key: Uint8Array;
  readonly hash: PskHash;
}

/** The wire values of the modes, in our preference order; psk_dhe_ke alone unless asked otherwise. */
export function normalizePskModes(modes: readonly PskMode[] | undefined, what: string): readonly number[] {
  if (modes === undefined) return [PskKeyExchangeMode.pskDheKe];
  if (modes.length === 0 || modes.length > 2) {
    throw new RangeError(`Cannot configure ${what}: give "psk_dhe_ke", "psk_ke" or both`);
  }
  const out: number[] = [];
  for (const m of modes) {
    const v = m === "psk_dhe_ke"
      ? PskKeyExchangeMode.pskDheKe
      : m === "psk_ke"
      ? PskKeyExchangeMode.pskKe
      : -1;
    if (v < 0) throw new RangeError(`Cannot configure ${what}: "${m}" is not "psk_dhe_ke" or "psk_ke"`);
    if (out.includes(v)) throw new RangeError(`Cannot configure ${what}: "${m}" is listed twice`);
    out.push(v);
  }
  return out;
}

/** The mode's name, for handshake info. */
export function pskModeName(mode: number): PskMode {
  return mode === PskKeyExchangeMode.pskKe ? "psk_ke" : "psk_dhe_ke";
}

/** Check one key (and its hash) for `what`; throws RangeError or TypeError. */
function checkKey(key: unknown, hash: unknown, what: string): PskHash {
  if (!(key instanceof Uint8Array)) throw new TypeError(`Cannot configure ${what}: key must be a Uint8Array`);
  if (key.length < LIMITS.minPskKeyLength || key.length > LIMITS.maxPskKeyLength) {
    throw new RangeError(
      `Cannot configure ${what}: the key has ${key.length} bytes, expected ${LIMITS.minPskKeyLength}..${LIMITS.maxPskKeyLength}`,
    );
  }
  if (hash !== undefined && hash !== "SHA-256" && hash !== "SHA-384") {
    throw new RangeError(`Cannot configure ${what}: hash "${hash}" is not "SHA-256" or "SHA-384"`);
  }
  return hash ?? "SHA-256";
}

/** Check and normalize a list of external PSKs (`what` names the option); distinct identities, bounded sizes. */
export function normalizeExternalPsks(psks: readonly ExternalPsk[], what: string): readonly ExternalKey[] {
  if (psks.length > LIMITS.maxExternalPsks) {
    throw new RangeError(`Cannot configure ${what}: ${psks.length} keys, at most ${LIMITS.maxExternalPsks}`);
  }
  const out: ExternalKey[] = [];
  psks.forEach((p, i) => {
    const identity = typeof p.identity === "string" ? utf8(p.identity) : p.identity;
    if (!(identity instanceof Uint8Array)) {
      throw new TypeError(`Cannot configure ${what}[${i}]: identity must be a string or a Uint8Array`);
    }
    if (identity.length < 1 || identity.length > LIMITS.maxPskIdentityLength) {
      throw new RangeError(
        `Cannot configure ${what}[${i}]: the identity has ${identity.length} bytes, expected 1..${LIMITS.maxPskIdentityLength}`,
      );
    }
    if (out.some((o) => ctEqual(o.identity, identity))) {
      throw new RangeError(`Cannot configure ${what}[${i}]: the identity is listed twice`);
    }
    const hash = checkKey(p.key, p.hash, `${what}[${i}]`);
    out.push({ identity: identity.slice(), key: p.key.slice(), hash });
  });
  return out;
}

/** A server's external PSKs: the static list, the lookup callback, the modes it accepts. */
export interface ServerPsks {
  readonly keys: readonly ExternalKey[];
  readonly lookup: PskLookup | undefined;
  /** Wire values of the accepted modes, in preference order. */
  readonly modes: readonly number[];
}

/** The key the server knows for `identity`, from its list first and then its lookup; undefined when unknown. */
export function findServerPsk(
  psks: ServerPsks,
  identity: Uint8Array,
): ExternalKey | undefined | PromiseLike<ExternalKey | undefined> {
  if (identity.length > LIMITS.maxPskIdentityLength) return undefined;
  const known = psks.keys.find((k) => ctEqual(k.identity, identity));
  if (known || !psks.lookup) return known;
  const answer = psks.lookup(identity.slice());
  const use = (r: PskLookupResult | undefined): ExternalKey | undefined => {
    if (r === undefined) return undefined;
    const key = r instanceof Uint8Array ? r : r.key;
    const hash = checkKey(key, r instanceof Uint8Array ? undefined : r.hash, "the PSK lookup's answer");
    return { identity: identity.slice(), key, hash };
  };
  return answer !== null && typeof answer === "object" && "then" in answer &&
      typeof answer.then === "function"
    ? Promise.resolve(answer).then(use)
    : use(answer as PskLookupResult | undefined);
}

/**
 * The mode to use with an external PSK: the first of ours the client also offers (RFC 8446 §4.2.9), or
 * undefined when none is common.
 */
export function chooseMode(ours: readonly number[], theirs: readonly number[]): number | undefined {
  return ours.find((m) => theirs.includes(m));
}

/** An external PSK's binder: HMAC over the truncated ClientHello with the "ext binder" key (RFC 8446 §4.2.11.2). */
export function externalBinder(hash: Hash, key: Uint8Array, transcriptHash: Uint8Array): Uint8Array {
  return finishedVerifyData(hash, new KeySchedule(hash, key).binderKey("ext binder"), transcriptHash);
}

/** A client's external PSK, with the hash object of the suites it can be used with. */
export interface ClientExternalKey extends ExternalKey {
  readonly hashFn: Hash;
}

/** A client's external PSKs and the modes it offers (wire values); `only`: it cannot verify a certificate. */
export interface ClientPsks {
  readonly keys: readonly ClientExternalKey[];
  readonly modes: readonly number[];
  readonly only: boolean;
}

/** The configuration facts the PSK checks need (a subset of Normalized, to keep this module free of config.ts). */
interface VersionedSuites {
  readonly minVersion: number;
  readonly maxVersion: number;
  readonly suites: readonly { readonly hash: Hash }[];
}

const TLS13 = 0x0304;

function hashFor(cfg: VersionedSuites, hash: PskHash, what: string): Hash {
  const h = cfg.suites.find((s) => s.hash.name === hash)?.hash;
  if (!h) throw new RangeError(`Cannot configure ${what}: no TLS 1.3 cipher suite uses its hash ${hash}`);
  return h;
}

/**
 * A client's PSK settings checked against its versions and suites, and its versions narrowed to TLS 1.3 when
 * the PSKs are its only way to authenticate the server (`verifies` false). Refused: `pskModes` without `psks`,
 * PSKs without TLS 1.3, a PSK whose hash no suite uses.
 */
export function clientPskSetup<C extends VersionedSuites>(
  config: { readonly psks?: readonly ExternalPsk[]; readonly pskModes?: readonly PskMode[] },
  cfg: C,
  verifies: boolean,
): { readonly psks: ClientPsks | undefined; readonly cfg: C } {
  if (config.psks === undefined || config.psks.length === 0) {
    if (config.pskModes !== undefined) {
      throw new TypeError("Cannot create client: pskModes applies to external PSKs, and psks is empty");
    }
    return { psks: undefined, cfg };
  }
  if (cfg.maxVersion < TLS13) {
    throw new RangeError("Cannot create client: external PSKs need TLS 1.3 (maxVersion is TLSv1.2)");
  }
  const keys = normalizeExternalPsks(config.psks, "psks").map((k, i) => ({
    ...k,
    hashFn: hashFor(cfg, k.hash, `psks[${i}]`),
  }));
  const modes = normalizePskModes(config.pskModes, "pskModes");
  return {
    psks: { keys, modes, only: !verifies },
    cfg: verifies ? cfg : { ...cfg, minVersion: TLS13 },
  };
}

/**
 * A server's PSK settings checked against its versions and suites; a server without certificates speaks
 * TLS 1.3 only. Refused: neither certificates nor PSKs, `pskModes` without PSKs, PSKs without TLS 1.3.
 */
export function serverPskSetup<C extends VersionedSuites>(
  config: {
    readonly psks?: readonly ExternalPsk[];
    readonly pskLookup?: PskLookup;
    readonly pskModes?: readonly PskMode[];
  },
  cfg: C,
  hasCertificates: boolean,
): { readonly psks: ServerPsks | undefined; readonly cfg: C } {
  const any = (config.psks !== undefined && config.psks.length > 0) || config.pskLookup !== undefined;
  if (!any) {
    if (config.pskModes !== undefined) {
      throw new TypeError("Cannot create server: pskModes applies to external PSKs, and there are none");
    }
    return { psks: undefined, cfg };
  }
  if (cfg.maxVersion < TLS13) {
    throw new RangeError("Cannot create server: external PSKs need TLS 1.3 (maxVersion is TLSv1.2)");
  }
  const keys = normalizeExternalPsks(config.psks ?? [], "psks");
  keys.forEach((k, i) => hashFor(cfg, k.hash, `psks[${i}]`));
  const psks = { keys, lookup: config.pskLookup, modes: normalizePskModes(config.pskModes, "pskModes") };
  return { psks, cfg: hasCertificates ? cfg : { ...cfg, minVersion: TLS13 } };
}
