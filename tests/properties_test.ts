/**
 * Property tests (fast-check, fixed seed, bounded runs): no lost data under any pump order, chunk size, BIO
 * capacity, interleaving of reads and writes, and shutdown from either side mid-transfer; a truncation is
 * reported as one; writes after shutdown fail clearly; and the fuzz invariant (fuzz/invariant.ts) holds on
 * random structured mutations of real transcripts, for both roles.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { sha256 } from "@noble/hashes/sha2.js";
import { createBioPair, createClient, nobleProvider, SslError, type TlsEngine } from "../mod.ts";
import { handshake, makePair, type Pair, seededRandom, transfer } from "../testing/pair.ts";
import { fuzzEngine, prepare } from "../fuzz/engine_target.ts";
import { programSeed } from "../fuzz/mutate.ts";
import { SCENARIOS } from "../fuzz/transcript.ts";

const SEED = 20260101;
const hex = (b: Uint8Array) => Array.from(sha256(b), (x) => x.toString(16).padStart(2, "0")).join("");

/** One side of a transfer: what it must send, what it has sent, what it read. */
class Endpoint {
  sent = 0;
  pending: Uint8Array | undefined;
  readonly received: Uint8Array[] = [];
  shutDown = false;
  sawClose = false;
  constructor(readonly e: TlsEngine, readonly data: Uint8Array) {}

  /** Write up to `n` more bytes (retrying a write that said WANT_WRITE with the same bytes, as SSL_write wants). */
  async write(n: number): Promise<void> {
    if (this.shutDown) return;
    const chunk = this.pending ?? this.data.subarray(this.sent, Math.min(this.data.length, this.sent + n));
    if (chunk.length === 0) return;
    const r = this.e.write(chunk);
    if (r > 0) {
      this.sent += r;
      this.pending = undefined;
    } else {
      // WANT_ASYNC: records are being sealed natively; like WANT_WRITE, retry with the same bytes.
      const why = this.e.getError(r);
      assert.ok(why === SslError.WANT_WRITE || why === SslError.WANT_ASYNC, this.e.error?.message);
      if (why === SslError.WANT_ASYNC) await this.e.asyncWait();
      this.pending = chunk;
    }
  }

  async read(size: number): Promise<void> {
    const buf = new Uint8Array(size);
    for (let i = 0; i < 8; i++) {
      const r = this.e.read(buf);
      if (r > 0) {
        this.received.push(buf.slice(0, r));
        continue;
      }
      const why = this.e.getError(r);
      if (why === SslError.WANT_ASYNC) {
        await this.e.asyncWait();
        continue;
      }
      if (why === SslError.ZERO_RETURN) this.sawClose = true;
      else {assert.ok(
          why === SslError.WANT_READ || why === SslError.WANT_WRITE,
          `read: ${this.e.error?.message}`,
        );}
      return;
    }
  }

  shutdown(): void {
    if (this.pending || this.shutDown) return; // a well-behaved caller finishes its write first
    const r = this.e.shutdown();
    const why = this.e.getError(r);
    assert.ok(
      r >= 0 || why === SslError.WANT_WRITE || why === SslError.WANT_READ || why === SslError.WANT_ASYNC,
      `shutdown: ${why}`,
    );
    this.shutDown = true;
    // Writes after shutdown fail clearly, and do not break the connection.
    const w = this.e.write(Uint8Array.of(1));
    assert.equal(w, -1);
    assert.equal(this.e.getError(w), SslError.SSL);
    assert.equal(this.e.error?.code, "local.write_after_shutdown");
  }

  bytes(): Uint8Array {
    const n = this.received.reduce((s, b) => s + b.length, 0);
    const out = new Uint8Array(n);
    let at = 0;
    for (const b of this.received) {
      out.set(b, at);
      at += b.length;
    }
    return out;
  }
}

type Action =
  | { readonly kind: "pump"; readonly chunk: number }
  | { readonly kind: "write"; readonly side: 0 | 1; readonly n: number }
  | { readonly kind: "read"; readonly side: 0 | 1; readonly size: number }
  | { readonly kind: "shutdown"; readonly side: 0 | 1 };

const side = fc.constantFrom<0 | 1>(0, 1);
const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant("pump" as const), chunk: fc.integer({ min: 1, max: 40000 }) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("write" as const),
      side,
      n: fc.integer({ min: 1, max: 40000 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("read" as const),
      side,
      size: fc.integer({ min: 1, max: 20000 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("shutdown" as const), side }) },
);

let cachedPair: Promise<unknown> | undefined;
async function pair(capacity: number): Promise<Pair> {
  // The certificate is generated once per process; each pair is fresh.
  cachedPair ??= makePair();
  await cachedPair;
  return makePair({
    capacity,
    client: { random: seededRandom(11) },
    server: { random: seededRandom(12), tickets: false },
  });
}

Deno.test("properties: every byte written before a clean shutdown arrives intact, in any pump order", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(7, 64, 300, 1024, 5000, 17920),
      fc.integer({ min: 1, max: 17920 }),
      fc.integer({ min: 0, max: 70000 }),
      fc.integer({ min: 0, max: 70000 }),
      fc.array(action, { maxLength: 40 }),
      fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      async (capacity, hsChunk, clientBytes, serverBytes, actions, dataSeed) => {
        const p = await pair(capacity);
        await handshake(p, undefined, hsChunk);
        const ends = [
          new Endpoint(p.client, seededRandom(dataSeed)(clientBytes)),
          new Endpoint(p.server, seededRandom(dataSeed + 1)(serverBytes)),
        ] as const;
        for (const a of actions) {
          if (a.kind === "pump") transfer(p, undefined, a.chunk);
          else if (a.kind === "write") await ends[a.side].write(a.n);
          else if (a.kind === "read") await ends[a.side].read(a.size);
          else ends[a.side].shutdown();
        }
        // Then everyone finishes: write the rest, shut down, read to the end.
        for (let i = 0; i < 20000 && !(ends[0].sawClose && ends[1].sawClose); i++) {
          for (const end of ends) {
            if (!end.shutDown && (end.sent < end.data.length || end.pending)) await end.write(1 << 20);
            else if (!end.shutDown) end.shutdown();
            await end.read(16384);
          }
          transfer(p);
        }
        for (const [i, end] of ends.entries()) {
          const peer = ends[1 - i]!;
          assert.ok(end.sawClose, `side ${i} did not see close_notify`);
          assert.equal(end.e.error, undefined, end.e.error?.message);
          const want = peer.data.subarray(0, peer.sent);
          const got = end.bytes();
          assert.equal(got.length, want.length);
          assert.equal(hex(got), hex(want));
        }
      },
    ),
    { seed: SEED, numRuns: 25, endOnFailure: true },
  );
});

Deno.test("properties: a cut without close_notify is a truncation, and the bytes before it are intact", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 50000 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.constantFrom("client", "server"),
      async (size, where, writer) => {
        const p = await pair(17920);
        await handshake(p);
        const [w, r, wNet, rNet] = writer === "client"
          ? [p.client, p.server, p.c, p.s]
          : [p.server, p.client, p.s, p.c];
        const data = seededRandom(size)(size);
        let sent = 0;
        const wire: Uint8Array[] = [];
        for (let i = 0; i < 1000 && sent < size; i++) {
          const n = w.write(data.subarray(sent));
          if (n > 0) sent += n;
          else if (w.getError(n) === SslError.WANT_ASYNC) await w.asyncWait();
          wire.push(wNet.network.read());
        }
        const all = new Uint8Array(wire.reduce((s, b) => s + b.length, 0));
        let at = 0;
        for (const b of wire) all.set(b, at), at += b.length;
        const cut = Math.floor(where * all.length);
        const got: Uint8Array[] = [];
        const buf = new Uint8Array(16384);
        let off = 0;
        for (let i = 0; i < 100000; i++) {
          if (off < cut) off += rNet.network.write(all.subarray(off, cut));
          if (off >= cut) rNet.network.shutdownWrite();
          const n = r.read(buf);
          if (n > 0) {
            got.push(buf.slice(0, n));
            continue;
          }
          if (r.getError(n) === SslError.WANT_ASYNC) {
            await r.asyncWait();
            continue;
          }
          if (r.getError(n) !== SslError.WANT_READ) break;
        }
        const total = got.reduce((s, b) => s + b.length, 0);
        const flat = new Uint8Array(total);
        at = 0;
        for (const b of got) flat.set(b, at), at += b.length;
        assert.equal(
          hex(flat),
          hex(data.subarray(0, total)),
          "the bytes before the cut are a prefix of the data",
        );
        const n = r.read(buf);
        assert.equal(n, -1);
        assert.equal(r.getError(n), SslError.SSL);
        assert.equal(r.error?.code, "truncated");
      },
    ),
    { seed: SEED, numRuns: 30, endOnFailure: true },
  );
});

Deno.test("properties: the fuzz invariant holds on random mutations of real transcripts", async () => {
  await prepare();
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom<"client" | "server">("client", "server"),
      fc.integer({ min: 0, max: SCENARIOS.length - 1 }),
      fc.integer({ min: 0, max: 255 }),
      fc.integer({ min: 0, max: 255 }),
      fc.uint8Array({ minLength: 0, maxLength: 48 }),
      async (role, scenario, head, knobs, program) => {
        // runEngineOnInput throws InvariantViolation on any broken invariant.
        await fuzzEngine(role, programSeed(scenario, [...program], head | 0x80, knobs));
      },
    ),
    { seed: SEED, numRuns: 120, endOnFailure: true },
  );
});

Deno.test("without an injected random, every ClientHello's random and legacy session id are fresh (the pooled CSPRNG hands no byte out twice)", () => {
  const seen = new Set<string>();
  const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  for (let i = 0; i < 400; i++) {
    const { engine, network } = createBioPair();
    // noble: the ClientHello comes at once (a native provider may make its key share asynchronously)
    const client = createClient(
      { serverName: "localhost", verifyPeer: () => true, provider: nobleProvider, groups: ["x25519"] },
      engine,
    );
    assert.equal(client.getError(client.doHandshake()), SslError.WANT_READ);
    const hello = network.read();
    const random = hello.subarray(11, 43); // record header 5, handshake header 4, legacy_version 2
    const sessionId = hello.subarray(44, 76);
    for (const part of [random, sessionId]) {
      assert.equal(part.length, 32);
      assert.ok(part.some((b) => b !== 0), "not zeros");
      assert.ok(!seen.has(hex(part)), "no 32 bytes came twice");
      seen.add(hex(part));
    }
  }
});
