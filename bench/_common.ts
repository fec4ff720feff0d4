/**
 * What every part of the bench shares: the cases it runs, the `Side` interface that puts airlock, node:tls
 * and node-forge behind one face, byte links between two sides, and timing helpers.
 * @module
 */

import { Duplex } from "node:stream";
import type { ByteStreamTransport } from "../adapters/stream.ts";
import type { CipherSuiteName, GroupName } from "../mod.ts";
import type { TestKeyType } from "../testing/pki.ts";

// ---- cases ---------------------------------------------------------------------------------------

/**
 * One handshake configuration: what both peers are told to use, so that they can only agree on it. TLS 1.1
 * is only for node-forge, which speaks nothing newer (airlock refuses anything below 1.2).
 */
export interface Case {
  readonly version: "TLSv1.3" | "TLSv1.2" | "TLSv1.1";
  /** The IANA name: an airlock suite, or TLS_RSA_WITH_AES_128_CBC_SHA for forge's TLS 1.1. */
  readonly suite: CipherSuiteName | "TLS_RSA_WITH_AES_128_CBC_SHA";
  readonly group: GroupName;
  readonly cert: TestKeyType;
  /**
   * airlock's crypto provider by name; without one, airlock runs on its default (the runtime's fastest, what
   * users get). The other implementations ignore it.
   */
  readonly provider?: "noble" | "webcrypto" | "node";
  /**
   * How the client judges the server's chain. Without it, as users do: it trusts the bench CA
   * (`_pki.ts`) and checks the chain and the name "localhost". "none": it accepts any chain (only the
   * handshake signature is checked), for the rows labelled so. "other-ca": it trusts only the impostor CA,
   * so the handshake must fail (the check pass uses it to see that the client does verify).
   */
  readonly trust?: "none" | "other-ca";
  /**
   * Encrypted Client Hello: the server has an ECH key and the client its configuration, and the check pass
   * requires ECH accepted on both ends. airlock only (node:tls has no ECH).
   */
  readonly ech?: boolean;
  /**
   * Neither end is told its groups: each offers and picks what it does by default. airlock's default puts
   * X25519MLKEM768 first (with an x25519 share beside it), so airlock↔airlock negotiates the hybrid; node:tls
   * negotiates what its library prefers (x25519 with Node 20's OpenSSL 3.0), noted on its cell. `group` is
   * what airlock↔airlock negotiates.
   */
  readonly defaultGroups?: boolean;
}

/**
 * The groups both peers are given. In TLS 1.2 supported_groups also names the curves an ECDSA certificate may
 * use (RFC 8422 §5.1; OpenSSL enforces it both ways), so the certificate's curve follows the case's group:
 * the negotiated group is still the first one.
 */
export function groupsOf(c: Case): GroupName[] {
  const curve = c.cert === "ecdsa-p256" ? "secp256r1" : c.cert === "ecdsa-p384" ? "secp384r1" : undefined;
  return c.version === "TLSv1.2" && curve && curve !== c.group ? [c.group, curve] : [c.group];
}

/** A case as a short row label: "1.3 AES128 x25519 ecdsa-p256", "1.2 ECDSA-AES128 x25519 ecdsa-p256". */
export function caseLabel(c: Case): string {
  if (c.version === "TLSv1.1") return `1.1 RSA-AES128-CBC-SHA ${c.cert}`;
  const aead = c.suite.includes("CHACHA") ? "CHACHA" : c.suite.includes("AES_256") ? "AES256" : "AES128";
  const auth = c.suite.match(/^TLS_ECDHE_(ECDSA|RSA)_/)?.[1];
  const tags = [
    c.provider,
    c.trust === "none" ? "no chain check" : c.trust,
    c.ech ? "ECH" : undefined,
    c.defaultGroups ? "default groups" : undefined,
  ].filter((t) => t !== undefined);
  return `${c.version.slice(4)} ${auth ? `${auth}-${aead}` : aead} ${c.group} ${c.cert}${
    tags.length > 0 ? ` (${tags.join(", ")})` : ""
  }`;
}

/** The key a per-case server cache (configs, contexts) is indexed by: what the server is told. */
export function caseKey(c: Case): string {
  return `${c.version}/${c.suite}/${c.group}/${c.cert}/${c.provider ?? "default"}${c.ech ? "/ech" : ""}${
    c.defaultGroups ? "/default-groups" : ""
  }`;
}

// ---- sides ---------------------------------------------------------------------------------------

/** What one end says it negotiated; fields it cannot tell are undefined. */
export interface Negotiated {
  version?: string | undefined;
  suite?: string | undefined;
  group?: string | undefined;
  /** airlock's `handshakeInfo.ech`: "accepted", "rejected", "grease", or undefined. */
  ech?: string | undefined;
}

/** One end of a connection, whatever implements it. */
export interface Side {
  /** Resolves when this end's handshake is done; rejects on a handshake failure. */
  readonly ready: Promise<void>;
  /**
   * Send plaintext. Returns a promise only when the end pushes back (the caller must wait before the next
   * write). `data` must not change until it was accepted.
   */
  write(data: Uint8Array): void | Promise<void>;
  /** Receives each plaintext chunk; the chunk may be reused after the call returns. */
  onData: ((chunk: Uint8Array) => void) | undefined;
  /** What this end negotiated. */
  negotiated(): Negotiated;
  /** Whether the handshake resumed a session. */
  resumed(): boolean;
  /** A client's resumable session once one arrived (its implementation's own type), else undefined. */
  session(): unknown;
  /** Drop the connection (no close_notify: the bench only measures established connections). */
  close(): void;
}

/** A TLS implementation the bench can put on either end. */
export interface Impl {
  /** "airlock", "node:tls", "forge". */
  readonly name: string;
  /**
   * What it runs over: "link" if it pumps bytes itself over any `Link` (airlock's engine, forge), "duplex" if
   * it needs a Duplex (node:tls), "streams" if it needs a web stream pair (airlock through `connectTls`).
   */
  readonly wire: "link" | "duplex" | "streams";
  /** Why this implementation cannot run `c` here, or undefined if it can try. */
  unsupported(c: Case): string | undefined;
  /**
   * Why this client checks no certificate chain here, though the case asks it to (its cells say so in a
   * footnote, and the check pass does not offer it the impostor CA); undefined when it checks.
   */
  readonly noChainCheck?: string | undefined;
  /** A client over `end`, resuming `session` if given. */
  client(c: Case, end: End, session?: unknown): Side;
  /** A server over `end` (connections of one case share the server's configuration, hence its tickets). */
  server(c: Case, end: End): Side;
}

// ---- links ---------------------------------------------------------------------------------------

/** A byte channel to the peer, for implementations that pump bytes themselves (airlock, forge). */
export interface Link {
  /** Send bytes; false means the peer pushes back: wait for `onDrain` before more. */
  send(bytes: Uint8Array): boolean;
  /** Bytes from the peer. */
  onBytes(fn: (bytes: Uint8Array) => void): void;
  /** The peer took what was pending. */
  onDrain(fn: () => void): void;
}

/** One end of the in-memory wire between two sides: a node Duplex, a direct synchronous link, or web streams. */
export type End =
  | { duplex: Duplex; link?: never; streams?: never }
  | { link: Link; duplex?: never; streams?: never }
  | { streams: ByteStreamTransport; duplex?: never; link?: never };

/** Two links that call each other synchronously: no event loop between two pumping implementations. */
export function memoryLinks(): [Link, Link] {
  const handlers: ((b: Uint8Array) => void)[] = [() => {}, () => {}];
  const mk = (me: number): Link => ({
    send(bytes) {
      handlers[1 - me]!(bytes);
      return true;
    },
    onBytes(fn) {
      handlers[me] = fn;
    },
    onDrain() {},
  });
  return [mk(0), mk(1)];
}

/**
 * A connected pair of in-memory Duplex streams with back-pressure: a write completes only once the peer's
 * readable side has room (its `read()` was called), so a fast writer cannot queue unbounded data.
 */
export function duplexPair(): [Duplex, Duplex] {
  const ends: Duplex[] = [];
  const waiting: ((() => void) | undefined)[] = [undefined, undefined];
  const mk = (me: number) =>
    new Duplex({
      read() {
        const cb = waiting[1 - me];
        waiting[1 - me] = undefined;
        cb?.();
      },
      write(chunk, _enc, cb) {
        if (ends[1 - me]!.push(chunk)) cb();
        else waiting[me] = cb;
      },
      final(cb) {
        ends[1 - me]!.push(null);
        cb();
      },
    });
  ends.push(mk(0), mk(1));
  return [ends[0]!, ends[1]!];
}

/** A Link over a Duplex (for a pumping implementation facing node:tls). */
export function duplexLink(d: Duplex): Link {
  return {
    send: (bytes) => d.write(bytes),
    onBytes: (fn) => void d.on("data", fn),
    onDrain: (fn) => void d.on("drain", fn),
  };
}

/** The Link of an End, making one over its Duplex if needed. */
export function linkOf(end: End): Link {
  if (end.link) return end.link;
  if (end.duplex) return duplexLink(end.duplex);
  throw new Error("Cannot pump bytes over a web stream pair: a Link or a Duplex is needed");
}

/**
 * Two connected web stream transports, as `connectTls`'s in-memory example makes them: each direction a
 * `TransformStream` with its default strategies, which buffers nothing (a write waits until the peer reads).
 */
export function streamPair(): [ByteStreamTransport, ByteStreamTransport] {
  const up = new TransformStream<Uint8Array, Uint8Array>();
  const down = new TransformStream<Uint8Array, Uint8Array>();
  return [
    { readable: down.readable, writable: up.writable },
    { readable: up.readable, writable: down.writable },
  ];
}

/** A connected client and server. */
export interface Connection {
  readonly client: Side;
  readonly server: Side;
  close(): void;
}

/**
 * Connect `clientImpl` to `serverImpl` in memory and wait for both handshakes. Two pumping implementations
 * talk over synchronous memory links, two on web streams over a `streamPair()`; anything with node:tls goes
 * over a Duplex pair.
 */
export async function connect(
  clientImpl: Impl,
  serverImpl: Impl,
  c: Case,
  session?: unknown,
): Promise<Connection> {
  let ends: [End, End];
  const wires = [clientImpl.wire, serverImpl.wire];
  if (wires.every((w) => w === "link")) {
    const [a, b] = memoryLinks();
    ends = [{ link: a }, { link: b }];
  } else if (wires.every((w) => w === "streams")) {
    const [a, b] = streamPair();
    ends = [{ streams: a }, { streams: b }];
  } else if (wires.includes("streams")) {
    throw new Error(
      `Cannot connect ${clientImpl.name} to ${serverImpl.name}: only web streams meet web streams`,
    );
  } else {
    const [a, b] = duplexPair();
    ends = [{ duplex: a }, { duplex: b }];
  }
  const server = serverImpl.server(c, ends[1]);
  const client = clientImpl.client(c, ends[0], session);
  const close = () => {
    client.close();
    server.close();
  };
  try {
    await Promise.all([client.ready, server.ready]);
  } catch (e) {
    close();
    throw e;
  }
  return { client, server, close };
}

// ---- runtime -------------------------------------------------------------------------------------

/** Which runtime runs the bench. */
export const runtime: { name: "deno" | "bun" | "node"; version: string } = "Deno" in globalThis
  ? {
    name: "deno",
    version: (globalThis as unknown as { Deno: { version: { deno: string } } }).Deno.version.deno,
  }
  : "Bun" in globalThis
  ? { name: "bun", version: (globalThis as unknown as { Bun: { version: string } }).Bun.version }
  : { name: "node", version: process.version.slice(1) };

/** Run a full garbage collection if the runtime lets us; false if it cannot. */
export function collectGarbage(): boolean {
  const g = globalThis as unknown as { gc?: () => void; Bun?: { gc(force: boolean): void } };
  if (g.Bun) g.Bun.gc(true);
  else if (g.gc) g.gc();
  else return false;
  return true;
}

/**
 * Collect garbage until the heap stops shrinking (at most 10 times, with pauses for finalizers and
 * concurrent sweepers: Bun's heap figure lags its collections), then read the memory figures; `gc` says
 * whether a collection could run.
 */
export async function settleMemory(): Promise<{ m: NodeJS.MemoryUsage; gc: boolean }> {
  let m = process.memoryUsage(), gc = false;
  for (let i = 0; i < 10; i++) {
    gc = collectGarbage();
    await new Promise((r) => setTimeout(r, 30));
    const next = process.memoryUsage();
    const shrank = next.heapUsed < m.heapUsed * 0.99;
    m = next;
    if (!shrank && i >= 2) break;
  }
  return { m, gc };
}

// ---- timing --------------------------------------------------------------------------------------

/** The median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * Run `op` until at least `ms` milliseconds passed (and at least `minOps` times); returns operations per
 * second. `op` returns how many units it did (default 1), so bulk runs can count bytes.
 */
export async function ratePerSecond(
  ms: number,
  op: () => Promise<number | void> | number | void,
  minOps = 1,
): Promise<number> {
  let units = 0, ops = 0;
  const t0 = performance.now();
  let elapsed = 0;
  while (elapsed < ms || ops < minOps) {
    const r = op();
    const n = r instanceof Promise ? await r : r;
    units += typeof n === "number" ? n : 1;
    ops++;
    elapsed = performance.now() - t0;
  }
  return units / (elapsed / 1000);
}

/**
 * Measure several cells in interleaved rounds (round 1 of every cell, then round 2, …), so that a burst of
 * load from elsewhere on the machine hits all cells alike, and return each cell's median. A cell whose round
 * throws is reported as its error message.
 */
export async function interleaved(
  cells: readonly (() => Promise<number>)[],
  rounds: number,
): Promise<(number | string)[]> {
  const results: (number[] | string)[] = cells.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < cells.length; i++) {
      const acc = results[i]!;
      if (typeof acc === "string") continue;
      try {
        acc.push(await cells[i]!());
      } catch (e) {
        results[i] = errorText(e);
      }
    }
  }
  return results.map((x) => (typeof x === "string" ? x : median(x)));
}

/** One line from an error, for a table cell's footnote. */
export function errorText(e: unknown): string {
  const m = e instanceof Error ? `${e.name === "Error" ? "" : e.name + ": "}${e.message}` : String(e);
  return m.split("\n")[0]!.slice(0, 160);
}

/** Reject after `ms` milliseconds with `what` timed out, unless `p` settles first. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Wait until `get()` returns something other than undefined (polling), or give up after `ms`. */
export async function waitFor<T>(get: () => T | undefined, ms: number): Promise<T | undefined> {
  const t0 = performance.now();
  for (;;) {
    const v = get();
    if (v !== undefined || performance.now() - t0 > ms) return v;
    await new Promise((r) => setTimeout(r, 1));
  }
}
