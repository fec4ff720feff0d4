/**
 * TLS 1.3 resumption state (RFC 8446 §4.6.1, §2.2): the client's {@link TlsSession} (a value the caller
 * can store as bytes and load again), the server's ticket state, and the ticket protectors a server can
 * choose from: {@link TicketKeys} (stateless tickets sealed with AES-256-GCM under a rotating key, the
 * previous key still accepted) or {@link SessionCache} (a bounded server-side store; tickets are opaque ids
 * and single-use). Both implement {@link TicketStore}, the interface a cluster can implement to share keys or
 * sessions.
 *
 * Secrets (the resumption PSK) live only inside these values and the sealed tickets; they never appear in
 * errors, logs or `toString()`.
 * @module
 */

import { type Aead, AES_256_GCM } from "../suites/aead.ts";
import { ctEqual, utf8 } from "../suites/bytes.ts";
import { type Hash, SHA256 } from "../suites/hash.ts";
import { finishedVerifyData, hkdfExpandLabel, KeySchedule } from "./key_schedule.ts";
import { Reader, Writer } from "./msgs/codec.ts";

/** The resumption PSK for a ticket: HKDF-Expand-Label(resumption_master_secret, "resumption", nonce, Hash.length). */
export function ticketPsk(hash: Hash, resumptionSecret: Uint8Array, nonce: Uint8Array): Uint8Array {
  return hkdfExpandLabel(hash, resumptionSecret, "resumption", nonce, hash.outputLen);
}

// "ALS3": airlock session, format 3. Formats 1 and 2 were not bound to the verified identity, so they
// are refused rather than offered to a server they were never verified for.
const SESSION_MAGIC = 0x414c5333;

/** What a client keeps from a NewSessionTicket to resume later. */
export interface SessionData {
  /** The SNI the session was made with (none for an IP address). */
  readonly serverName: string | undefined;
  /**
   * The identity the server's certificate was verified for (the client's `serverName`: a host name in
   * its A-label form, or an IP address). A session is offered only to the same identity (RFC 8446 §4.6.1).
   */
  readonly peerName: string | undefined;
  /** Digest of how the server was verified (trust anchors, callbacks, or none): see `binding.ts`. */
  readonly verifyContext: Uint8Array;
  /** The cipher suite id; a resumption must use a suite with the same hash. */
  readonly cipherSuite: number;
  /** The ALPN protocol negotiated when the ticket was issued. */
  readonly alpn: string | undefined;
  /** The opaque ticket (TLS 1.2: empty for a session-id-only session). */
  readonly ticket: Uint8Array;
  /** The resumption PSK (secret); for TLS 1.2 the master secret. */
  readonly psk: Uint8Array;
  /** 0x0304 (TLS 1.3) or 0x0303 (TLS 1.2). A session resumes only at its own version. */
  readonly version: number;
  /** TLS 1.2: the server's session id (empty when the server gave none). */
  readonly sessionId: Uint8Array;
  /** TLS 1.2: the extended master secret (RFC 7627) was used; always true for TLS 1.3. */
  readonly extendedMasterSecret: boolean;
  readonly ticketAgeAdd: number;
  /** Seconds the ticket may be used after `receivedAt`. */
  readonly lifetime: number;
  /** Milliseconds since the epoch when the ticket arrived (the engine's clock). */
  readonly receivedAt: number;
  /** max_early_data_size the server allows with this ticket (0: no 0-RTT). */
  readonly maxEarlyData: number;
  /** The server's certificate chain from the original handshake (DER, leaf first). */
  readonly peerCertificates: readonly Uint8Array[];
}

/**
 * A client's resumable session, as the `session` event delivers it. Store it with `toBytes()` (it holds a
 * secret: keep it as you would a password) and pass `TlsSession.fromBytes(bytes)` as the client's `session`
 * option to resume.
 *
 * @example Save and load a session
 * ```ts ignore
 * on(client, "session", (s) => Deno.writeFileSync("session.bin", s.toBytes()));
 * const session = TlsSession.fromBytes(Deno.readFileSync("session.bin"));
 * const again = createClient({ serverName: "example.com", trustAnchors, session }, engine);
 * ```
 */
export class TlsSession {
  readonly #d: SessionData;

  /** @internal Made by the engine, or by {@link TlsSession.fromBytes}. */
  constructor(data: SessionData) {
    this.#d = data;
  }

  /** @internal The session's fields, for the engine. */
  get data(): SessionData {
    return this.#d;
  }

  /** The server name (SNI) it was made with. */
  get serverName(): string | undefined {
    return this.#d.serverName;
  }

  /** The identity (host name or IP address) the server was verified for: the session resumes only there. */
  get peerName(): string | undefined {
    return this.#d.peerName;
  }

  /** When the ticket stops being valid (milliseconds since the epoch). */
  get expiresAt(): number {
    return this.#d.receivedAt + this.#d.lifetime * 1000;
  }

  /** The cipher suite id it was made with. */
  get cipherSuite(): number {
    return this.#d.cipherSuite;
  }

  /** max_early_data_size the server allows with it. */
  get maxEarlyData(): number {
    return this.#d.maxEarlyData;
  }

  /** The protocol version it resumes: "TLSv1.3" or "TLSv1.2". */
  get version(): "TLSv1.3" | "TLSv1.2" {
    return this.#d.version === 0x0303 ? "TLSv1.2" : "TLSv1.3";
  }

  /**
   * Encode the session (format: "ALS3", then the fields, length-prefixed). The bytes contain the
   * resumption secret.
   */
  toBytes(): Uint8Array {
    const d = this.#d;
    const enc = new TextEncoder();
    const w = new Writer(512).u32(SESSION_MAGIC);
    w.vec(1, enc.encode(d.serverName ?? "")).u16(d.cipherSuite).vec(1, enc.encode(d.alpn ?? ""));
    w.vec(2, d.ticket).vec(1, d.psk).u32(d.ticketAgeAdd).u32(d.lifetime);
    w.u64(d.receivedAt).u32(d.maxEarlyData);
    w.prefixed(3, (w) => {
      for (const c of d.peerCertificates) w.vec(3, c);
    });
    w.u16(d.version).vec(1, d.sessionId).u8(d.extendedMasterSecret ? 1 : 0);
    w.vec(1, enc.encode(d.peerName ?? "")).vec(1, d.verifyContext);
    return w.finish();
  }

  /** Decode bytes made by {@link TlsSession.toBytes}; throws TypeError on anything else. */
  static fromBytes(bytes: Uint8Array): TlsSession {
    try {
      const r = new Reader(bytes, "TlsSession");
      const magic = r.u32();
      if (magic !== SESSION_MAGIC) throw new Error("magic");
      const dec = new TextDecoder();
      const serverName = dec.decode(r.vec8()) || undefined;
      const cipherSuite = r.u16();
      const alpn = dec.decode(r.vec8()) || undefined;
      const ticket = r.vec16(0).slice();
      const psk = r.vec8(32, 48).slice();
      const ticketAgeAdd = r.u32();
      const lifetime = r.u32();
      const receivedAt = r.u64();
      const maxEarlyData = r.u32();
      const certs = r.sub(3);
      const peerCertificates: Uint8Array[] = [];
      while (certs.left > 0) peerCertificates.push(certs.vec24(1).slice());
      const version = r.u16();
      const sessionId = r.vec8(0, 32).slice();
      const extendedMasterSecret = r.u8() === 1;
      const peerName = dec.decode(r.vec8()) || undefined;
      const verifyContext = r.vec8(32, 32).slice();
      r.end();
      if (version !== 0x0304 && version !== 0x0303) throw new Error("version");
      if (version === 0x0304 ? ticket.length === 0 : ticket.length === 0 && sessionId.length === 0) {
        throw new Error("nothing to resume with");
      }
      return new TlsSession({
        version,
        sessionId,
        extendedMasterSecret,
        serverName,
        peerName,
        verifyContext,
        cipherSuite,
        alpn,
        ticket,
        psk,
        ticketAgeAdd,
        lifetime,
        receivedAt,
        maxEarlyData,
        peerCertificates,
      });
    } catch {
      throw new TypeError(
        "Cannot load session: the bytes are not an airlock session of format ALS3 " +
          "(sessions saved by airlock before 0.2 are not bound to the verified server: connect afresh)",
      );
    }
  }

  /** No secrets in logs. */
  toString(): string {
    return `TlsSession(${this.#d.serverName ?? "-"}, suite 0x${this.#d.cipherSuite.toString(16)})`;
  }
}

/** What a server seals into a ticket (or keeps in its cache). */
export interface TicketState {
  /** 0x0304, or 0x0303 for a TLS 1.2 session (then `psk` is the master secret). */
  readonly version: number;
  /** TLS 1.2: the extended master secret was used. */
  readonly ems: boolean;
  readonly cipherSuite: number;
  readonly psk: Uint8Array;
  readonly ticketAgeAdd: number;
  /** Milliseconds since the epoch when issued. */
  readonly issuedAt: number;
  /** Seconds. */
  readonly lifetime: number;
  readonly serverName: string | undefined;
  readonly alpn: string | undefined;
  readonly maxEarlyData: number;
  /** The client's certificate chain, for mTLS identity in resumed sessions. */
  readonly clientCertificates: readonly Uint8Array[];
  /** Digest of the server's authentication context when issued (see `binding.ts`): resumes only under the same. */
  readonly context: Uint8Array;
  /** Milliseconds since the epoch of the full handshake that authenticated the session; kept through resumptions. */
  readonly authenticatedAt: number;
  /** The client chain's earliest notAfter (milliseconds since the epoch); 0 without a client chain. */
  readonly peerNotAfter: number;
}

// Formats 3 (TLS 1.3) and 4 (TLS 1.2) carry the authentication context and time. Formats 1 and 2 did not:
// they decode to nothing, so their tickets give a full handshake.
const TICKET_FORMAT_13 = 3;
const TICKET_FORMAT_12 = 4;

/** Encode a ticket state. */
export function encodeTicketState(s: TicketState): Uint8Array {
  const enc = new TextEncoder();
  const format = s.version === 0x0303 ? TICKET_FORMAT_12 : TICKET_FORMAT_13;
  const w = new Writer(256).u8(format).u16(s.cipherSuite).vec(1, s.psk).u32(s.ticketAgeAdd);
  w.u64(s.issuedAt).u32(s.lifetime);
  w.vec(1, enc.encode(s.serverName ?? "")).vec(1, enc.encode(s.alpn ?? "")).u32(s.maxEarlyData);
  w.prefixed(3, (w) => {
    for (const c of s.clientCertificates) w.vec(3, c);
  });
  w.u8(s.ems ? 1 : 0).vec(1, s.context).u64(s.authenticatedAt).u64(s.peerNotAfter);
  return w.finish();
}

/** Decode a ticket state; undefined for anything malformed. */
export function decodeTicketState(bytes: Uint8Array): TicketState | undefined {
  try {
    const r = new Reader(bytes, "TicketState");
    const format = r.u8();
    if (format !== TICKET_FORMAT_13 && format !== TICKET_FORMAT_12) return undefined;
    const dec = new TextDecoder();
    const cipherSuite = r.u16();
    const psk = r.vec8(32, 48).slice();
    const ticketAgeAdd = r.u32();
    const issuedAt = r.u64();
    const lifetime = r.u32();
    const serverName = dec.decode(r.vec8()) || undefined;
    const alpn = dec.decode(r.vec8()) || undefined;
    const maxEarlyData = r.u32();
    const certs = r.sub(3);
    const clientCertificates: Uint8Array[] = [];
    while (certs.left > 0) clientCertificates.push(certs.vec24(1).slice());
    const ems = r.u8() === 1;
    const context = r.vec8(32, 32).slice();
    const authenticatedAt = r.u64();
    const peerNotAfter = r.u64();
    r.end();
    return {
      version: format === TICKET_FORMAT_13 ? 0x0304 : 0x0303,
      ems,
      cipherSuite,
      psk,
      ticketAgeAdd,
      issuedAt,
      lifetime,
      serverName,
      alpn,
      maxEarlyData,
      clientCertificates,
      context,
      authenticatedAt,
      peerNotAfter,
    };
  } catch {
    return undefined;
  }
}

/**
 * Where a server's resumption state goes: `issue` turns a state into the ticket bytes sent to the client
 * (sealed, or an id), `redeem` gives the state back for a ticket (undefined when unknown, expired from the
 * store, tampered with or sealed under a retired key). Implement it to share tickets across a cluster.
 *
 * Each operation may answer at once or with a promise (a networked store): while one is pending the engine
 * says WANT_ASYNC, as for pending crypto, and goes on when it settles. One that rejects or throws fails
 * closed: a failed `redeem` is an unknown ticket (a full handshake), a failed `issue` sends no ticket, a
 * failed `renews` renews nothing, and the engine's `storeerror` event says which failed. Bounding how long
 * a promise may take (a command timeout) is the store's business: the engine waits as long as it takes.
 */
export interface TicketStore {
  /**
   * The ticket bytes for `state`, `random` being the engine's source (for ids or nonces). `lifetime` is the
   * ticket's lifetime in seconds, for stores that expire what they keep.
   */
  issue(
    state: Uint8Array,
    random: (n: number) => Uint8Array,
    lifetime: number,
  ): Uint8Array | PromiseLike<Uint8Array>;
  /** The state `ticket` stands for, or undefined when unknown, expired, tampered with or retired. */
  redeem(ticket: Uint8Array): Uint8Array | undefined | PromiseLike<Uint8Array | undefined>;
  /**
   * Whether a TLS 1.2 resumption by `ticket` (just redeemed) gives the client a new ticket (RFC 5077 §3.3
   * lets the server choose; default true). TLS 1.3 always sends new tickets.
   */
  renews?(ticket: Uint8Array): boolean | PromiseLike<boolean>;
}

/**
 * Where a TLS 1.2 server keeps sessions by session id (RFC 5246 §7.3): a {@link SessionCache}, or a shared
 * store of your own. As with {@link TicketStore}, each operation may return a promise (WANT_ASYNC meanwhile),
 * and one that fails is a miss (`lookup`: a full handshake) or nothing kept (`store`), never an error.
 */
export interface SessionIdStore {
  /** Keep `state` (it holds the master secret) under `id` for `lifetime` seconds. */
  store(id: Uint8Array, state: Uint8Array, lifetime: number): void | PromiseLike<void>;
  /** The state kept under `id`, or undefined. */
  lookup(id: Uint8Array): Uint8Array | undefined | PromiseLike<Uint8Array | undefined>;
}

interface TicketKey {
  readonly id: Uint8Array;
  readonly key: ReturnType<Aead["importKey"]>;
}

/** How many keys {@link TicketKeys.setSecrets} takes at most (the current one and those still redeemed). */
const MAX_TICKET_SECRETS = 16;

/**
 * Stateless tickets: the state sealed with AES-256-GCM under the current key (ticket = key id 16 ‖ nonce 12
 * ‖ ciphertext). `rotate()` makes a new current key and keeps the previous one for redeeming, so a
 * ticket stays valid for at least one rotation period and at most two. Rotate on a timer of your own (every
 * ticket lifetime, say); keys come from `random`.
 *
 * Servers that share tickets share the keys' secrets instead ({@link TicketKeys.setSecrets}, as Go's
 * `SetSessionTicketKeys`): the first secret seals, every one of them opens. Keys are never logged: they live
 * in private fields, and `toString()` gives only their number.
 */
export class TicketKeys implements TicketStore {
  /** The current key first, then those still redeemed. */
  #keys: TicketKey[];
  readonly #random: (n: number) => Uint8Array;
  readonly #aead: Aead;

  /**
   * A store with a fresh current key.
   *
   * @param random Where keys come from (default: the platform's CSPRNG).
   * @param aead The AES-256-GCM implementation that seals and opens tickets (default noble's; a server's
   *   own store takes its provider's, `provider.aead("AES-256-GCM")`: the same bytes, natively).
   */
  constructor(
    random: (n: number) => Uint8Array = (n) => crypto.getRandomValues(new Uint8Array(n)),
    aead: Aead = AES_256_GCM,
  ) {
    if (aead.name !== "AES-256-GCM") {
      throw new TypeError(
        `Cannot seal tickets with ${aead.name}: TicketKeys takes an AES-256-GCM implementation`,
      );
    }
    this.#random = random;
    this.#aead = aead;
    this.#keys = [this.#make()];
  }

  /**
   * Keys from shared secrets, for servers that must open each other's tickets (see `setSecrets`).
   *
   * @example Two servers, one secret
   * ```ts
   * import { TicketKeys } from "@airlock/tls";
   * const secret = crypto.getRandomValues(new Uint8Array(32)); // from your secret store, rotated there
   * const a = TicketKeys.fromSecrets([secret]), b = TicketKeys.fromSecrets([secret]);
   * const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));
   * const ticket = a.issue(new Uint8Array([1, 2, 3]), random);
   * if (b.redeem(ticket)?.[2] !== 3) throw new Error("b cannot open a's ticket");
   * ```
   *
   * @param secrets 32-byte secrets, the current one first.
   * @param aead The AES-256-GCM implementation (default noble's), as for the constructor.
   * @returns The keys.
   */
  static fromSecrets(secrets: readonly Uint8Array[], aead: Aead = AES_256_GCM): TicketKeys {
    const keys = new TicketKeys(undefined, aead);
    keys.setSecrets(secrets);
    return keys;
  }

  #make(): TicketKey {
    return { id: this.#random(16), key: this.#aead.importKey(this.#random(32)) };
  }

  /** Make a new current key; the old current becomes the previous, the old previous is forgotten. */
  rotate(): void {
    this.#keys = [this.#make(), this.#keys[0]!];
  }

  /**
   * Replace the keys with ones derived from shared secrets (Go's `SetSessionTicketKeys`, rustls' ticketer
   * fed from outside): `secrets[0]` seals new tickets, and a ticket sealed under any of them opens. Each
   * 32-byte secret gives a key id and an AES-256-GCM key through HKDF-SHA256, the same on every server, so
   * a fleet rotates by handing all its servers the same list (a new secret first, the older ones after it
   * for as long as their tickets should still resume). The secrets are not kept.
   *
   * @param secrets 1 to 16 secrets of 32 bytes, the current one first.
   * @throws {RangeError} If there are none, more than 16, or one is not 32 bytes long.
   */
  setSecrets(secrets: readonly Uint8Array[]): void {
    if (secrets.length < 1 || secrets.length > MAX_TICKET_SECRETS) {
      throw new RangeError(
        `Cannot set ticket keys: ${secrets.length} secrets, expected 1..${MAX_TICKET_SECRETS}`,
      );
    }
    this.#keys = secrets.map((secret, i) => {
      if (secret.length !== 32) {
        throw new RangeError(`Cannot set ticket keys: secret ${i} has ${secret.length} bytes, expected 32`);
      }
      const prk = SHA256.hkdfExtract(utf8("airlock ticket keys"), secret);
      return {
        id: SHA256.hkdfExpand(prk, utf8("key id"), 16),
        key: this.#aead.importKey(SHA256.hkdfExpand(prk, utf8("aes-256-gcm key"), 32)),
      };
    });
  }

  /** Seal `state` under the current key: key id ‖ nonce ‖ AES-256-GCM ciphertext. */
  issue(state: Uint8Array, random: (n: number) => Uint8Array): Uint8Array {
    const current = this.#keys[0]!;
    const nonce = random(12);
    const sealed = current.key.seal(nonce, current.id, state);
    const out = new Uint8Array(28 + sealed.length);
    out.set(current.id);
    out.set(nonce, 16);
    out.set(sealed, 28);
    return out;
  }

  /** Only a ticket sealed under an older key is renewed on a TLS 1.2 resumption, as OpenSSL renews them. */
  renews(ticket: Uint8Array): boolean {
    return !ctEqual(ticket.subarray(0, 16), this.#keys[0]!.id);
  }

  /** Open a ticket sealed under one of the keys (the current or the previous one); undefined otherwise. */
  redeem(ticket: Uint8Array): Uint8Array | undefined {
    if (ticket.length < 28 + 16) return undefined;
    const id = ticket.subarray(0, 16);
    const k = this.#keys.find((k) => ctEqual(k.id, id));
    if (!k) return undefined;
    return k.key.open(ticket.subarray(16, 28), id, ticket.subarray(28)) ?? undefined;
  }

  /** The number of keys, never the keys. */
  toString(): string {
    return `TicketKeys(${this.#keys.length} keys)`;
  }
}

/**
 * A bounded server-side session store: tickets are random ids, each redeemable once (which also makes
 * 0-RTT replay-safe); the oldest entries are dropped beyond `capacity`.
 */
export class SessionCache implements TicketStore, SessionIdStore {
  readonly #entries = new Map<string, Uint8Array>();
  readonly #capacity: number;

  /**
   * An empty cache.
   *
   * @param capacity The most entries kept; the oldest go first.
   */
  constructor(capacity = 10_000) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`Cannot create SessionCache: capacity ${capacity}`);
    }
    this.#capacity = capacity;
  }

  /** Entries held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Keep `state` under a new random 32-byte id, the ticket. */
  issue(state: Uint8Array, random: (n: number) => Uint8Array): Uint8Array {
    const id = random(32);
    this.#entries.set(key(id), state);
    while (this.#entries.size > this.#capacity) this.#entries.delete(this.#entries.keys().next().value!);
    return id;
  }

  /** Its tickets are single-use: a resumption always gets a new one. */
  renews(_ticket: Uint8Array): boolean {
    return true;
  }

  /** The state kept under `ticket`, forgotten as it is returned (single use). */
  redeem(ticket: Uint8Array): Uint8Array | undefined {
    const k = key(ticket);
    const state = this.#entries.get(k);
    this.#entries.delete(k);
    return state;
  }

  /** TLS 1.2 session ids: keep `state` under `id` (the oldest entries go beyond `capacity`). */
  store(id: Uint8Array, state: Uint8Array): void {
    this.#entries.delete(key(id));
    this.#entries.set(key(id), state);
    while (this.#entries.size > this.#capacity) this.#entries.delete(this.#entries.keys().next().value!);
  }

  /** TLS 1.2 session ids: the state kept under `id`, left in place (a session id may resume many times). */
  lookup(id: Uint8Array): Uint8Array | undefined {
    return this.#entries.get(key(id));
  }

  /** Forget `id` (a session that failed, or was invalidated). */
  remove(id: Uint8Array): void {
    this.#entries.delete(key(id));
  }
}

function key(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

/** A PSK binder: HMAC over the truncated ClientHello's transcript hash with the binder key (RFC 8446 §4.2.11.2). */
export function pskBinder(hash: Hash, psk: Uint8Array, transcriptHash: Uint8Array): Uint8Array {
  return finishedVerifyData(hash, new KeySchedule(hash, psk).binderKey(), transcriptHash);
}

/**
 * How far the client's view of a ticket's age may differ from the server's, either way (RFC 8446 §8.3). The
 * same ClientHello can then pass the age check for twice this long, so a {@link StrikeRegister} remembers a
 * binder that long by default.
 */
export const TICKET_AGE_SKEW_MS = 10_000;

/**
 * What refuses replayed 0-RTT (RFC 8446 §8.2, "ClientHello recording"): a {@link StrikeRegister} in memory,
 * or one a fleet shares (a networked store). `admit` may answer with a promise (WANT_ASYNC meanwhile); one
 * that rejects or throws refuses the early data (the handshake goes on in 1-RTT), never accepts it.
 */
export interface AntiReplay {
  /**
   * How long a binder is remembered, in milliseconds: early data is taken only from a ClientHello whose
   * ticket age is within half of it, so that every replay that passes the age check comes while it is.
   */
  readonly windowMs: number;
  /**
   * Record `binder` (a ClientHello's first PSK binder) at `now`: true if it was not seen within the window
   * (take the early data), false for a replay, or when it cannot tell (full, unreachable): fail closed.
   */
  admit(binder: Uint8Array, now: number): boolean | PromiseLike<boolean>;
}

/**
 * Anti-replay for 0-RTT with stateless tickets (RFC 8446 §8.2, "ClientHello recording"): each ClientHello's
 * PSK binder is remembered for `windowMs`, boundary included; a binder seen again inside that time is a
 * replay, and its early data is refused (the handshake itself goes on, in 1-RTT). The server takes early data
 * only from a ClientHello whose ticket age is within `windowMs / 2` of its own, so any replay that would pass
 * that check falls inside the window. When full, it refuses all early data rather than forget: it fails safe.
 * With a {@link SessionCache}, tickets are single-use and this is not needed.
 */
export class StrikeRegister implements AntiReplay {
  readonly #seen = new Map<string, number>();
  readonly #capacity: number;
  readonly #windowMs: number;

  /**
   * An empty register.
   *
   * @param capacity The most binders remembered at once (a full register refuses 0-RTT, failing closed).
   * @param windowMs How long each is remembered.
   */
  constructor(capacity = 100_000, windowMs = 2 * TICKET_AGE_SKEW_MS) {
    this.#capacity = capacity;
    this.#windowMs = windowMs;
  }

  /** How long a binder is remembered, in milliseconds. */
  get windowMs(): number {
    return this.#windowMs;
  }

  /** Record `binder` at `now`; false if it was seen within the window, or the register is full. */
  admit(binder: Uint8Array, now: number): boolean {
    for (const [k, t] of this.#seen) {
      if (now - t <= this.#windowMs) break; // insertion order is time order
      this.#seen.delete(k);
    }
    const k = key(binder);
    if (this.#seen.has(k) || this.#seen.size >= this.#capacity) return false;
    this.#seen.set(k, now);
    return true;
  }
}
