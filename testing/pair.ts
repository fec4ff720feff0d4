/**
 * Test helpers (rustls' make_pair / do_handshake / transfer): two engines over two BIO pairs, and a pump
 * that moves bytes between their network halves, optionally through a filter that rewrites records.
 * @module
 */

import {
  type BioPair,
  type ClientConfig,
  createBioPair,
  createClient,
  createServer,
  loadPrivateKey,
  nobleProvider,
  type ServerConfig,
  SslError,
  type TlsEngine,
} from "../mod.ts";
import { generateTestCertificate, type TestKeyType } from "./pki.ts";
import { ContentType, ExtensionType } from "../engine/msgs/enums.ts";
import { encodeRecord, HEADER_LEN } from "../engine/record/layer.ts";
import { concat } from "../suites/bytes.ts";

/** Two engines and their BIO pairs. */
export interface Pair {
  readonly client: TlsEngine;
  readonly server: TlsEngine;
  readonly c: BioPair;
  readonly s: BioPair;
}

/** Options for {@link makePair}. */
export interface PairOptions {
  readonly keyType?: TestKeyType;
  readonly client?: Partial<ClientConfig>;
  readonly server?: Partial<ServerConfig>;
  readonly capacity?: number;
}

/** Deterministic random bytes (xorshift32), for reproducible runs: the fuzz fixture's, so both agree. */
import { seededRandom } from "../fuzz/_fixture.ts";
export { seededRandom };

/** A client and a server in memory with a fresh self-signed certificate. */
export async function makePair(opts: PairOptions = {}): Promise<Pair> {
  const cert = await generateTestCertificate(opts.keyType ?? "ecdsa-p256");
  // A server that names its provider signs on that provider's path (a noble server stays synchronous).
  const key = await (opts.server?.provider?.loadPrivateKey ?? loadPrivateKey)(cert.keyPkcs8);
  const capacity = opts.capacity;
  const c = createBioPair(capacity ? { capacity } : {});
  const s = createBioPair(capacity ? { capacity } : {});
  const client = createClient({
    serverName: "localhost",
    dangerouslyDisableCertificateVerification: true,
    ...opts.client,
  }, c.engine);
  const server = createServer({ certificates: [{ chain: cert.chain, key }], ...opts.server }, s.engine);
  return { client, server, c, s };
}

/** A transform applied to bytes in flight (whole chunks as read from one network half). */
export type Filter = (bytes: Uint8Array, from: "client" | "server") => Uint8Array;

/** Move bytes both ways once; returns how many moved. */
export function transfer(p: Pair, filter?: Filter, chunk = Infinity): number {
  let moved = 0;
  const move = (from: BioPair, to: BioPair, who: "client" | "server") => {
    const n = Math.min(chunk, to.network.writeGuarantee(), from.network.pending());
    if (n <= 0) return;
    let bytes = from.network.read(n);
    if (filter) bytes = filter(bytes, who);
    const w = to.network.write(bytes);
    if (w !== bytes.length) throw new Error("transfer: short write into the peer's BIO");
    moved += n;
  };
  move(p.c, p.s, "client");
  move(p.s, p.c, "server");
  return moved;
}

/** Run one engine call; await pending async work. Returns the call's result. */
export async function step(e: TlsEngine, call: () => number): Promise<number> {
  const r = call();
  if (r < 0 && e.getError(r) === SslError.WANT_ASYNC) await e.asyncWait();
  return r;
}

/**
 * Run an engine call until it stops asking for WANT_ASYNC (awaiting each time, bounded): e.g. the first
 * `writeEarlyData()`, which waits for the ClientHello's key shares when the provider makes them natively.
 */
export async function settled(e: TlsEngine, call: () => number): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const r = call();
    if (r >= 0 || e.getError(r) !== SslError.WANT_ASYNC) return r;
    await e.asyncWait();
  }
  throw new Error("settled: still WANT_ASYNC after 100 waits");
}

/**
 * `e.write(data)`, waiting out WANT_ASYNC (records sealed natively): returns what write() finally returned,
 * so a small write that fits the BIO returns `data.length`, as it does with a synchronous provider.
 */
export function writeAll(e: TlsEngine, data: Uint8Array): Promise<number> {
  return settled(e, () => e.write(data));
}

/** Run both handshakes to completion (bounded); throws with both errors if either fails. */
export async function handshake(p: Pair, filter?: Filter, chunk = Infinity): Promise<void> {
  for (let i = 0; i < 100_000; i++) {
    const rc = await step(p.client, () => p.client.doHandshake());
    const rs = await step(p.server, () => p.server.doHandshake());
    const moved = transfer(p, filter, chunk);
    if (rc === 1 && rs === 1 && moved === 0 && p.client.pendingOutput === 0 && p.server.pendingOutput === 0) {
      return;
    }
    const fatal = [p.client, p.server].find((e, j) => {
      const r = j === 0 ? rc : rs;
      return r < 0 && (e.getError(r) === SslError.SSL || e.getError(r) === SslError.SYSCALL);
    });
    if (fatal) {
      throw new Error(
        `handshake failed: client=${p.client.error?.message} server=${p.server.error?.message}`,
      );
    }
  }
  throw new Error("handshake did not finish in 100000 steps");
}

/** Drive handshakes until one side fails fatally; returns both errors. */
export async function handshakeExpectingFailure(p: Pair, filter?: Filter): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    const rc = await step(p.client, () => p.client.doHandshake());
    const rs = await step(p.server, () => p.server.doHandshake());
    const moved = transfer(p, filter);
    const cs = rc < 0 && [SslError.SSL, SslError.SYSCALL].includes(p.client.getError(rc) as 1 | 5);
    const ss = rs < 0 && [SslError.SSL, SslError.SYSCALL].includes(p.server.getError(rs) as 1 | 5);
    // The peer of the side that failed may still be working (WANT_ASYNC) on what came before the alert.
    const busy = [rc, rs].some((r, j) =>
      r < 0 && [p.client, p.server][j]!.getError(r) === SslError.WANT_ASYNC
    );
    if ((cs || ss) && moved === 0 && !busy) return;
    if (rc === 1 && rs === 1 && moved === 0) throw new Error("handshake unexpectedly succeeded");
  }
  throw new Error("handshake neither failed nor finished in 1000 steps");
}

/**
 * Read everything currently available from `e` (bounded), waiting out WANT_ASYNC: a provider that opens
 * records natively (WebCrypto AES-GCM) hands them over asynchronously.
 */
export async function drain(e: TlsEngine, max = 1 << 26): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  const buf = new Uint8Array(16384);
  for (let waits = 0; total < max && waits < 10_000;) {
    const n = e.read(buf);
    if (n < 0 && e.getError(n) === SslError.WANT_ASYNC) {
      waits++;
      await e.asyncWait();
      continue;
    }
    if (n <= 0) break;
    parts.push(buf.slice(0, n));
    total += n;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Bytes copied through `Uint8Array` `set()` and `slice()` while `fn` runs (the two ways the record layer
 * copies in bulk; a record header, and a handshake fragment of up to 16 bytes, are copied byte by byte, a
 * bounded cost per record, and not counted): a deterministic measure of copying work, for tests that must not
 * time anything.
 */
export function bytesCopied(fn: () => void): number {
  const proto = Uint8Array.prototype;
  const { set, slice } = proto;
  let n = 0;
  Object.defineProperty(proto, "set", {
    configurable: true,
    value(this: Uint8Array, source: ArrayLike<number>, offset?: number) {
      n += source.length;
      return set.call(this, source, offset);
    },
  });
  Object.defineProperty(proto, "slice", {
    configurable: true,
    value(this: Uint8Array, start?: number, end?: number) {
      const out = slice.call(this, start, end);
      n += out.length;
      return out;
    },
  });
  try {
    fn();
  } finally {
    // The inherited TypedArray methods show through again.
    delete (proto as { set?: unknown }).set;
    delete (proto as { slice?: unknown }).slice;
  }
  return n;
}

/**
 * A real client's ClientHello (seeded, no PSK), padded to exactly `size` bytes, header included, with the
 * padding extension (RFC 7685): handshake-record content, to send in records of any size.
 */
export async function paddedClientHello(size: number): Promise<Uint8Array> {
  const hello = async (pad?: number) => {
    const { engine, network } = createBioPair({ capacity: size + 8192 });
    const padding = { type: ExtensionType.padding, data: new Uint8Array(pad ?? 0) };
    const client = createClient({
      serverName: "localhost",
      dangerouslyDisableCertificateVerification: true,
      random: seededRandom(1),
      provider: nobleProvider,
      helloExtensions: (e) => (pad === undefined ? e : [...e, padding]),
    }, engine);
    await settled(client, () => client.doHandshake());
    const wire = network.read();
    const bodies: Uint8Array[] = [];
    for (let at = 0; at < wire.length;) {
      const end = at + HEADER_LEN + ((wire[at + 3]! << 8) | wire[at + 4]!);
      bodies.push(wire.subarray(at + HEADER_LEN, end));
      at = end;
    }
    return concat(...bodies);
  };
  const padded = await hello(size - (await hello()).length - 4);
  if (padded.length !== size) throw new Error(`paddedClientHello: ${padded.length} bytes, not ${size}`);
  return padded;
}

/** `content` framed as plaintext handshake records of `size` bytes each (the last one may be shorter). */
export function handshakeRecords(content: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(content.length + HEADER_LEN * Math.ceil(content.length / size));
  for (let i = 0, at = 0; i < content.length; i += size) {
    const part = content.subarray(i, i + size);
    out.set(encodeRecord(ContentType.handshake, 0x0303, part), at);
    at += HEADER_LEN + part.length;
  }
  return out;
}
