// Copyright 2026 the airlock authors. MIT license.

/**
 * Real transcripts to mutate: a client and a server (the fixture's, seeded, fixed clock) run a scenario in
 * memory, and every record each side sent is kept with its decrypted content and the index of the key that
 * sealed it. Because both sides are deterministic, a fresh engine with the same configuration sends the very
 * same bytes again, so the other side's recorded flights are valid input for it, and a mutated copy resealed
 * with the recorded keys gets past record protection into the handshake and post-handshake code.
 *
 * TLS 1.3 keys come from the `secrets` event. TLS 1.2 has none: a side's key is its half of the key block,
 * expanded from the master secret and client random of the `keylog` line (CLIENT_RANDOM) and the server random
 * of the ServerHello, and it protects every record after that side's ChangeCipherSpec.
 * @module
 */

import {
  type BioPair,
  type ClientConfig,
  createBioPair,
  createClient,
  createServer,
  encodeEchConfigList,
  generateEchKey,
  nobleProvider,
  on,
  type ServerConfig,
  SslError,
  type TlsEngine,
  type TlsSession,
} from "../mod.ts";
import { trafficKeys } from "../engine/key_schedule.ts";
import { ContentType, HandshakeType } from "../engine/msgs/enums.ts";
import { decodeServerHello } from "../engine/msgs/handshake.ts";
import { HEADER_LEN, Protection, type RecordProtection } from "../engine/record/layer.ts";
import { SessionCache, TicketKeys } from "../engine/session.ts";
import { keyBlock } from "../engine/tls12.ts";
import { concat, fromHex } from "../suites/bytes.ts";
import { TLS12_SUITES, tls12SuiteById } from "../suites/tls12.ts";
import { TLS13_SUITES } from "../suites/tls13.ts";
import { certCompressors } from "../suites/cert_compression.ts";
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
  /** TLS 1.3: the traffic secret; TLS 1.2: the master secret. */
  readonly secret: Uint8Array;
  /** TLS 1.2: the randoms the key block is expanded with, and whose half of it this is. */
  readonly tls12?: {
    readonly clientRandom: Uint8Array;
    readonly serverRandom: Uint8Array;
    readonly writer: "client" | "server";
  };
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

/**
 * The scenarios the fuzz targets start from (an input's byte 1 picks one: new ones go at the end, so that
 * the seed corpus keeps its meaning).
 */
export const SCENARIOS = [
  "basic",
  "hrr",
  "mtls",
  "resume",
  "early",
  "tls12",
  "tls12-mtls",
  "tls12-resume",
  "tls12-sessionid",
  "psk",
  "psk-ke",
  "psk-hrr",
  "rawpk",
  "rawpk-mtls",
  "compressed",
  "ech",
  "ech-hrr",
  "ech-grease",
] as const;
/** One of {@link SCENARIOS}. */
export type ScenarioName = typeof SCENARIOS[number];

/** The configurations of a scenario: a fresh engine made from them repeats the recorded bytes. */
export interface ScenarioConfig {
  readonly client: ClientConfig;
  readonly server: ServerConfig;
}

const sessions = new Map<ScenarioName, Promise<TlsSession>>();
const EARLY = { maxSize: 4096 } as const;
const TLS12 = { maxVersion: "TLSv1.2" } as const;
/** The server's TLS 1.2 session ids: the resumed run's server finds the first run's session here. */
const SESSION_IDS = new SessionCache();

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
      const session = await firstSession(name, f, {}, {});
      return { client: clientConfig(f, { session }), server: serverConfig(f, seededTickets()) };
    }
    case "early": {
      // 0-RTT: the ticket allows early data, the client sends some with its ClientHello, the server takes it.
      const early = { earlyData: EARLY };
      const session = await firstSession(name, f, {}, early);
      return {
        client: clientConfig(f, { session, earlyData: true }),
        server: serverConfig(f, { ...seededTickets(), ...early }),
      };
    }
    case "tls12":
      // A TLS 1.2 client and a server that speaks 1.3 too (the downgrade sentinel in its random): ECDHE over
      // P-256, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 (Ed25519 signs for ECDSA suites, RFC 8422).
      return {
        client: clientConfig(f, TLS12),
        server: serverConfig(f, { groups: ["secp256r1", "x25519"] }),
      };
    case "tls12-mtls":
      // Both TLS 1.2 only; X25519, ChaCha20-Poly1305 (no explicit nonce), a client certificate.
      return {
        client: clientConfig(f, {
          ...TLS12,
          cipherSuites: ["TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"],
          clientCertificate: { chain: [f.certDer], key: f.key },
        }),
        server: serverConfig(f, { ...TLS12, clientAuth: { required: true, trustAnchors: [f.certDer] } }),
      };
    case "tls12-resume": {
      // An abbreviated handshake from a ticket (RFC 5077), AES-256-GCM and the SHA-384 PRF; a new ticket.
      const client = { ...TLS12, cipherSuites: ["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" as const] };
      const session = await firstSession(name, f, client, {});
      return { client: clientConfig(f, { ...client, session }), server: serverConfig(f, seededTickets()) };
    }
    case "psk":
      // An external PSK (psk_dhe_ke) beside a certificate the server would fall back to.
      return {
        client: clientConfig(f, { psks: [{ identity: "fuzz-decoy", key: PSK_KEY }, FUZZ_PSK] }),
        server: serverConfig(f, { psks: [FUZZ_PSK] }),
      };
    case "psk-ke": {
      // psk_ke, no certificates anywhere: a client that can verify nothing, a server that has nothing to send.
      const { trustAnchors: _, ...client } = clientConfig(f, { psks: [FUZZ_PSK], pskModes: ["psk_ke"] });
      const server = serverConfig(f, { pskLookup: (id) => id.length === 8 ? PSK_KEY : undefined });
      return { client, server: { ...server, certificates: [], pskModes: ["psk_ke", "psk_dhe_ke"] } };
    }
    case "psk-hrr":
      // An external PSK through a HelloRetryRequest: the binders recomputed over the new transcript; SHA-384.
      return {
        client: clientConfig(f, {
          groups: ["secp256r1", "x25519"],
          keyShareCount: 1,
          psks: [{ ...FUZZ_PSK, hash: "SHA-384" }],
        }),
        server: serverConfig(f, { groups: ["x25519"], psks: [{ ...FUZZ_PSK, hash: "SHA-384" }] }),
      };
    case "compressed": {
      // RFC 8879 both ways: the server's Certificate and, asked by its CertificateRequest, the client's go
      // as zlib CompressedCertificates (node:zlib, deterministic).
      const certificateCompression = certCompressors(["zlib"]);
      return {
        client: clientConfig(f, {
          certificateCompression,
          clientCertificate: { chain: [f.certDer], key: f.key },
        }),
        server: serverConfig(f, {
          certificateCompression,
          clientAuth: { required: true, trustAnchors: [f.certDer] },
        }),
      };
    }
    case "ech":
      // Encrypted Client Hello accepted: the inner hello (localhost) sealed to the server's key, the outer
      // one to the public name; the acceptance signal in ServerHello.random.
      return {
        client: clientConfig(f, { ech: { configList: ECH_LIST } }),
        server: serverConfig(f, { echKeys: [ECH_KEY] }),
      };
    case "ech-hrr":
      // ECH through a HelloRetryRequest: its confirmation extension, the second inner hello with an empty enc.
      return {
        client: clientConfig(f, {
          groups: ["secp256r1", "x25519"],
          keyShareCount: 1,
          ech: { configList: ECH_LIST },
        }),
        server: serverConfig(f, { groups: ["x25519"], echKeys: [ECH_KEY] }),
      };
    case "ech-grease":
      // A GREASE client (the default) and a server with a key: retry_configs in EncryptedExtensions.
      return { client: clientConfig(f), server: serverConfig(f, { echKeys: [ECH_KEY] }) };
    case "tls12-sessionid": {
      // An abbreviated handshake from the server's session id cache (no tickets offered).
      const client = { ...TLS12, offerTickets: false };
      const server = { ...seededTickets(), sessionIdCache: SESSION_IDS };
      const session = await firstSession(name, f, client, server);
      return { client: clientConfig(f, { ...client, session }), server: serverConfig(f, server) };
    }
    case "rawpk":
      // RFC 7250: the server presents the fixture key raw (it keeps its certificate for other clients); the
      // client takes only raw keys, and pins it.
      return {
        client: clientConfig(f, {
          minVersion: "TLSv1.3",
          rawPublicKeys: { pinnedKeys: [f.key.publicKey.spki] },
        }),
        server: serverConfig(f, { rawPublicKey: { key: f.key } }),
      };
    case "rawpk-mtls":
      // Raw keys both ways: the client offers RawPublicKey then X509 for the server, and authenticates with the
      // fixture key raw, which the server requires and pins.
      return {
        client: clientConfig(f, {
          minVersion: "TLSv1.3",
          rawPublicKeys: {
            serverTypes: ["RawPublicKey", "X509"],
            pinnedKeys: [f.key.publicKey.spki],
            clientKey: f.key,
          },
        }),
        server: serverConfig(f, {
          rawPublicKey: { key: f.key },
          clientAuth: { required: true, rawPublicKeys: { pinnedKeys: [f.key.publicKey.spki] } },
        }),
      };
  }
}

/** The ECH key of the ech scenarios, from its own seed (a public test key), and its list. */
const ECH_KEY = generateEchKey({ publicName: "public.fuzz", configId: 42 }, nobleProvider, seededRandom(11));
const ECH_LIST = encodeEchConfigList([ECH_KEY.config]);

/** The external PSK of the psk scenarios (a public test key). */
const PSK_KEY = new Uint8Array(32).map((_, i) => 0xa0 + i);
const FUZZ_PSK = { identity: "fuzz-psk", key: PSK_KEY } as const;

/** Ticket keys drawn from their own seed: the resumed run's server decrypts the first run's ticket. */
function seededTickets(): Partial<ServerConfig> {
  return { tickets: { store: new TicketKeys(seededRandom(7)) } };
}

/** The session of a full handshake to resume in scenario `name` (made once per process). */
function firstSession(
  name: ScenarioName,
  f: Fixture,
  client: Partial<ClientConfig>,
  server: Partial<ServerConfig>,
): Promise<TlsSession> {
  let s = sessions.get(name);
  if (!s) sessions.set(name, s = newSession(name, f, client, server));
  return s;
}

async function newSession(
  name: ScenarioName,
  f: Fixture,
  client: Partial<ClientConfig>,
  server: Partial<ServerConfig>,
): Promise<TlsSession> {
  let session: TlsSession | undefined;
  await run(
    name,
    { client: clientConfig(f, client), server: serverConfig(f, { ...seededTickets(), ...server }) },
    (c) => {
      on(c, "session", (s) => session ??= s);
    },
  );
  if (!session) throw new Error(`Cannot record ${name}: the first connection got no session to resume`);
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
  const hello: ServerRandom = {};
  const sides = { client: recorder(client, hello), server: recorder(server, hello) };
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
  // TLS 1.2 has no KeyUpdate (the engine refuses it locally).
  if (client.handshakeInfo?.version === "TLSv1.3") both((e) => e.keyUpdate(true));
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

/** The ServerHello's random and cipher suite (the server's recorder sees it; TLS 1.2 keys need it). */
interface ServerRandom {
  random?: Uint8Array;
  suite?: number;
}

function recorder(e: TlsEngine, hello: ServerRandom): Recorder {
  const keys: RecordedKey[] = [];
  const openers: RecordProtection[] = [];
  const appData = e.role === "client" ? [...PAYLOADS.client, EARLY_PAYLOAD] : [...PAYLOADS.server];
  const side: Side = { records: [], flights: [], keys, appData };
  const addKey = (k: RecordedKey) => {
    keys.push(k);
    openers.push(protection(k));
  };
  on(e, "secrets", (info) => {
    if (info.direction === "write") addKey({ suite: info.cipherSuite, secret: info.secret.slice() });
  });
  let master12: { clientRandom: Uint8Array; master: Uint8Array } | undefined;
  on(e, "keylog", (line) => {
    const [label, clientRandom, master] = line.split(" ");
    if (label === "CLIENT_RANDOM") {
      master12 = { clientRandom: fromHex(clientRandom!), master: fromHex(master!) };
    }
  });
  let held = new Uint8Array(0);
  return {
    side,
    take(bytes) {
      const buf = concat(held, bytes);
      const flight: number[] = [];
      let at = 0;
      while (buf.length - at >= HEADER_LEN) {
        const len = (buf[at + 3]! << 8) | buf[at + 4]!;
        if (buf.length - at < HEADER_LEN + len) break;
        const header = buf.slice(at, at + HEADER_LEN);
        const body = buf.slice(at + HEADER_LEN, at + HEADER_LEN + len);
        at += HEADER_LEN + len;
        let rec: RecordedRecord = { type: header[0]!, version: (header[1]! << 8) | header[2]!, body };
        // A plaintext ServerHello (before this side has keys: a TLS 1.2 Finished is a handshake record too).
        if (
          rec.type === ContentType.handshake && openers.length === 0 && body[0] === HandshakeType.serverHello
        ) {
          const sh = decodeServerHello(body.subarray(4, 4 + ((body[1]! << 16) | (body[2]! << 8) | body[3]!)));
          hello.random = sh.random;
          hello.suite = sh.cipherSuite;
        }
        if (rec.type === ContentType.changeCipherSpec && master12 && openers.length === 0) {
          // TLS 1.2: this side's records are protected from here on, with its half of the key block.
          const suite = tls12SuiteById(hello.suite!)!;
          const { clientRandom, master } = master12;
          const randoms = { clientRandom, serverRandom: hello.random!, writer: e.role };
          addKey({ suite: suite.name, secret: master, tls12: randoms });
        } else if (rec.type !== ContentType.changeCipherSpec) {
          // The newest key that opens it (each protection keeps its own sequence number).
          for (let k = 0; k < openers.length; k++) {
            const p = openers[k]!;
            // TLS 1.3 protects application_data records only (a plaintext alert may come before the keys).
            if (p.hidesType && rec.type !== ContentType.applicationData) continue;
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

/** The protection of recorded key `k` (sequence number 0). */
export function protection(k: RecordedKey): RecordProtection {
  if (k.tls12) {
    const s = TLS12_SUITES.find((x) => x.name === k.suite);
    if (!s) throw new Error(`Cannot find suite ${k.suite}`);
    return keyBlock(s, k.secret, k.tls12.clientRandom, k.tls12.serverRandom, nobleProvider)[k.tls12.writer];
  }
  const s = TLS13_SUITES.find((x) => x.name === k.suite);
  if (!s) throw new Error(`Cannot find suite ${k.suite}`);
  const { key, iv } = trafficKeys(s.hash, k.secret, s.aead.keyLen);
  return new Protection(s.aead.importKey(key), iv);
}

/** The wire bytes of `side`'s records `indexes` (default: all). */
export function wireBytes(side: Side, indexes?: readonly number[]): Uint8Array {
  const recs = indexes ? indexes.map((i) => side.records[i]!) : side.records;
  return concat(...recs.map((r) => {
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
