// Copyright 2026 the airlock authors. MIT license.
// This module is browser compatible.

/**
 * The client side of Encrypted Client Hello (draft-ietf-tls-esni §6): hello.ts and tls13.ts call these hooks.
 *
 * - {@linkcode setupClientEch}: per connection, the configuration and HPKE suite chosen and the sender's HPKE
 *   context made (or a GREASE extension planned).
 * - {@linkcode innerExtensions} / {@linkcode sealOuterHello}: the ClientHelloInner (TLS 1.3 only, the inner
 *   `encrypted_client_hello`) and the ClientHelloOuter to the public name carrying it, sealed with the
 *   ClientHelloOuterAAD. `ech_outer_extensions` compresses key_share alone (the outer key shares are the
 *   inner ones: the largest extension, and nothing secret); the rest goes whole. {@linkcode echExtension}:
 *   GREASE.
 * - {@linkcode decideEch}: acceptance from the HelloRetryRequest's extension or ServerHello.random (§6.1.4);
 *   on rejection, the outer transcript and a handshake for the public name.
 * - {@linkcode echEncryptedExtensions}, {@linkcode EchRejectedError}: retry_configs, and the failure a
 *   rejection ends in once the handshake for the public name is complete.
 * @module
 */

import { invalidMessage, misbehaved, TlsError } from "../errors.ts";
import { ExtensionType as E, ProtocolVersion } from "../msgs/enums.ts";
import { encodeServerNameList, type Extension, findExtension } from "../msgs/extensions.ts";
import { decodeClientHello, encodeClientHello, type ServerHello } from "../msgs/handshake.ts";
import type { VerifyPolicy } from "../peer_verify.ts";
import type { Context } from "../state.ts";
import { Transcript } from "../transcript.ts";
import { ctEqual } from "../../suites/bytes.ts";
import { hpkeSetupSender, hpkeSupports, type MaybePromise } from "../../suites/hpke.ts";
import type { HpkeContext } from "../../suites/hpke.ts";
import type { Tls13Suite } from "../../suites/tls13.ts";
import { type KeyShare, X25519 } from "../../suites/kx.ts";
import { type EchCipherSuite, type EchConfig, parseEchConfigList } from "./config.ts";
import type { EchClientOptions } from "./options.ts";
import {
  decodeRetryConfigs,
  ECH_INNER_BODY,
  echConfirmation,
  echInfo,
  echPadding,
  encodeEchOuter,
  HPKE_TAG_LENGTH,
  hrrTranscript,
  SH_CONFIRMATION_AT,
} from "./wire.ts";

/** What a client with ECH keeps while it waits for the server's first message. */
export type ClientEch =
  | {
    readonly kind: "real";
    readonly config: EchConfig;
    readonly suite: EchCipherSuite;
    readonly enc: Uint8Array;
    readonly context: HpkeContext;
    readonly innerRandom: Uint8Array;
    readonly outerRandom: Uint8Array;
    /** The outer ClientHello(s), hashed beside the inner transcript until the server decides. */
    readonly outerTranscript: Transcript;
    /** The verify policy for the public name (a rejection is authenticated for it, §6.1.7). */
    readonly publicPolicy: VerifyPolicy;
    /** The HelloRetryRequest confirmed ECH: the ServerHello must too (§6.1.5). */
    readonly hrrAccepted: boolean;
    /** The outer extension as the last ClientHelloOuter carried it. */
    readonly outerExtension?: Uint8Array;
  }
  | {
    /** GREASE (§6.2), or a real offer the HelloRetryRequest rejected: the extension is sent as it was. */
    readonly kind: "grease" | "rejected";
    /** GREASE: a real X25519 public key for `enc`, made by the provider (its private key is dropped). */
    readonly enc?: Uint8Array;
    /** The extension body, fixed by the first ClientHello (undefined until then). */
    readonly data: Uint8Array | undefined;
    /** For "rejected": what the rejection needs later. */
    readonly config?: EchConfig;
  };

/** A client's ECH setting, validated once by `createClient`. */
export type ClientEchSetting =
  | { readonly kind: "real"; readonly config: EchConfig; readonly suite: EchCipherSuite }
  | { readonly kind: "grease" }
  | undefined;

/**
 * Validate `ClientConfig.ech`: the configuration and HPKE suite to use, GREASE, or nothing.
 *
 * @throws {TypeError} If `configList` holds no configuration this client can use (or does not parse).
 */
export function clientEchSetting(
  options: EchClientOptions | undefined,
  maxVersion: number,
): ClientEchSetting {
  if (options?.configList !== undefined) {
    let configs: EchConfig[];
    try {
      configs = parseEchConfigList(options.configList);
    } catch (e) {
      throw new TypeError(
        `Cannot create client: ech.configList is not an ECHConfigList (${(e as Error).message})`,
      );
    }
    const config = configs[0];
    if (!config) {
      throw new TypeError(
        "Cannot create client: ech.configList holds no configuration this client can use " +
          "(version 0xfe0d, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 with AES-GCM or ChaCha20-Poly1305)",
      );
    }
    if (maxVersion < ProtocolVersion.tls13) {
      throw new TypeError("Cannot create client: ECH needs TLS 1.3 (maxVersion)");
    }
    const suite = config.cipherSuites.find((s) => hpkeSupports({ kem: config.kemId, ...s }))!;
    return { kind: "real", config, suite };
  }
  if (options?.grease === false || maxVersion < ProtocolVersion.tls13) return undefined;
  return { kind: "grease" };
}

/**
 * Per connection: for a real offer, the HPKE sender's context (a promise where X25519 is asynchronous), with
 * the `ECH_SECRET` and `ECH_CONFIG` key log lines, keyed by the outer ClientHello's random as
 * draft-ietf-tls-ech-keylogfile says (the traffic secrets' lines use the inner one once ECH is accepted, the
 * outer one otherwise).
 */
export function setupClientEch(
  cx: Context,
  setting: ClientEchSetting,
  innerRandom: Uint8Array,
  policy: VerifyPolicy,
): MaybePromise<ClientEch | undefined> {
  if (!setting) return undefined;
  if (setting.kind === "grease") {
    // The provider's X25519 (native where there is one): a pure-JS scalar multiplication costs about 0.5 ms.
    const share = cx.cfg.provider.keyShare(X25519, cx.cfg.random);
    const grease = (s: KeyShare): ClientEch => ({ kind: "grease", data: undefined, enc: s.publicKey });
    return share instanceof Promise ? share.then(grease) : grease(share as KeyShare);
  }
  const { config, suite } = setting;
  const made = hpkeSetupSender(
    cx.cfg.provider,
    { kem: config.kemId, ...suite },
    config.publicKey,
    echInfo(config.encoded),
    cx.cfg.random,
  );
  const outerRandom = cx.cfg.random(32);
  const done = (s: { enc: Uint8Array; context: HpkeContext; sharedSecret: Uint8Array }): ClientEch => {
    cx.keyLog("ECH_SECRET", s.sharedSecret, outerRandom);
    cx.keyLog("ECH_CONFIG", config.encoded, outerRandom);
    return {
      kind: "real",
      config,
      suite,
      enc: s.enc,
      context: s.context,
      innerRandom,
      outerRandom,
      outerTranscript: new Transcript(),
      publicPolicy: { ...policy, peerName: config.publicName },
      hrrAccepted: false,
    };
  };
  return made instanceof Promise ? made.then(done) : done(made as Awaited<typeof made>);
}

/**
 * The inner hello's changes (§6.1): supported_versions TLS 1.3 only, and the inner `encrypted_client_hello`.
 */
export function innerExtensions(exts: Extension[]): void {
  const sv = exts.findIndex((e) => e.type === E.supportedVersions);
  if (sv >= 0) exts[sv] = { type: E.supportedVersions, data: Uint8Array.of(2, 3, 4) };
  exts.push({ type: E.encryptedClientHello, data: ECH_INNER_BODY });
}

/**
 * GREASE, or a real offer a HelloRetryRequest rejected: the outer extension, fixed by the first ClientHello
 * and sent again as it was (§6.2.1). Returns the state with the extension fixed.
 */
export function echExtension(
  cx: Context,
  ech: Exclude<ClientEch, { kind: "real" }>,
  exts: Extension[],
  sni: string | undefined,
): ClientEch {
  const data = ech.data ?? greaseExtension(cx, ech.enc!, exts, sni);
  exts.push({ type: E.encryptedClientHello, data });
  return { ...ech, data };
}

/** ech_outer_extensions naming key_share alone: OuterExtensions<2..254>. */
const COMPRESSED = Uint8Array.of(2, E.keyShare >> 8, E.keyShare & 0xff);

/**
 * A GREASE extension (§6.2.1): a random config id, a suite we speak, a valid X25519 `enc` and a payload as long
 * as a real one for this hello would be (padded as §6.1.3 says, with maximum_name_length 0).
 */
function greaseExtension(
  cx: Context,
  enc: Uint8Array,
  exts: readonly Extension[],
  sni: string | undefined,
): Uint8Array {
  const random = cx.cfg.random;
  // As a real inner hello would be: key_share compressed away, the inner extension added.
  const encodedLength = exts.reduce(
    (n, e) => n + 4 + (e.type === E.keyShare ? COMPRESSED.length : e.data.length),
    2 + 32 + 1 + 2 + 2 * 3 + 2 + 2 + 4 + ECH_INNER_BODY.length,
  );
  const length = encodedLength + echPadding(encodedLength, sni?.length, 0) + HPKE_TAG_LENGTH;
  return encodeEchOuter({
    kdf: 0x0001,
    aead: 0x0001,
    configId: random(1)[0]!,
    enc,
    payload: random(length),
  });
}

/**
 * The ClientHelloOuter that carries `innerRaw` (§6.1.1, §6.1.3): the outer extensions (`outerExts`: what the
 * inner hello has before ECH's changes) with the public name as server_name, a fresh random, the inner's
 * session id, and the sealed EncodedClientHelloInner (session id emptied, padded) in the outer extension,
 * sealed with the ClientHelloOuterAAD (the outer hello with that payload zeroed). After a HelloRetryRequest
 * `enc` is empty and the same HPKE context seals again (§6.1.5).
 */
export function sealOuterHello(
  ech: Extract<ClientEch, { kind: "real" }>,
  innerRaw: Uint8Array,
  outerExts: readonly Extension[],
  sni: string | undefined,
  secondHello: boolean,
): { outer: Uint8Array; ech: ClientEch } {
  const inner = decodeClientHello(innerRaw.subarray(4));
  // key_share, the one large extension, is the outer hello's own: ech_outer_extensions names it (§5.1).
  const compressed = inner.extensions.map((e) =>
    e.type === E.keyShare ? { type: E.echOuterExtensions, data: COMPRESSED } : e
  );
  const encoded = encodeClientHello({ ...inner, sessionId: new Uint8Array(0), extensions: compressed })
    .subarray(4);
  const padding = echPadding(encoded.length, sni?.length, ech.config.maximumNameLength);
  const plaintext = new Uint8Array(encoded.length + padding);
  plaintext.set(encoded);
  const publicSni = { type: E.serverName, data: encodeServerNameList(ech.config.publicName) };
  const exts = outerExts.map((e) => e.type === E.serverName ? publicSni : e);
  if (!exts.some((e) => e.type === E.serverName)) exts.unshift(publicSni);
  const payloadLength = plaintext.length + HPKE_TAG_LENGTH;
  const zeroed = encodeEchOuter({
    ...ech.suite,
    configId: ech.config.configId,
    enc: secondHello ? new Uint8Array(0) : ech.enc,
    payload: new Uint8Array(payloadLength),
  });
  exts.push({ type: E.encryptedClientHello, data: zeroed });
  const outer = encodeClientHello({
    legacyVersion: inner.legacyVersion,
    random: ech.outerRandom,
    sessionId: inner.sessionId,
    cipherSuites: inner.cipherSuites,
    compressionMethods: inner.compressionMethods,
    extensions: exts,
  });
  // The outer extension is the last one, and its payload the last bytes of the hello.
  const sealed = ech.context.seal(outer.subarray(4), plaintext);
  outer.set(sealed, outer.length - payloadLength);
  const outerExtension = outer.slice(outer.length - zeroed.length);
  return { outer, ech: { ...ech, outerExtension } };
}

/** What the server's first message said about ECH. */
export type EchDecision =
  | { readonly accepted: true; readonly ech: ClientEch }
  | {
    readonly accepted: false;
    readonly config: EchConfig;
    readonly publicPolicy: VerifyPolicy;
    readonly outerRandom: Uint8Array;
    readonly outerExtension: Uint8Array;
  };

/**
 * Did the server use the inner hello? (§6.1.4) A HelloRetryRequest says so with its 8-byte extension, a
 * ServerHello with the last 8 bytes of its random, each compared in constant time with the confirmation over
 * the inner transcript. On rejection the outer transcript takes the inner one's place. A ServerHello that
 * does not confirm after a HelloRetryRequest that did is illegal_parameter (§6.1.5).
 */
export function decideEch(
  cx: Context,
  ech: Extract<ClientEch, { kind: "real" }>,
  sh: ServerHello,
  raw: Uint8Array,
  hrr: boolean,
  suite: Tls13Suite,
  where: string,
): EchDecision {
  const hash = suite.hash;
  let accepted: boolean;
  if (hrr) {
    const data = findExtension(sh.extensions, E.encryptedClientHello);
    if (data !== undefined && data.length !== 8) {
      throw invalidMessage(
        "bad_ech_extension",
        "Cannot accept HelloRetryRequest: encrypted_client_hello must be 8 bytes",
        where,
      );
    }
    if (data === undefined) accepted = false;
    else {
      const zeroed = new Uint8Array(raw); // a copy (a Node Buffer's slice() would be a view)
      const at = serverHelloExtensionAt(raw, E.encryptedClientHello);
      zeroed.fill(0, at, at + 8);
      const th = hrrTranscript(hash, cx.transcript.current(), zeroed);
      accepted = ctEqual(echConfirmation(hash, ech.innerRandom, th, true), data);
    }
  } else {
    const zeroed = new Uint8Array(raw); // a copy (a Node Buffer's slice() would be a view)
    zeroed.fill(0, SH_CONFIRMATION_AT, SH_CONFIRMATION_AT + 8);
    const th = cx.transcript.hashWith(hash, zeroed);
    accepted = ctEqual(echConfirmation(hash, ech.innerRandom, th, false), sh.random.subarray(24));
    if (!accepted && ech.hrrAccepted) {
      throw misbehaved(
        "bad_ech_confirmation",
        "Cannot accept ServerHello: the HelloRetryRequest accepted ECH, the ServerHello does not confirm it",
        where,
      );
    }
  }
  if (accepted) return { accepted: true, ech: hrr ? { ...ech, hrrAccepted: true } : ech };
  ech.outerTranscript.start(hash);
  cx.transcript.replaceWith(ech.outerTranscript);
  cx.clientRandom = ech.outerRandom;
  return {
    accepted: false,
    config: ech.config,
    publicPolicy: ech.publicPolicy,
    outerRandom: ech.outerRandom,
    outerExtension: ech.outerExtension!,
  };
}

/** The offset in `raw` (a whole ServerHello, already decoded once) of extension `type`'s body. */
export function serverHelloExtensionAt(raw: Uint8Array, type: number): number {
  let at = 4 + 2 + 32;
  at += 1 + raw[at]!; // legacy_session_id_echo
  at += 2 + 1 + 2; // cipher_suite, legacy_compression_method, the extensions' length
  while (at + 4 <= raw.length) {
    const t = (raw[at]! << 8) | raw[at + 1]!, len = (raw[at + 2]! << 8) | raw[at + 3]!;
    if (t === type) return at + 4;
    at += 4 + len;
  }
  throw new RangeError("extension not found");
}

/**
 * The server's `encrypted_client_hello` in EncryptedExtensions (§5, §6.1.6, §6.2.1): allowed only when it
 * used the outer hello (unsupported_extension after an acceptance); retry_configs must parse (decode_error).
 * Returns the list when ECH was really offered and rejected; GREASE ignores it.
 */
export function echEncryptedExtensions(
  status: "accepted" | "rejected" | "grease" | undefined,
  exts: readonly Extension[],
  where: string,
): Uint8Array | undefined {
  const data = findExtension(exts, E.encryptedClientHello);
  if (data === undefined) return undefined;
  if (status === "accepted") {
    throw misbehaved(
      "ech_retry_configs_after_accept",
      "Cannot accept EncryptedExtensions: encrypted_client_hello after ECH was accepted",
      where,
    );
  }
  const { list } = decodeRetryConfigs(data, where);
  return status === "rejected" ? list : undefined;
}

/**
 * The server did not use the encrypted ClientHello (draft-ietf-tls-esni §6.1.6). The handshake with the
 * client-facing server was completed and authenticated for the configuration's public name, then ended with
 * the `ech_required` alert: nothing was sent to the server, and no session kept.
 *
 * `retryConfigs` is the ECHConfigList the server sent, authenticated by that handshake: retry on a new
 * connection with it (`ech: { configList: err.retryConfigs }`), once. None means the server has ECH turned
 * off: retry without ECH if that is acceptable.
 *
 * @example Retry once with the server's new configurations
 * ```ts
 * import { EchRejectedError } from "../../mod.ts";
 *
 * function retryConfigsOf(e: unknown): Uint8Array | undefined {
 *   return e instanceof EchRejectedError ? e.retryConfigs : undefined;
 * }
 * void retryConfigsOf;
 * ```
 */
export class EchRejectedError extends TlsError {
  /** The server's retry_configs (an ECHConfigList), if it sent any. */
  readonly retryConfigs: Uint8Array | undefined;
  /** The retry configurations this client can use, parsed. */
  readonly retryConfigList: readonly EchConfig[];
  /** The public name the handshake was authenticated for. */
  readonly publicName: string;

  /**
   * Made by the client when the handshake for the public name is complete.
   * @param retryConfigs The server's retry_configs, if any.
   * @param publicName The public name the handshake was authenticated for.
   * @param where The state that found it.
   */
  constructor(retryConfigs: Uint8Array | undefined, publicName: string, where: string) {
    super(
      "ech_required",
      "peer_incompatible.ech_rejected",
      retryConfigs
        ? `The server did not accept ECH; it sent retry configurations, authenticated for ${publicName}`
        : `The server did not accept ECH and sent no retry configurations: ${publicName} has ECH turned off`,
      where,
    );
    this.retryConfigs = retryConfigs;
    this.retryConfigList = retryConfigs ? parseEchConfigList(retryConfigs) : [];
    this.publicName = publicName;
  }
}
