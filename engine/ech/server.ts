// Copyright 2026 the airlock authors. MIT license.
// This module is browser compatible.

/**
 * The server side of Encrypted Client Hello (draft-ietf-tls-esni §7), in shared mode: this server decrypts
 * the inner ClientHello and terminates the handshake itself. A client-facing server that only decrypts and
 * forwards to a backend (split mode) is not built. server/hello.ts and server/tls13.ts call these hooks:
 *
 * - {@linkcode serverEchSetup}: the keys (`ServerConfig.echKeys`), checked once, and the retry_configs list.
 * - {@linkcode openClientHello}: the candidate keys are those whose config_id matches the client's (no trial
 *   decryption across other ids, §7.1's default); the first that opens the payload wins, and the
 *   ClientHelloInner is rebuilt (ech_outer_extensions expanded in linear time) and checked (§7.1:
 *   illegal_parameter). Nothing opens: the handshake goes on with the outer hello, and retry_configs go out.
 * - {@linkcode openSecondClientHello}: after a HelloRetryRequest, the same HPKE context opens the second
 *   payload (missing_extension, illegal_parameter, decrypt_error as §7.1.1 says).
 * - {@linkcode confirmEch}, {@linkcode echHelloRetryExtensions}, {@linkcode echRetryExtensions}: the acceptance signals and the retry configurations.
 * @module
 */

import { misbehaved } from "../errors.ts";
import { Reader } from "../msgs/codec.ts";
import { extensionName, ExtensionType as E, HandshakeType as H, ProtocolVersion } from "../msgs/enums.ts";
import { decodeClientVersions, decodeExtensions, type Extension, findExtension } from "../msgs/extensions.ts";
import { type ClientHello, encodeClientHello, type HandshakeMessage } from "../msgs/handshake.ts";
import type { Context } from "../state.ts";
import type { Hash } from "../../suites/hash.ts";
import { type HpkeContext, hpkeSetupRecipient, type MaybePromise } from "../../suites/hpke.ts";
import { x25519 } from "@noble/curves/ed25519.js";
import {
  type EchConfig,
  type EchKey,
  encodeEchConfigList,
  parseEchConfigList,
  parseEchKeyPem,
} from "./config.ts";
import type { EchServerKey } from "./options.ts";
import {
  decodeEchClientHello,
  echConfirmation,
  echInfo,
  type EchOuter,
  encodeEchOuter,
  SH_CONFIRMATION_AT,
} from "./wire.ts";

/** The keys, checked once. */
export interface ServerEchSetup {
  readonly keys: readonly {
    readonly privateKey: Uint8Array;
    readonly publicKey: Uint8Array;
    readonly config: EchConfig;
  }[];
  /** The ECHConfigList sent as retry_configs; undefined when no key is marked for it. */
  readonly retryConfigs: Uint8Array | undefined;
}

/** What became of a client's ECH on this connection. */
export type ServerEchState =
  | {
    readonly status: "accepted";
    readonly context: HpkeContext;
    readonly outer: EchOuter;
    readonly innerRandom: Uint8Array;
  }
  | { readonly status: "rejected" };

/**
 * Check `ServerConfig.echKeys` once.
 *
 * @throws {TypeError} If a key file or key does not parse, or a configuration is not one this server can use.
 */
export function serverEchSetup(keys: readonly EchServerKey[] | undefined): ServerEchSetup | undefined {
  if (!keys || keys.length === 0) return undefined;
  // A server makes an engine per connection from the same configuration: the keys are parsed and checked
  // (an X25519 point multiplication each) once per list.
  let setup = setups.get(keys);
  if (!setup) {
    setup = checkedKeys(keys);
    setups.set(keys, setup);
  }
  return setup;
}

/** Each `echKeys` list's setup, made once. */
const setups = new WeakMap<readonly EchServerKey[], ServerEchSetup>();

function checkedKeys(keys: readonly EchServerKey[]): ServerEchSetup {
  const out: { privateKey: Uint8Array; publicKey: Uint8Array; config: EchConfig }[] = [];
  const retry: Uint8Array[] = [];
  for (const [i, k] of keys.entries()) {
    const spec = typeof k === "string" ? { pem: k } : k;
    let key: EchKey;
    if (spec.pem !== undefined) key = parseEchKeyPem(spec.pem);
    else if (spec.privateKey && spec.config) key = { privateKey: spec.privateKey, config: spec.config };
    else throw new TypeError(`Cannot configure server: echKeys[${i}] needs pem, or privateKey and config`);
    const list = key.config[0] === 0xfe && key.config[1] === 0x0d
      ? encodeEchConfigList([key.config])
      : key.config;
    const [config, ...more] = parseEchConfigList(list);
    if (!config || more.length > 0 || key.privateKey.length !== 32) {
      throw new TypeError(
        `Cannot configure server: echKeys[${i}] is not one usable X25519 ECH configuration`,
      );
    }
    const publicKey = x25519.getPublicKey(key.privateKey);
    if (!publicKey.every((b, j) => b === config.publicKey[j])) {
      throw new TypeError(`Cannot configure server: echKeys[${i}]'s configuration is not its private key's`);
    }
    out.push({ privateKey: key.privateKey, publicKey, config });
    if (spec.retry !== false) retry.push(config.encoded);
  }
  return Object.freeze({
    keys: out,
    retryConfigs: retry.length > 0 ? encodeEchConfigList(retry) : undefined,
  });
}

/** The opened ClientHello: the inner one (accepted) or the outer one, and the state. */
export interface Opened {
  readonly ch: ClientHello;
  readonly m: HandshakeMessage;
  readonly state: ServerEchState | undefined;
}

/**
 * The first ClientHello (§7.1): decrypt the outer extension with the keys whose config_id it names. An inner
 * variant here is illegal_parameter (we are not a split-mode backend).
 */
export function openClientHello(
  cx: Context,
  setup: ServerEchSetup | undefined,
  ch: ClientHello,
  m: HandshakeMessage,
  where: string,
): MaybePromise<Opened> {
  const data = findExtension(ch.extensions, E.encryptedClientHello);
  if (data === undefined || !setup) return { ch, m, state: undefined };
  const outer = decodeEchClientHello(data, where);
  if (outer === "inner") {
    throw misbehaved("bad_ech_inner", "Cannot accept ClientHello: an inner encrypted_client_hello", where);
  }
  const candidates = setup.keys.filter((k) =>
    k.config.configId === outer.configId &&
    k.config.cipherSuites.some((s) => s.kdf === outer.kdf && s.aead === outer.aead)
  );
  const aad = outerAad(ch, outer);
  const rejected: Opened = { ch, m, state: { status: "rejected" } };
  const attempt = (i: number): MaybePromise<Opened> => {
    const k = candidates[i];
    if (!k) return rejected;
    let made: MaybePromise<HpkeContext>;
    try {
      made = hpkeSetupRecipient(
        cx.cfg.provider,
        { kem: k.config.kemId, kdf: outer.kdf, aead: outer.aead },
        k,
        outer.enc,
        echInfo(k.config.encoded),
      );
    } catch {
      return attempt(i + 1); // an enc that is no X25519 key: this candidate cannot open it
    }
    const opened = (context: HpkeContext): MaybePromise<Opened> => {
      const plain = context.open(aad, outer.payload);
      if (plain === null) return attempt(i + 1);
      const inner = innerHello(plain, ch, where);
      return { ...inner, state: { status: "accepted", context, outer, innerRandom: inner.ch.random } };
    };
    return made instanceof Promise ? made.then(opened, () => attempt(i + 1)) : opened(made as HpkeContext);
  };
  return attempt(0);
}

/**
 * After a HelloRetryRequest (§7.1.1): with ECH accepted, the second ClientHelloOuter must carry the extension
 * (missing_extension) with the same suite and config_id and an empty enc (illegal_parameter), and its payload
 * must open with the first hello's context (decrypt_error). Otherwise the outer hello stands.
 */
export function openSecondClientHello(
  state: ServerEchState | undefined,
  ch: ClientHello,
  m: HandshakeMessage,
  where: string,
): { ch: ClientHello; m: HandshakeMessage } {
  if (state?.status !== "accepted") return { ch, m };
  const data = findExtension(ch.extensions, E.encryptedClientHello);
  if (data === undefined) {
    throw misbehaved(
      "ech_missing",
      "Cannot accept ClientHello: encrypted_client_hello is missing after ECH",
      where,
    );
  }
  const outer = decodeEchClientHello(data, where);
  const first = state.outer;
  if (
    outer === "inner" || outer.configId !== first.configId || outer.kdf !== first.kdf ||
    outer.aead !== first.aead || outer.enc.length !== 0
  ) {
    throw misbehaved(
      "bad_ech_inner",
      "Cannot accept ClientHello: its encrypted_client_hello must keep the suite and config_id, with no enc",
      where,
    );
  }
  const plain = state.context.open(outerAad(ch, outer), outer.payload);
  if (plain === null) {
    throw misbehaved(
      "ech_decrypt",
      "Cannot accept ClientHello: the second encrypted ClientHello does not open",
      where,
    );
  }
  return innerHello(plain, ch, where);
}

/** ClientHelloOuterAAD (§5.2): the outer hello, header excluded, with the payload zeroed. */
function outerAad(ch: ClientHello, outer: EchOuter): Uint8Array {
  const zeroed = encodeEchOuter({ ...outer, payload: new Uint8Array(outer.payload.length) });
  return encodeClientHello({
    ...ch,
    extensions: ch.extensions.map((e) =>
      e.type === E.encryptedClientHello ? { type: e.type, data: zeroed } : e
    ),
  }).subarray(4);
}

/** The most extensions one ech_outer_extensions may name (OuterExtensions<2..254>). */
export const MAX_OUTER_EXTENSIONS = 127;

/**
 * Rebuild the ClientHelloInner from EncodedClientHelloInner (§5.1) and check it (§7.1): zero padding, the
 * outer session id, ech_outer_extensions expanded (each reference found in the outer hello in order, none to
 * encrypted_client_hello, none twice), the inner `encrypted_client_hello`, and TLS 1.3 or above only. Any
 * fault is illegal_parameter; bytes that do not parse are decode_error.
 */
function innerHello(
  plain: Uint8Array,
  outer: ClientHello,
  where: string,
): { ch: ClientHello; m: HandshakeMessage } {
  const bad = (why: string) => misbehaved("bad_ech_inner", `Cannot accept ClientHelloInner: ${why}`, where);
  const r = new Reader(plain, "EncodedClientHelloInner");
  const legacyVersion = r.u16();
  const random = r.bytes(32);
  const sessionId = r.vec8(0, 32, "legacy_session_id");
  const cipherSuites = r.u16List(2, 0xfffe, "cipher_suites");
  const compressionMethods = r.vec8(1, 255, "legacy_compression_methods");
  const encoded = decodeExtensions(r);
  if (sessionId.length !== 0) throw bad("legacy_session_id must be empty in EncodedClientHelloInner");
  for (let i = r.offset; i < plain.length; i++) if (plain[i] !== 0) throw bad("its padding is not all zeros");
  const extensions: Extension[] = [];
  let cursor = 0; // where in the outer hello the next referenced extension is looked for
  for (const e of encoded) {
    if (e.type !== E.echOuterExtensions) {
      extensions.push(e);
      continue;
    }
    const list = new Reader(e.data, "ech_outer_extensions");
    const types = list.u16List(2, 254, "OuterExtensions", 1);
    list.end();
    if (types.length > MAX_OUTER_EXTENSIONS) throw bad("ech_outer_extensions names too many extensions");
    for (const type of types) {
      if (type === E.encryptedClientHello) throw bad("ech_outer_extensions names encrypted_client_hello");
      while (cursor < outer.extensions.length && outer.extensions[cursor]!.type !== type) cursor++;
      const found = outer.extensions[cursor];
      if (!found) {
        throw misbehaved(
          "bad_ech_outer_extensions",
          `Cannot accept ClientHelloInner: ech_outer_extensions names ${
            extensionName(type)
          }, missing from the outer hello, repeated or out of order`,
          where,
        );
      }
      extensions.push(found);
      cursor++;
    }
  }
  const seen = new Set<number>();
  for (const e of extensions) {
    if (seen.has(e.type)) throw bad(`extension ${extensionName(e.type)} appears twice`);
    seen.add(e.type);
  }
  const ech = findExtension(extensions, E.encryptedClientHello);
  if (ech === undefined || ech.length !== 1 || ech[0] !== 1) {
    throw bad("it must carry the inner encrypted_client_hello");
  }
  const sv = findExtension(extensions, E.supportedVersions);
  const versions = sv === undefined ? [] : decodeClientVersions(sv, "ClientHelloInner.supported_versions");
  if (
    !versions.includes(ProtocolVersion.tls13) ||
    versions.some((v) => v >> 8 === 3 && v < ProtocolVersion.tls13)
  ) {
    throw bad("it must offer TLS 1.3 and nothing below");
  }
  const ch: ClientHello = {
    legacyVersion,
    random,
    sessionId: outer.sessionId,
    cipherSuites,
    compressionMethods,
    extensions,
  };
  const raw = encodeClientHello(ch);
  return { ch, m: { type: H.clientHello, body: raw.subarray(4), raw } };
}

/** A HelloRetryRequest's extensions from ECH: 8 zero bytes, filled by {@linkcode confirmEch} (§7.2.1). */
export function echHelloRetryExtensions(state: ServerEchState | undefined): Extension[] {
  return state?.status === "accepted" ? [{ type: E.encryptedClientHello, data: new Uint8Array(8) }] : [];
}

/**
 * With ECH accepted, write the acceptance signal into `raw` (§7.2, §7.2.1), over the transcript and `raw`
 * with the signal zeroed: a ServerHello's random's last 8 bytes, or a HelloRetryRequest's last 8 bytes (its
 * extension goes last; the transcript is already message_hash(ClientHelloInner1)).
 */
export function confirmEch(
  cx: Context,
  state: ServerEchState | undefined,
  hash: Hash,
  raw: Uint8Array,
  hrr: boolean,
): void {
  if (state?.status !== "accepted") return;
  const at = hrr ? raw.length - 8 : SH_CONFIRMATION_AT;
  raw.fill(0, at, at + 8);
  const th = cx.transcript.hashWith(hash, raw);
  raw.set(echConfirmation(hash, state.innerRandom, th, hrr), at);
}

/** EncryptedExtensions: retry_configs when the client's ECH was not used (§7.1), if any key is advertised. */
export function echRetryExtensions(
  setup: ServerEchSetup | undefined,
  state: ServerEchState | undefined,
): Extension[] {
  if (state?.status !== "rejected" || !setup?.retryConfigs) return [];
  return [{ type: E.encryptedClientHello, data: setup.retryConfigs }];
}
