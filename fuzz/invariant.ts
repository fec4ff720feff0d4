// Copyright 2026 the airlock authors. MIT license.

/**
 * The invariant every fuzz input is checked against. {@link runEngineOnInput} drives one fresh engine (seeded
 * randomness, fixed clock) against peer bytes it is given, with a bounded number of calls, and throws an
 * {@link InvariantViolation} (the fuzzer's "crash") when:
 * - an engine call throws, or the engine fails with `local.internal` (an exception of another type inside it);
 * - the engine fails without sending the alert `error.alert` names (or sends a fatal alert without failing);
 * - `read()` returns bytes before the handshake is done, or bytes the peer never sealed (plaintext from a record
 *   that failed authentication);
 * - a failed engine does not stay failed with the same error;
 * - `keyUpdate()` on a TLS 1.2 connection does anything but refuse locally (`local.key_update_tls12`);
 * - it does not stop: WANT_READ once the transport has ended, or no end within the step budget;
 * - what it holds grows past its bounds (queued output, buffered plaintext).
 * @module
 */

import { createBioPair, createClient, createServer, SslError, type TlsEngine, TlsError } from "../mod.ts";
import { on } from "../engine/events.ts";
import { errorGroup, type TlsErrorGroup } from "../engine/errors.ts";
import { LIMITS } from "../engine/limits.ts";
import type { ScenarioConfig } from "./transcript.ts";

/** A broken invariant: a finding. */
export class InvariantViolation extends Error {
  override readonly name = "InvariantViolation";
}

/** How to drive the engine. */
export interface RunOptions {
  /** The configurations (the engine under test takes its role's). */
  readonly config: ScenarioConfig;
  /** Every application payload the peer legitimately sealed: `read()` may only return parts of these. */
  readonly authentic: readonly Uint8Array[];
  /** Capacity of each direction of the engine's BIO pair (default 17.5 KiB). */
  readonly capacity?: number;
  /** How many bytes to move into the BIO at a time (default: all that fit). */
  readonly chunk?: number;
  /** Bytes to `write()` once connected (default none). */
  readonly write?: Uint8Array;
  /** Call `shutdown()` once connected and this many bytes were read (default never). */
  readonly shutdownAfter?: number;
  /** Client: send this as 0-RTT data before the first doHandshake (the "early" scenario). */
  readonly earlyData?: Uint8Array;
  /** Call `keyUpdate()` once connected (default no; on TLS 1.2 it must be refused with a local error). */
  readonly keyUpdate?: boolean;
  /** At most this many rounds of engine calls (default 2 000 + the input's length). */
  readonly maxSteps?: number;
}

/** How a run ended. */
export interface RunResult {
  /** "closed" (close_notify), "failed" (a TlsError), or "open" (everything delivered, still connected). */
  readonly outcome: "closed" | "failed" | "open";
  readonly error: TlsError | undefined;
  readonly handshakeDone: boolean;
  /** The application bytes `read()` returned, and those `readEarlyData()` returned. */
  readonly received: number;
  readonly earlyReceived: number;
  /** What the handshake said of 0-RTT data. */
  readonly earlyData: "accepted" | "rejected" | undefined;
  readonly steps: number;
}

/** Errors that send no alert: a truncation, an alert from the peer, API misuse. */
const SILENT: ReadonlySet<TlsErrorGroup> = new Set(["truncated", "alert_received", "local"]);

/** Bytes queued beyond the BIO that are fine: the limit plus one flight of records. */
const OUTPUT_BOUND = LIMITS.maxQueuedOutput + 2 * (16384 + 256 + 5);

/**
 * Drive a fresh `role` engine with the peer's `flights` (delivered in order, each in chunks), calling
 * doHandshake / read (and write, keyUpdate, shutdown as `opts` asks) until it ends or the input runs out, then
 * end the transport and let it finish. Checks the invariants after every call; throws InvariantViolation.
 */
export async function runEngineOnInput(
  role: "client" | "server",
  flights: readonly Uint8Array[],
  opts: RunOptions,
): Promise<RunResult> {
  const pair = createBioPair(opts.capacity ? { capacity: opts.capacity } : {});
  const e: TlsEngine = role === "client"
    ? createClient(opts.config.client, pair.engine)
    : createServer(opts.config.server, pair.engine);
  const fatalSent: string[] = [];
  on(e, "alert", (a) => {
    if (a.direction === "sent" && a.level === "fatal") fatalSent.push(a.name);
  });
  // Each round moves at least one input byte into the BIO (or the engine is reported stuck), so this bound is
  // only reached by an engine that keeps asking to be called without consuming anything.
  const maxSteps = opts.maxSteps ?? 2_000 + flights.reduce((n, f) => n + f.length, 0);
  const chunk = Math.max(1, opts.chunk ?? Infinity);
  const buf = new Uint8Array(20000);
  let steps = 0;
  let received = 0;
  let earlyReceived = 0;
  let wrote = false;
  let updated = false;
  let shut = false;
  let closed = false;

  const check = (what: string, ret: number) => {
    if (e.pendingOutput > OUTPUT_BOUND) throw violation(`${what}: ${e.pendingOutput} bytes of output queued`);
    if (e.pendingPlaintext > 16384) throw violation(`${what}: ${e.pendingPlaintext} bytes of plaintext held`);
    const err = e.error;
    if (ret <= 0 && e.getError(ret) === SslError.SSL) {
      if (!(err instanceof TlsError)) throw violation(`${what}: failed without a TlsError`);
      if (errorGroup(err.code) === "local" && err.code !== "local.write_after_shutdown") {
        const cause = err.cause instanceof Error
          ? `${err.cause.name}: ${err.cause.message}`
          : String(err.cause);
        throw violation(`${what}: local error ${err.code} (${err.message}); cause ${cause}`, err.cause);
      }
    }
    if (fatalSent.length > 1) throw violation(`${what}: ${fatalSent.length} fatal alerts sent: ${fatalSent}`);
    if (err && fatalSent.length === 0 && !SILENT.has(errorGroup(err.code))) {
      throw violation(`${what}: failed with ${err.code} but sent no alert`);
    }
    if (fatalSent.length === 1) {
      const fatal = e.error !== undefined && errorGroup(e.error.code) !== "local";
      if (!fatal) throw violation(`${what}: fatal alert ${fatalSent[0]} sent without an error`);
      if (fatalSent[0] !== e.error!.alert) {
        throw violation(`${what}: sent alert ${fatalSent[0]} but the error says ${e.error!.alert}`);
      }
    }
  };

  const callRead = (): number => {
    const r = e.read(buf);
    check("read", r);
    if (r > 0) {
      if (!e.isHandshakeDone) throw violation(`read returned ${r} bytes before the handshake was done`);
      const got = buf.subarray(0, r);
      if (!opts.authentic.some((a) => contains(a, got))) {
        throw violation(`read returned ${r} bytes the peer never sealed`);
      }
      received += r;
    }
    if (r === 0 && e.getError(r) === SslError.ZERO_RETURN) closed = true;
    return r;
  };

  /** Await pending crypto or verification (WANT_ASYNC); true if there was some. */
  const settle = async (r: number): Promise<boolean> => {
    if (r >= 0 || e.getError(r) !== SslError.WANT_ASYNC) return false;
    await e.asyncWait();
    return true;
  };

  if (opts.earlyData && role === "client") {
    const r = e.writeEarlyData(opts.earlyData);
    check("writeEarlyData", r);
  }
  const early = role === "server" && opts.config.server.earlyData !== undefined;

  /** One round of calls; true when the engine has ended (failed or closed). */
  const round = async (): Promise<boolean> => {
    steps++;
    if (steps > maxSteps) throw violation(`no end after ${maxSteps} calls`);
    if (early) {
      // 0-RTT data comes only through readEarlyData, and only bytes the client sealed.
      for (let i = 0; i < 16; i++) {
        const r = e.readEarlyData(buf);
        check("readEarlyData", r);
        if (r > 0 && !opts.authentic.some((a) => contains(a, buf.subarray(0, r)))) {
          throw violation(`readEarlyData returned ${r} bytes the client never sealed`);
        }
        if (r > 0) earlyReceived += r;
        if (r <= 0) {
          if (isFatal(e, r)) return true;
          break;
        }
      }
    }
    if (!e.isHandshakeDone) {
      let r = e.doHandshake();
      check("doHandshake", r);
      for (let i = 0; i < 16 && await settle(r); i++) {
        r = e.doHandshake();
        check("doHandshake", r);
      }
      if (r === 0) {
        // The peer's close_notify during the handshake: a controlled end (engine.error says what came).
        if (e.getError(r) !== SslError.ZERO_RETURN || e.error?.code !== "alert_received.close_notify") {
          throw violation(`doHandshake returned 0 with ${e.getError(r)} (${e.error?.code})`);
        }
        closed = true;
        return true;
      }
      if (r < 0 && isFatal(e, r)) return true;
      if (r !== 1) return false;
    }
    if (opts.write && !wrote) {
      const r = e.write(opts.write);
      check("write", r);
      if (r < 0 && isFatal(e, r)) return true;
      if (r > 0) wrote = true;
    }
    if (opts.keyUpdate && !updated) {
      const r = e.keyUpdate(true);
      // TLS 1.2 has no KeyUpdate: refused with a local error, and the connection goes on.
      const tls12 = e.handshakeInfo?.version === "TLSv1.2";
      if (tls12 && r >= 0) throw violation(`keyUpdate on TLS 1.2 returned ${r}`);
      if (!(tls12 && e.getError(r) === SslError.SSL && e.error?.code === "local.key_update_tls12")) {
        check("keyUpdate", r);
        if (r < 0 && isFatal(e, r)) return true;
      }
      updated = true;
    }
    for (let i = 0; i < 64; i++) {
      const r = callRead();
      if (r > 0 || await settle(r)) continue;
      if (closed) return true;
      if (isFatal(e, r)) return true;
      break;
    }
    // Not while a write waits to be retried: OpenSSL refuses that ("bad write retry"), and so does the engine.
    if (
      opts.shutdownAfter !== undefined && !shut && received >= opts.shutdownAfter && (!opts.write || wrote)
    ) {
      const r = e.shutdown();
      check("shutdown", r);
      if (r < 0 && isFatal(e, r)) return true;
      shut = true;
      const w = e.write(Uint8Array.of(1));
      check("write after shutdown", w);
      if (w !== -1 || e.getError(w) !== SslError.SSL || e.error?.code !== "local.write_after_shutdown") {
        throw violation(`write after shutdown returned ${w} (${e.error?.code})`);
      }
    }
    return false;
  };

  let ended = false;
  outer: for (const flight of flights) {
    let at = 0;
    while (at < flight.length) {
      const n = Math.min(chunk, flight.length - at, pair.network.writeGuarantee());
      if (n > 0) {
        pair.network.write(flight.subarray(at, at + n));
        at += n;
      }
      pair.network.read(); // what the engine sends is dropped (its alerts are seen through events)
      if (await round()) {
        ended = true;
        break outer;
      }
      if (n === 0 && pair.network.writeGuarantee() === 0) {
        // The engine took nothing: it must be waiting on something other than input.
        pair.network.read();
        if (await round()) {
          ended = true;
          break outer;
        }
        if (pair.network.writeGuarantee() === 0) throw violation("the engine stopped reading its input");
      }
    }
  }
  if (!ended) {
    // Everything delivered: drain what the engine can do, then end the transport; it must stop.
    for (let i = 0; i < 4 && !ended; i++) ended = await round();
    pair.network.shutdownWrite();
    for (let i = 0; !ended; i++) {
      pair.network.read();
      ended = await round();
      if (!ended && i > 8) throw violation("no end after the transport ended (WANT_READ at EOF?)");
    }
  }
  pair.network.read();
  // A close_notify during the handshake ends it in order: `error` describes it, but nothing failed.
  const err = closed && e.error?.code === "alert_received.close_notify" ? undefined : e.error;
  if (err && errorGroup(err.code) !== "local") assertSticky(e, err);
  if (err?.code === "truncated" && closed) throw violation("both closed and truncated");
  return {
    outcome: closed && !err ? "closed" : err && errorGroup(err.code) !== "local" ? "failed" : "open",
    error: err,
    handshakeDone: e.isHandshakeDone,
    received,
    earlyReceived,
    earlyData: e.handshakeInfo?.earlyData,
    steps,
  };
}

/** A failure that ends the connection: SSL with a peer's fault (read() returns 0 for a truncation, as OpenSSL 3). */
function isFatal(e: TlsEngine, r: number): boolean {
  if (r > 0) return false;
  return e.getError(r) === SslError.SSL && (e.error === undefined || errorGroup(e.error.code) !== "local");
}

function assertSticky(e: TlsEngine, err: TlsError): void {
  const calls: [string, () => number][] = [
    ["doHandshake", () => e.doHandshake()],
    ["read", () => e.read(new Uint8Array(8))],
    ["write", () => e.write(Uint8Array.of(1))],
    ["shutdown", () => e.shutdown()],
  ];
  for (const [name, call] of calls) {
    const r = call();
    if (r !== -1 || e.getError(r) !== SslError.SSL || e.error !== err) {
      throw violation(
        `${name} after ${err.code}: returned ${r}, error ${e.error?.code}: the error is not sticky`,
      );
    }
  }
}

function violation(message: string, cause?: unknown): InvariantViolation {
  return new InvariantViolation(message, cause === undefined ? undefined : { cause });
}

/** Whether `needle` occurs in `hay`. */
function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  if (needle.length > hay.length) return false;
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}
