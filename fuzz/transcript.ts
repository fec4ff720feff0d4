// Copyright 2026 the airlock authors. MIT license.

/**
 * Real transcripts to mutate: a client and a server (the fixture's, seeded, fixed clock) run a scenario in
 * memory, and every record each side sent is kept with its decrypted content and the index of the key that
 * sealed it. Because both sides are deterministic, a fresh engine with the same configuration sends the very
 * same bytes again, so the other side's recorded flights are valid input for it, and a mutated copy resealed
 * with the recorded keys gets past record protection into the handshake and post-handshake code.
 * @module
 */

import {
  type BioPair,
  type ClientConfig,
  createBioPair,
  createClient,
  createServer,
  on,
  type ServerConfig,
  SslError,
  type TlsEngine,
  type TlsSession,
} from "../mod.ts";
import { trafficKeys } from "../engine/key_schedule.ts";
import { ContentType } from "../engine/msgs/enums.ts";
import { HEADER_LEN, Protection } from "../engine/record/layer.ts";
import { TicketKeys } from "../engine/session.ts";
import { TLS13_SUITES } from "../suites/tls13.ts";
import { clientConfig, type Fixture, fixture, seededRandom, serverConfig } from "./_fixture.ts";

/** One record as one side sent it. */
export interface RecordedRecord {
  /** The outer content type and version. */
  readonly type: number;
  readonly version: number;
  /** The body as sent (ciphertext for a protected record). */
  readonly body: Uint8Array;
  /** For a protected record: the key that sealed it (an index into `keys`), the inner type and content. */
  readonly key?: number;
  readonly innerType?: number;
  readonly content?: Uint8Array;
}

/** A traffic key one side wrote with. */
export interface RecordedKey {
  readonly suite: string;
  readonly secret: Uint8Array;
}

/** What one side sent. */
export interface Side {
  readonly records: RecordedRecord[];
  /** The records, grouped as they were delivered (one flight per pump). */
  readonly flights: number[][];
  readonly keys: RecordedKey[];
  /** The application data it wrote (every byte a peer may legitimately read). */
  readonly appData: Uint8Array[];
}

/** A recorded scenario. */
export interface Transcript {
  readonly name: ScenarioName;
  readonly client: Side;
  readonly server: Side;
}

/** The scenarios the fuzz targets start from. */
export const SCENARIOS = ["basic", "hrr", "mtls", "resume", "early"] as const;
/** One of {@link SCENARIOS}. */
export type ScenarioName = typeof SCENARIOS[number];

/** The configurations of a scenario: a fresh engine made from them repeats the recorded bytes. */
export interface ScenarioConfig {
  readonly client: ClientConfig;
  readonly server: ServerConfig;
}

const sessions = new Map<"resume" | "early", Promise<TlsSession>>();
const EARLY = { maxSize: 4096 } as const;

/** The client and server configurations of `name` (fresh objects: seeded randoms start over). */
export async function scenarioConfig(name: ScenarioName): Promise<ScenarioConfig> {
  const f = await fixture();
  switch (name) {
    case "basic":
      return { client: clientConfig(f), server: serverConfig(f) };
    case "hrr":
      // The client's first share is P-256; the server only takes X25519: a HelloRetryRequest.
      return {
        client: clientConfig(f, { groups: ["secp256r1", "x25519"], keyShareCount: 1 }),
        server: serverConfig(f, { groups: ["x25519"] }),
      };
    case "mtls":
      return {
        client: clientConfig(f, { clientCertificate: { chain: [f.certDer], key: f.key } }),
        server: serverConfig(f, { clientAuth: { required: true, trustAnchors: [f.certDer] } }),
      };
    case "resume": {
      if (!sessions.has(name)) sessions.set(name, firstSession(f, {}));
      const session = await sessions.get(name)!;
      return { client: clientConfig(f, { session }), server: serverConfig(f, seededTickets()) };
    }
    case "early": {
      // 0-RTT: the ticket allows early data, the client sends some with its ClientHello, the server takes it.
      const early = { earlyData: EARLY };
      if (!sessions.has(name)) sessions.set(name, firstSession(f, early));
      const session = await sessions.get(name)!;
      return {
        client: clientConfig(f, { session, earlyData: true }),
        server: serverConfig(f, { ...seededTickets(), ...early }),
      };
    }
  }
}

/** Ticket keys drawn from their own seed: the resumed run's server decrypts the first run's ticket. */
function seededTickets(): Partial<ServerConfig> {
  return { tickets: { store: new TicketKeys(seededRandom(7)) } };
}

async function firstSession(f: Fixture, server: Partial<ServerConfig>): Promise<TlsSession> {
  let session: TlsSession | undefined;
  await run(
    "basic",
    { client: clientConfig(f), server: serverConfig(f, { ...seededTickets(), ...server }) },
    (c) => {
      on(c, "session", (s) => session ??= s);
    },
  );
  if (!session) throw new Error("Cannot record the resume scenario: the first connection got no ticket");
  return session;
}

const cache = new Map<ScenarioName, Promise<Transcript>>();

/** Record scenario `name` (once per process). */
export function recordScenario(name: ScenarioName): Promise<Transcript> {
  let t = cache.get(name);
  if (!t) {
    t = scenarioConfig(name).then((cfg) => run(name, cfg));
    cache.set(name, t);
  }
  return t;
}

/** What the client sends as 0-RTT data in the "early" scenario (before its first doHandshake). */
export const EARLY_PAYLOAD: Uint8Array = new TextEncoder().encode("early data: GET /idempotent 0123456789");

/** The payloads each side writes once connected: distinct, so a test can tell whose bytes it reads. */
export const PAYLOADS = {
  client: [new TextEncoder().encode("client says hello, 0123456789"), new Uint8Array(300).fill(0x63)],
  server: [new TextEncoder().encode("server answers, abcdefghijklmnop"), new Uint8Array(3000).fill(0x73)],
} as const;

async function run(
  name: ScenarioName,
  cfg: ScenarioConfig,
  setup?: (client: TlsEngine, server: TlsEngine) => void,
): Promise<Transcript> {
  const c = createBioPair();
  const s = createBioPair();
  const client = createClient(cfg.client, c.engine);
  const server = createServer(cfg.server, s.engine);
  setup?.(client, server);
  const sides = { client: recorder(client), server: recorder(server) };
  if (cfg.client.earlyData) {
    const n = client.writeEarlyData(EARLY_PAYLOAD);
    if (n !== EARLY_PAYLOAD.length) throw new Error(`Cannot record ${name}: writeEarlyData returned ${n}`);
  }
  const pump = () => {
    move(c, s, sides.client);
    move(s, c, sides.server);
  };
  const early = new Uint8Array(8192);
  for (let i = 0; i < 200 && !(client.isHandshakeDone && server.isHandshakeDone); i++) {
    await call(client, () => client.doHandshake());
    if (cfg.server.earlyData) await call(server, () => server.readEarlyData(early));
    await call(server, () => server.doHandshake());
    pump();
  }
  if (!client.isHandshakeDone || !server.isHandshakeDone) {
    throw new Error(
      `Cannot record ${name}: ${client.error?.message ?? server.error?.message ?? "no progress"}`,
    );
  }
  const buf = new Uint8Array(1 << 16);
  const both = (fn: (e: TlsEngine, who: "client" | "server") => void) => {
    fn(client, "client");
    fn(server, "server");
    pump();
    for (let i = 0; i < 4; i++) {
      client.read(buf);
      server.read(buf);
      pump();
    }
  };
  both((e, who) => write(e, PAYLOADS[who][0]));
  both((e) => e.keyUpdate(true));
  both((e, who) => write(e, PAYLOADS[who][1]));
  client.shutdown();
  pump();
  server.read(buf);
  server.shutdown();
  pump();
  client.shutdown();
  for (const e of [client, server]) {
    if (e.error) throw new Error(`Cannot record ${name}: ${e.error.message}`);
  }
  return { name, client: sides.client.side, server: sides.server.side };
}

function write(e: TlsEngine, data: Uint8Array): void {
  const n = e.write(data);
  if (n !== data.length) throw new Error(`Cannot record: write returned ${n}`);
}

async function call(e: TlsEngine, fn: () => number): Promise<void> {
  const r = fn();
  if (r < 0 && e.getError(r) === SslError.WANT_ASYNC) await e.asyncWait();
}

interface Recorder {
  readonly side: Side;
  /** Frame what was sent (whole records only; the BIO pair never splits one across pumps here). */
  take(bytes: Uint8Array): void;
}

function recorder(e: TlsEngine): Recorder {
  const keys: RecordedKey[] = [];
  const openers: Protection[] = [];
  const appData = e.role === "client" ? [...PAYLOADS.client, EARLY_PAYLOAD] : [...PAYLOADS.server];
  const side: Side = { records: [], flights: [], keys, appData };
  on(e, "secrets", (info) => {
    if (info.direction !== "write") return;
    keys.push({ suite: info.cipherSuite, secret: info.secret.slice() });
    openers.push(protection(info.cipherSuite, info.secret));
  });
  let held = new Uint8Array(0);
  return {
    side,
    take(bytes) {
      const buf = concat([held, bytes]);
      const flight: number[] = [];
      let at = 0;
      while (buf.length - at >= HEADER_LEN) {
        const len = (buf[at + 3]! << 8) | buf[at + 4]!;
        if (buf.length - at < HEADER_LEN + len) break;
        const header = buf.slice(at, at + HEADER_LEN);
        const body = buf.slice(at + HEADER_LEN, at + HEADER_LEN + len);
        at += HEADER_LEN + len;
        let rec: RecordedRecord = { type: header[0]!, version: (header[1]! << 8) | header[2]!, body };
        if (rec.type === ContentType.applicationData) {
          // The newest key that opens it (each Protection keeps its own sequence number).
          for (let k = 0; k < openers.length; k++) {
            const p = openers[k]!;
            const seq = p.seq;
            const opened = p.tryOpen({ ...rec, header });
            if (!opened) {
              p.seq = seq;
              continue;
            }
            rec = { ...rec, key: k, innerType: opened.type, content: opened.content.slice() };
            break;
          }
        }
        flight.push(side.records.length);
        side.records.push(rec);
      }
      held = buf.slice(at);
      if (flight.length > 0) side.flights.push(flight);
    },
  };
}

function move(from: BioPair, to: BioPair, rec: Recorder): void {
  const n = Math.min(from.network.pending(), to.network.writeGuarantee());
  if (n <= 0) return;
  const bytes = from.network.read(n);
  rec.take(bytes);
  if (to.network.write(bytes) !== bytes.length) throw new Error("Cannot record: short write");
}

/** A Protection for `suite` and `secret` (sequence number 0). */
export function protection(suite: string, secret: Uint8Array): Protection {
  const s = TLS13_SUITES.find((x) => x.name === suite);
  if (!s) throw new Error(`Cannot find suite ${suite}`);
  const { key, iv } = trafficKeys(s.hash, secret, s.aead.keyLen);
  return new Protection(s.aead.importKey(key), iv);
}

/** Concatenate byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The wire bytes of `side`'s records `indexes` (default: all). */
export function wireBytes(side: Side, indexes?: readonly number[]): Uint8Array {
  const recs = indexes ? indexes.map((i) => side.records[i]!) : side.records;
  return concat(recs.map((r) => {
    const out = new Uint8Array(HEADER_LEN + r.body.length);
    out[0] = r.type;
    out[1] = r.version >>> 8;
    out[2] = r.version & 0xff;
    out[3] = r.body.length >>> 8;
    out[4] = r.body.length & 0xff;
    out.set(r.body, HEADER_LEN);
    return out;
  }));
}
