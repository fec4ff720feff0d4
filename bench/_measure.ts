/**
 * The measurements, for any pair of implementations: the output check that comes before any timing,
 * handshakes, bulk transfer, round-trip latency and heap per idle connection.
 * @module
 */

import {
  type Case,
  connect,
  type Connection,
  errorText,
  type Impl,
  median,
  ratePerSecond,
  settleMemory,
  type Side,
  waitFor,
  withTimeout,
} from "./_common.ts";

/** A client implementation facing a server implementation: one column of the tables. */
export interface Pairing {
  /** Short id for JSON, e.g. "airlock-node". */
  readonly id: string;
  /** Column header, e.g. "air→node". */
  readonly header: string;
  readonly client: Impl;
  readonly server: Impl;
}

/** The verdict of the output check on one pairing and case. */
export type Checked =
  | { ok: true; session?: unknown; note?: string }
  | { ok: false; reason: string };

const CHECK_BYTES = 40_000;
const TIMEOUT_MS = 20_000;

function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed * 2654435761;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** Collect what `side` receives until `n` bytes came. */
function collect(side: Side, n: number): Promise<Uint8Array> {
  const buf = new Uint8Array(n);
  let got = 0;
  return new Promise((resolve) => {
    side.onData = (d) => {
      buf.set(d.subarray(0, Math.min(d.length, n - got)), got);
      got += d.length;
      if (got >= n) resolve(buf);
    };
  });
}

async function writeAll(side: Side, data: Uint8Array, chunk: number): Promise<void> {
  for (let off = 0; off < data.length; off += chunk) {
    const w = side.write(data.subarray(off, off + chunk));
    if (w) await w;
  }
}

/** Send distinct patterns both ways at once and compare what arrived, byte for byte. */
async function exchange(conn: Connection): Promise<string | undefined> {
  const up = pattern(CHECK_BYTES, 1), down = pattern(CHECK_BYTES, 2);
  const atServer = collect(conn.server, up.length), atClient = collect(conn.client, down.length);
  // The writes under the timeout too: a write that never completes is a finding (n/a, with the pairing), not
  // a bench that waits forever.
  const [, , s, c] = await withTimeout(
    Promise.all([writeAll(conn.client, up, 1000), writeAll(conn.server, down, 7000), atServer, atClient]),
    TIMEOUT_MS,
    "the data check",
  );
  if (!s.every((x, i) => x === up[i])) return "the server received other bytes than the client sent";
  if (!c.every((x, i) => x === down[i])) return "the client received other bytes than the server sent";
  return undefined;
}

/** Whether both ends negotiated what the case asks, where they can tell; a difference becomes a note. */
function negotiation(conn: Connection, c: Case): string | undefined {
  const seen = [conn.client.negotiated(), conn.server.negotiated()];
  const diffs = new Set<string>();
  for (const n of seen) {
    if (n.version !== undefined && n.version !== c.version) diffs.add(n.version);
    if (n.suite !== undefined && n.suite !== c.suite) diffs.add(n.suite);
    if (n.group !== undefined && n.group !== c.group) diffs.add(n.group);
  }
  if (c.ech && !seen.every((n) => n.ech === "accepted")) diffs.add("no ECH");
  if (diffs.size > 0) return `negotiated ${[...diffs].join(" ")} instead`;
  if (seen.every((n) => n.version === undefined && n.suite === undefined)) {
    return "neither end reports what it negotiated";
  }
  return undefined;
}

/**
 * Whether the client really checks the chain: a client that trusts only the impostor CA (the same name,
 * another key) must fail its handshake. Returns why the check fails, or undefined.
 */
async function refusesImpostor(p: Pairing, c: Case): Promise<string | undefined> {
  let conn: Connection | undefined;
  try {
    conn = await withTimeout(
      connect(p.client, p.server, { ...c, trust: "other-ca" }),
      TIMEOUT_MS,
      "the handshake with the impostor CA",
    );
  } catch (e) {
    return /timed out/.test(errorText(e)) ? errorText(e) : undefined;
  } finally {
    conn?.close();
  }
  return "the client accepted a chain from a CA it does not trust: it does not verify";
}

/**
 * The check every cell passes before it is timed: a handshake, 40 kB each way compared byte for byte, the
 * negotiated version, suite and group compared with the case; a handshake that must fail because the client
 * trusts another CA (unless the case's client checks no chain); with `resume`, a session from the first
 * connection and a second handshake that resumes it.
 */
export async function check(p: Pairing, c: Case, resume = false): Promise<Checked> {
  const why = p.client.unsupported(c) ?? p.server.unsupported(c);
  if (why) return { ok: false, reason: why };
  let conn: Connection | undefined;
  try {
    conn = await withTimeout(connect(p.client, p.server, c), TIMEOUT_MS, "the handshake");
    const bad = await exchange(conn);
    if (bad) return { ok: false, reason: bad };
    let note = negotiation(conn, c);
    if (c.trust !== "none") {
      const unchecked = p.client.noChainCheck;
      if (unchecked) note = note ? `${note}; ${unchecked}` : unchecked;
      else {
        const accepted = await refusesImpostor(p, c);
        if (accepted) return { ok: false, reason: accepted };
      }
    }
    if (!resume) return note ? { ok: true, note } : { ok: true };
    const client = conn.client;
    const session = await waitFor(() => client.session(), 2000);
    if (session === undefined) return { ok: false, reason: "no session ticket reached the client" };
    conn.close();
    conn = await withTimeout(connect(p.client, p.server, c, session), TIMEOUT_MS, "the resumed handshake");
    if (!conn.client.resumed()) {
      return { ok: false, reason: "the client offered a session; it did not resume" };
    }
    const bad2 = await exchange(conn);
    if (bad2) return { ok: false, reason: bad2 };
    return note ? { ok: true, session, note } : { ok: true, session };
  } catch (e) {
    return { ok: false, reason: errorText(e) };
  } finally {
    conn?.close();
  }
}

/** One round of handshakes: handshakes per second over `ms`. */
export function handshakeRound(p: Pairing, c: Case, ms: number, session?: unknown): Promise<number> {
  return ratePerSecond(ms, async () => {
    const conn = await withTimeout(connect(p.client, p.server, c, session), TIMEOUT_MS, "a handshake");
    const resumed = conn.client.resumed();
    conn.close();
    if (session !== undefined && !resumed) throw new Error("a handshake did not resume");
  });
}

/** Move `bytes` from `from` to `to` in writes of `chunk.length`; resolves when all arrived. */
async function transfer(from: Side, to: Side, bytes: number, chunk: Uint8Array): Promise<void> {
  let got = 0;
  const arrived = new Promise<void>((resolve) => {
    to.onData = (d) => {
      got += d.length;
      if (got >= bytes) resolve();
    };
  });
  for (let sent = 0; sent < bytes; sent += chunk.length) {
    const w = from.write(chunk);
    if (w) await w;
  }
  await withTimeout(arrived, TIMEOUT_MS, "a transfer");
}

const BATCH = 256 * 1024;

/**
 * One round of bulk transfer on a fresh connection (its handshake not timed): MB/s over `ms`, counting the
 * bytes of both directions when `bothWays`.
 */
export async function bulkRound(
  p: Pairing,
  c: Case,
  writeSize: number,
  bothWays: boolean,
  ms: number,
): Promise<number> {
  const conn = await withTimeout(connect(p.client, p.server, c), TIMEOUT_MS, "the handshake");
  try {
    const chunk = new Uint8Array(writeSize).fill(7);
    const bytesPerSecond = await ratePerSecond(ms, async () => {
      if (!bothWays) {
        await transfer(conn.client, conn.server, BATCH, chunk);
        return BATCH;
      }
      await Promise.all([
        transfer(conn.client, conn.server, BATCH, chunk),
        transfer(conn.server, conn.client, BATCH, chunk),
      ]);
      return 2 * BATCH;
    });
    return bytesPerSecond / 1e6;
  } finally {
    conn.close();
  }
}

/** Median microseconds of `n` round trips of 100 bytes (client → server, echoed back), after a warm-up. */
export async function latencyRound(p: Pairing, c: Case, n: number): Promise<number> {
  const conn = await withTimeout(connect(p.client, p.server, c), TIMEOUT_MS, "the handshake");
  try {
    const msg = new Uint8Array(100).fill(1);
    let atServer = 0;
    conn.server.onData = (d) => {
      atServer += d.length;
      while (atServer >= 100) {
        atServer -= 100;
        void conn.server.write(msg);
      }
    };
    const times: number[] = [];
    for (let i = 0; i < n + 10; i++) {
      let got = 0;
      const back = new Promise<void>((resolve) => {
        conn.client.onData = (d) => {
          got += d.length;
          if (got >= 100) resolve();
        };
      });
      const t = performance.now();
      const w = conn.client.write(msg);
      if (w) await w;
      await withTimeout(back, TIMEOUT_MS, "a round trip");
      if (i >= 10) times.push(performance.now() - t);
    }
    return median(times) * 1000;
  } finally {
    conn.close();
  }
}

/** Memory per end of `n` idle established connections, in bytes. */
export interface HeapFigures {
  /** V8/JSC heap used. */
  heap: number;
  /** Heap plus external memory (ArrayBuffers, e.g. BIO buffers). */
  heapExternal: number;
  /** Resident set size: includes native TLS state (OpenSSL's), and is the noisiest. */
  rss: number;
  /** Whether a full GC ran before each reading. */
  gc: boolean;
}

/** Open `n` connections, keep them idle, and measure the memory they hold, per end (2 ends each). */
export async function heapPerEnd(p: Pairing, c: Case, n: number): Promise<HeapFigures> {
  const { m: m0 } = await settleMemory();
  const conns: Connection[] = [];
  try {
    for (let i = 0; i < n; i++) {
      conns.push(await withTimeout(connect(p.client, p.server, c), TIMEOUT_MS, "a handshake"));
    }
    const { m: m1, gc } = await settleMemory();
    const per = (a: number, b: number) => (b - a) / (2 * n);
    return {
      heap: per(m0.heapUsed, m1.heapUsed),
      heapExternal: per(m0.heapUsed + m0.external, m1.heapUsed + m1.external),
      rss: per(m0.rss, m1.rss),
      gc,
    };
  } finally {
    for (const conn of conns) conn.close();
  }
}
