/**
 * airlock as a bench `Impl`: an engine and its BIO pair, pumped over a `Link` (a synchronous memory link to
 * another airlock engine, or a Duplex facing node:tls); and airlock as users drive it over a byte stream,
 * through `connectTls` over a web stream pair (`airlockStreams`).
 * @module
 */

import {
  type Bio,
  type CertifiedKey,
  type CipherSuiteName,
  type ClientConfig,
  type CommonConfig,
  createBioPair,
  createClient,
  createServer,
  type CryptoProvider,
  encodeEchConfigList,
  generateEchKey,
  type HandshakeInfo,
  loadPrivateKey,
  nobleProvider,
  on,
  type ServerConfig,
  SslError,
  type TlsEngine,
  type TlsSession,
  webCryptoProvider,
} from "../mod.ts";
import { type ByteStreamTransport, connectTls } from "../adapters/stream.ts";
import { nodeCryptoProvider } from "../suites/node_crypto.ts";
import type { TestKeyType } from "../testing/pki.ts";
import { benchChain } from "./_pki.ts";
import {
  type Case,
  caseKey,
  type End,
  groupsOf,
  type Impl,
  type Link,
  linkOf,
  type Negotiated,
  type Side,
} from "./_common.ts";

let spare: Uint8Array | undefined = new Uint8Array(16384);

/** What every airlock side tells from its engine: what it negotiated, whether it resumed, its session. */
abstract class EngineSide implements Side {
  abstract readonly ready: Promise<void>;
  onData: ((chunk: Uint8Array) => void) | undefined;
  readonly engine: TlsEngine;
  #session: TlsSession | undefined;

  constructor(engine: TlsEngine) {
    this.engine = engine;
    on(engine, "session", (s) => (this.#session = s));
  }

  abstract write(data: Uint8Array): void | Promise<void>;
  abstract close(): void;

  negotiated(): Negotiated {
    const i: HandshakeInfo | undefined = this.engine.handshakeInfo;
    return { version: i?.version, suite: i?.cipherSuite, group: i?.group, ech: i?.ech };
  }

  resumed(): boolean {
    return this.engine.handshakeInfo?.resumed ?? false;
  }

  session(): unknown {
    return this.#session;
  }
}

/**
 * One engine over one link. Every event (bytes in, the link drained, an async operation done, a write)
 * runs `#step()`, which loops until nothing moves: bytes from the link into the BIO, the handshake, reads
 * (plaintext to `onData`), queued writes, and the BIO's output to the link.
 */
class AirlockSide extends EngineSide {
  readonly ready: Promise<void>;
  readonly #network: Bio;
  readonly #link: Link;
  readonly #inbox: Uint8Array[] = [];
  readonly #writes: { data: Uint8Array; done: () => void }[] = [];
  #done = false;
  #closed = false;
  #stepping = false;
  #again = false;
  #async = false;
  #blocked = false;
  #resolve!: () => void;
  #reject!: (e: unknown) => void;

  constructor(engine: TlsEngine, network: Bio, link: Link) {
    super(engine);
    this.#network = network;
    this.#link = link;
    this.ready = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.ready.catch(() => {}); // the caller sees the failure through `ready`; no unhandled rejection
    link.onBytes((bytes) => {
      this.#inbox.push(bytes);
      this.#step();
    });
    link.onDrain(() => {
      this.#blocked = false;
      this.#step();
    });
    queueMicrotask(() => this.#step()); // a client speaks first
  }

  write(data: Uint8Array): void | Promise<void> {
    if (data.length === 0) return;
    let done!: () => void;
    const p = new Promise<void>((r) => (done = r));
    this.#writes.push({ data, done });
    this.#step();
    // Accepted at once (the usual case in memory): no promise for the caller to wait on.
    if (this.#writes.length === 0 && !this.#blocked) return;
    return p;
  }

  close(): void {
    this.#closed = true;
  }

  #step(): void {
    if (this.#closed) return;
    if (this.#stepping) {
      this.#again = true;
      return;
    }
    this.#stepping = true;
    try {
      do {
        this.#again = false;
        this.#feed();
        if (!this.#done) {
          const r = this.engine.doHandshake();
          if (r === 1) {
            this.#done = true;
            this.#again = true;
            this.#resolve();
          } else this.#want(r);
        } else {
          this.#readAll();
          this.#writeQueued();
        }
        this.#flush();
      } while (this.#again && !this.#closed);
    } catch (e) {
      this.#closed = true;
      this.#reject(e);
    } finally {
      this.#stepping = false;
    }
  }

  /** Link bytes into the BIO, as many as fit. */
  #feed(): void {
    while (this.#inbox.length > 0) {
      const head = this.#inbox[0]!;
      const n = this.#network.write(head);
      if (n > 0) this.#again = true;
      if (n === head.length) this.#inbox.shift();
      else {
        this.#inbox[0] = head.subarray(n);
        return;
      }
    }
  }

  /** The BIO's output to the link. */
  #flush(): void {
    if (this.#network.pending() === 0) return;
    if (!this.#link.send(this.#network.read())) this.#blocked = true;
    this.#again = true;
  }

  #readAll(): void {
    // One read buffer for all sides (so that idle connections do not each hold one), unless a read is
    // already using it further up the stack (a side answering its peer synchronously).
    const buf = spare ?? new Uint8Array(16384);
    spare = undefined;
    try {
      for (;;) {
        const n = this.engine.read(buf);
        if (n <= 0) return this.#want(n);
        this.onData?.(buf.subarray(0, n));
      }
    } finally {
      spare = buf;
    }
  }

  #writeQueued(): void {
    while (this.#writes.length > 0 && !this.#blocked) {
      const head = this.#writes[0]!;
      const n = this.engine.write(head.data);
      if (n <= 0) return this.#want(n);
      this.#again = true;
      if (n === head.data.length) {
        this.#writes.shift();
        head.done();
      } else head.data = head.data.subarray(n);
    }
  }

  /** Act on a non-positive return: only a real failure throws. */
  #want(ret: number): void {
    const e = this.engine.getError(ret);
    if (e === SslError.WANT_READ || e === SslError.WANT_WRITE || e === SslError.ZERO_RETURN) return;
    if (e === SslError.WANT_ASYNC) {
      if (!this.#async) {
        this.#async = true;
        void this.engine.asyncWait().then(() => {
          this.#async = false;
          this.#step();
        });
      }
      return;
    }
    throw this.engine.error ?? new Error(`airlock stopped with error code ${e}`);
  }
}

const PROVIDERS = { noble: nobleProvider, webcrypto: webCryptoProvider, node: nodeCryptoProvider } as const;
type ProviderName = keyof typeof PROVIDERS | "default";

/**
 * Each certificate's key as each provider loads it (so that it signs with that provider's primitives);
 * "default" as `loadPrivateKey` loads it, for the default provider, as users do.
 */
const keys = new Map<`${TestKeyType}/${ProviderName}`, CertifiedKey>();
const anchors = new Map<TestKeyType, { ca: Uint8Array; other: Uint8Array }>();

/** Load the certificates and keys the cases need (connections are then set up synchronously). */
export async function prepareAirlock(types: Iterable<TestKeyType>): Promise<void> {
  for (const t of types) {
    if (keys.has(`${t}/default`)) continue;
    const c = await benchChain(t);
    anchors.set(t, { ca: c.caDer, other: c.otherCaDer });
    keys.set(`${t}/default`, { chain: c.chain, key: await loadPrivateKey(c.keyPkcs8) });
    for (const [name, provider] of Object.entries(PROVIDERS) as [keyof typeof PROVIDERS, CryptoProvider][]) {
      keys.set(`${t}/${name}`, { chain: c.chain, key: await provider.loadPrivateKey(c.keyPkcs8) });
    }
  }
}

/** What pins a case on either role: one version, one suite, its groups, the provider if the case names one. */
function pinned(c: Case): CommonConfig {
  const version = c.version as NonNullable<CommonConfig["minVersion"]>;
  return {
    cipherSuites: [c.suite as CipherSuiteName],
    ...(c.defaultGroups ? {} : { groups: groupsOf(c) }),
    minVersion: version,
    maxVersion: version,
    ...(c.provider ? { provider: PROVIDERS[c.provider] } : {}),
  };
}

/** How the client judges the chain (see `Case.trust`): the bench CA and the name, by default. */
function trust(c: Case): Pick<ClientConfig, "trustAnchors" | "verifyPeer"> {
  if (c.trust === "none") return { verifyPeer: () => true };
  const a = anchors.get(c.cert);
  if (!a) throw new Error(`prepareAirlock() did not load the ${c.cert} chain`);
  return { trustAnchors: [c.trust === "other-ca" ? a.other : a.ca] };
}

/** The ECH key of the ECH rows (public name "public.example"; the inner name stays "localhost"). */
const ECH_KEY = generateEchKey(
  { publicName: "public.example", configId: 1 },
  nobleProvider,
  (n) => crypto.getRandomValues(new Uint8Array(n)),
);
const ECH_CONFIG_LIST = encodeEchConfigList([ECH_KEY.config]);

/** One server config per case, so that its ticket keys are shared and sessions resume. */
const serverConfigs = new Map<string, ServerConfig>();

function serverConfig(c: Case): ServerConfig {
  const id = caseKey(c);
  let config = serverConfigs.get(id);
  if (!config) {
    const ck = keys.get(`${c.cert}/${c.provider ?? "default"}`);
    if (!ck) throw new Error(`prepareAirlock() did not load the ${c.cert} key`);
    config = {
      certificates: [ck],
      ...pinned(c),
      tickets: { count: 1 },
      ...(c.ech ? { echKeys: [ECH_KEY] } : {}),
    };
    serverConfigs.set(id, config);
  }
  return config;
}

/**
 * airlock, both roles, configured for the case: the client verifies the chain against the bench CA and the
 * name "localhost" (`trustAnchors`, `serverName`), unless the case says otherwise (`Case.trust`). `side` makes
 * each engine, with the network half of its BIO pair, into a bench side over `end`.
 */
function airlockImpl(
  name: string,
  wire: Impl["wire"],
  side: (tls: TlsEngine, network: Bio, end: End) => Side,
): Impl {
  return {
    name,
    wire,
    unsupported: (c) => (c.version === "TLSv1.1" ? "airlock speaks TLS 1.2 and 1.3 only" : undefined),
    client(c: Case, end: End, session?: unknown): Side {
      const { engine, network } = createBioPair();
      const tls = createClient({
        serverName: "localhost",
        ...trust(c),
        ...pinned(c),
        ...(session ? { session: session as TlsSession } : {}),
        ...(c.ech ? { ech: { configList: ECH_CONFIG_LIST } } : {}),
      }, engine);
      return side(tls, network, end);
    },
    server(c: Case, end: End): Side {
      const { engine, network } = createBioPair();
      return side(createServer(serverConfig(c), engine), network, end);
    },
  };
}

/** airlock's engine, pumped by the bench over a `Link`. */
export const airlock: Impl = airlockImpl(
  "airlock",
  "link",
  (tls, network, end) => new AirlockSide(tls, network, linkOf(end)),
);

/**
 * One engine driven by `connectTls` over a web stream pair, used as an application uses the `TlsStream`:
 * each write goes to the plaintext writable's writer without being awaited, and the next waits for
 * `writer.ready` only when the writable's queue is full (16 KiB), so small writes queue and the adapter joins
 * them into records; a loop reads the plaintext readable from the end of the handshake on.
 */
class StreamSide extends EngineSide {
  readonly ready: Promise<void>;
  readonly #abort = new AbortController();
  #writer: WritableStreamDefaultWriter<Uint8Array> | undefined;

  constructor(engine: TlsEngine, network: Bio, transport: ByteStreamTransport) {
    super(engine);
    this.ready = connectTls(engine, network, transport, { signal: this.#abort.signal }).then((tls) => {
      this.#writer = tls.writable.getWriter();
      void this.#readAll(tls.readable.getReader());
    });
    this.ready.catch(() => {}); // the caller sees the failure through `ready`; no unhandled rejection
  }

  write(data: Uint8Array): void | Promise<void> {
    const writer = this.#writer!;
    // A failed write fails the writable, so `ready` rejects: the caller sees the failure there.
    writer.write(data).catch(() => {});
    const room = writer.desiredSize; // null once the writable failed
    if (room === null || room <= 0) return writer.ready;
  }

  async #readAll(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        this.onData?.(value);
      }
    } catch {
      // Dropped by close(), or failed: a writer on this connection sees it through `ready`.
    }
  }

  close(): void {
    this.#abort.abort(); // connectTls tears the connection down: both plaintext streams, the transport
  }
}

function streamsOf(end: End): ByteStreamTransport {
  if (!end.streams) throw new Error("airlock through connectTls needs a web stream pair");
  return end.streams;
}

/**
 * airlock through its byte stream adapter, `connectTls`: what an application on `connectTls` runs (over
 * `Deno.Conn`, or `node:net` through `nodeSocketStreams`), here over an in-memory `streamPair()`.
 */
export const airlockStreams: Impl = airlockImpl(
  "airlock (connectTls)",
  "streams",
  (tls, network, end) => new StreamSide(tls, network, streamsOf(end)),
);
