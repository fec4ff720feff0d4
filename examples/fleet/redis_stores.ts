// Copyright 2026 the airlock authors. MIT license.

/**
 * A fleet's three shared stores in Redis, through `ioredis` (see server.ts for how they are used):
 *
 * - {@linkcode RedisTicketKeys}: rotating ticket keys. Time is cut into periods of `rotateMs`; each period has
 *   a 32-byte secret under `<prefix>ticket-key:<period>`, made by whichever server asks first (`SET NX`, so
 *   all agree) and fed to {@linkcode TicketKeys.setSecrets}: this period's seals, the previous and next
 *   periods' still open (a ticket lives at least one period, a server whose clock runs ahead is understood).
 *   The secrets are fetched again after `refreshMs`: past that, with Redis gone, the store fails and the
 *   engine fails closed (a full handshake, no ticket).
 * - {@linkcode RedisSessionIds}: TLS 1.2 session ids, their states sealed under the same ticket keys, so that
 *   Redis never holds a master secret in the clear, and expiring with the session.
 * - {@linkcode RedisStrikes}: the 0-RTT replay register: `SET NX` on the ClientHello's binder, expiring after
 *   the window. Refused, failed or timed out, the early data is refused.
 *
 * Every command is bounded by the client's `commandTimeout` and nothing queues while Redis is away
 * (`enableOfflineQueue: false`): the engine waits on these promises (WANT_ASYNC) as long as they take, so
 * bounding them is this file's job. Whoever can read this Redis can forge and open tickets: keep it private
 * (a loopback or private network, ACLs, TLS), as a fleet keeps any key store.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type { Redis } from "ioredis";
import { type AntiReplay, type SessionIdStore, TicketKeys, type TicketStore } from "../../mod.ts";
import { TICKET_AGE_SKEW_MS } from "../../engine/session.ts";
import { toHex } from "../../suites/bytes.ts";

/** The platform's CSPRNG, as the engine's default. */
function randomBytes(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

/** Options for {@linkcode RedisTicketKeys}. */
export interface RedisTicketKeysOptions {
  /** Key names start with this (default `airlock:`). */
  readonly prefix?: string;
  /** How long one secret seals new tickets, in milliseconds (default one hour): keep `tickets.lifetime` below it. */
  readonly rotateMs?: number;
  /** How long fetched secrets are used before they are fetched again, in milliseconds (default 1000). */
  readonly refreshMs?: number;
  /** The clock (milliseconds since the epoch); the same on every server, give or take a period. */
  readonly now?: () => number;
}

/** Rotating ticket keys shared through Redis: a {@link TicketStore} whose every operation may wait on Redis. */
export class RedisTicketKeys implements TicketStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #rotateMs: number;
  readonly #refreshMs: number;
  readonly #now: () => number;
  readonly #keys = new TicketKeys();
  #period = Number.NaN;
  #fetchedAt = 0;
  #fetching: Promise<TicketKeys> | undefined;

  /**
   * Keys from `redis`.
   *
   * @param redis A connected client, with a `commandTimeout` and `enableOfflineQueue: false`.
   * @param options Prefix, rotation period and refresh interval.
   */
  constructor(redis: Redis, options: RedisTicketKeysOptions = {}) {
    this.#redis = redis;
    this.#prefix = options.prefix ?? "airlock:";
    this.#rotateMs = options.rotateMs ?? 3_600_000;
    this.#refreshMs = options.refreshMs ?? 1000;
    this.#now = options.now ?? Date.now;
  }

  /** The keys for now: those fetched less than `refreshMs` ago in this period, or fetched afresh. */
  keys(): Promise<TicketKeys> {
    const now = this.#now();
    const period = Math.floor(now / this.#rotateMs);
    if (period === this.#period && now - this.#fetchedAt < this.#refreshMs) {
      return Promise.resolve(this.#keys);
    }
    // One fetch at a time, however many handshakes wait for it.
    this.#fetching ??= this.#fetch(period, now).finally(() => (this.#fetching = undefined));
    return this.#fetching;
  }

  async #fetch(period: number, now: number): Promise<TicketKeys> {
    const name = (p: number) => `${this.#prefix}ticket-key:${p}`;
    // This period's secret and the next one's, made by whoever comes first; each lives its own period, the
    // next (when it still opens tickets) and one more, for clocks that differ.
    const ttl = 3 * this.#rotateMs;
    const made = this.#redis.multi();
    for (const p of [period, period + 1]) made.set(name(p), Buffer.from(randomBytes(32)), "PX", ttl, "NX");
    made.mgetBuffer(name(period), name(period - 1), name(period + 1));
    const replies = await made.exec();
    const last = replies?.at(-1);
    if (!last || last[0]) {
      throw last?.[0] ?? new Error("Cannot fetch ticket keys: the transaction was aborted");
    }
    const [current, ...others] = last[1] as (Buffer | null)[];
    if (!current || current.length !== 32) {
      throw new Error(`Cannot fetch ticket keys: no secret for period ${period}`);
    }
    const secrets = [current, ...others.filter((s): s is Buffer => s?.length === 32)];
    this.#keys.setSecrets(secrets.map((s) => new Uint8Array(s)));
    this.#period = period;
    this.#fetchedAt = now;
    return this.#keys;
  }

  /** Seal `state` under this period's key. */
  async issue(state: Uint8Array, random: (n: number) => Uint8Array): Promise<Uint8Array> {
    return (await this.keys()).issue(state, random);
  }

  /** Open a ticket sealed in this period, the previous or the next one. */
  async redeem(ticket: Uint8Array): Promise<Uint8Array | undefined> {
    return (await this.keys()).redeem(ticket);
  }

  /** TLS 1.2: a ticket sealed in another period than this one is renewed. */
  async renews(ticket: Uint8Array): Promise<boolean> {
    return (await this.keys()).renews(ticket);
  }

  /** Never the keys. */
  toString(): string {
    return `RedisTicketKeys(${this.#prefix}ticket-key:*)`;
  }
}

/** TLS 1.2 session ids in Redis, each state sealed under the shared ticket keys and expiring with its session. */
export class RedisSessionIds implements SessionIdStore {
  readonly #redis: Redis;
  readonly #keys: RedisTicketKeys;
  readonly #prefix: string;

  /**
   * Session ids in `redis`.
   *
   * @param redis A connected client (see {@linkcode RedisTicketKeys}).
   * @param keys The keys that seal what is kept.
   * @param prefix Key names start with this (default `airlock:`).
   */
  constructor(redis: Redis, keys: RedisTicketKeys, prefix = "airlock:") {
    this.#redis = redis;
    this.#keys = keys;
    this.#prefix = prefix;
  }

  /** Keep `state`, sealed, under `id` for `lifetime` seconds. */
  async store(id: Uint8Array, state: Uint8Array, lifetime: number): Promise<void> {
    const sealed = await this.#keys.issue(state, randomBytes);
    await this.#redis.set(this.#name(id), Buffer.from(sealed), "PX", lifetime * 1000);
  }

  /** The state kept under `id`, if it is there and still opens. */
  async lookup(id: Uint8Array): Promise<Uint8Array | undefined> {
    const sealed = await this.#redis.getBuffer(this.#name(id));
    return sealed ? await this.#keys.redeem(new Uint8Array(sealed)) : undefined;
  }

  #name(id: Uint8Array): string {
    return `${this.#prefix}session:${toHex(id)}`;
  }
}

/**
 * The 0-RTT replay register in Redis (RFC 8446 §8.2, ClientHello recording): a binder is admitted once within
 * `windowMs` by the whole fleet. Redis's expiry is one clock for all; `marginMs` more covers the servers'
 * clocks differing in the ticket age check.
 */
export class RedisStrikes implements AntiReplay {
  readonly windowMs: number;
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #marginMs: number;

  /**
   * A register in `redis`.
   *
   * @param redis A connected client (see {@linkcode RedisTicketKeys}).
   * @param options Key prefix, window (default twice the ticket age skew, as StrikeRegister) and margin.
   */
  constructor(
    redis: Redis,
    options: { readonly prefix?: string; readonly windowMs?: number; readonly marginMs?: number } = {},
  ) {
    this.#redis = redis;
    this.#prefix = options.prefix ?? "airlock:";
    this.windowMs = options.windowMs ?? 2 * TICKET_AGE_SKEW_MS;
    this.#marginMs = options.marginMs ?? 1000;
  }

  /** True the first time the fleet sees `binder` within the window. */
  async admit(binder: Uint8Array): Promise<boolean> {
    const name = `${this.#prefix}strike:${toHex(binder)}`;
    return await this.#redis.set(name, "1", "PX", this.windowMs + this.#marginMs, "NX") === "OK";
  }
}
