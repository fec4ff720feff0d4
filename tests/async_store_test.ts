/**
 * Session stores that answer later (a networked ticket store, session id store or anti-replay register):
 * while one is pending the server says WANT_ASYNC and goes on when it settles; one that rejects or throws
 * fails closed (an unknown ticket is a full handshake, no ticket is sent, 0-RTT is refused), with a
 * `storeerror` event and never an error of the handshake's own. TLS 1.3 and TLS 1.2.
 */
import assert from "node:assert/strict";
import { handshake, type Pair, seededRandom, settled, transfer, writeAll } from "../testing/pair.ts";
import { generateChain } from "../testing/pki.ts";
import {
  type AntiReplay,
  type ClientConfig,
  createBioPair,
  createClient,
  createServer,
  loadPrivateKey,
  nobleProvider,
  on,
  type ServerConfig,
  SessionCache,
  type SessionIdStore,
  SslError,
  type StoreErrorInfo,
  StrikeRegister,
  TicketKeys,
  type TicketStore,
  type TlsEngine,
  type TlsSession,
} from "../mod.ts";

const enc = new TextEncoder(), dec = new TextDecoder();

type Operation = StoreErrorInfo["operation"];

/**
 * The in-memory stores behind promises that settle a macrotask later, as a networked store's would; the
 * operations in `failing` reject (or, with `throws`, throw at once). `outstanding` counts promises not yet
 * settled, `calls` what was asked.
 */
class Remote implements TicketStore, SessionIdStore, AntiReplay {
  readonly failing = new Set<Operation>();
  throws = false;
  outstanding = 0;
  readonly calls: Operation[] = [];
  readonly windowMs: number;
  readonly #keys = new TicketKeys();
  readonly #ids = new SessionCache();
  readonly #strikes = new StrikeRegister();

  constructor() {
    this.windowMs = this.#strikes.windowMs;
  }

  #later<T>(op: Operation, answer: () => T): Promise<T> {
    this.calls.push(op);
    if (this.failing.has(op) && this.throws) throw new Error(`store down (${op})`);
    this.outstanding++;
    return new Promise<T>((resolve, reject) =>
      setTimeout(() => {
        this.outstanding--;
        if (this.failing.has(op)) reject(new Error(`store down (${op})`));
        else resolve(answer());
      }, 0)
    );
  }

  issue(state: Uint8Array, random: (n: number) => Uint8Array): Promise<Uint8Array> {
    return this.#later("issue", () => this.#keys.issue(state, random));
  }
  redeem(ticket: Uint8Array): Promise<Uint8Array | undefined> {
    return this.#later("redeem", () => this.#keys.redeem(ticket));
  }
  renews(ticket: Uint8Array): Promise<boolean> {
    return this.#later("renews", () => this.#keys.renews(ticket));
  }
  rotate(): void {
    this.#keys.rotate();
  }
  store(id: Uint8Array, state: Uint8Array): Promise<void> {
    return this.#later("store", () => this.#ids.store(id, state));
  }
  lookup(id: Uint8Array): Promise<Uint8Array | undefined> {
    return this.#later("lookup", () => this.#ids.lookup(id));
  }
  admit(binder: Uint8Array, now: number): Promise<boolean> {
    return this.#later("admit", () => this.#strikes.admit(binder, now));
  }
}

/** One connection's record: the server's WANT_ASYNC answers while a store promise was pending, and its events. */
interface Watched {
  readonly p: Pair;
  readonly sessions: TlsSession[];
  readonly storeErrors: StoreErrorInfo[];
  /** How many times the server's doHandshake() said WANT_ASYNC while the store had a promise out. */
  waitedOnStore: number;
}

async function setup(version: "TLSv1.3" | "TLSv1.2") {
  const chain = await generateChain({ dnsNames: ["server.test"] });
  const key = await loadPrivateKey(chain.keyPkcs8);
  const remote = new Remote();
  const serverConfig: ServerConfig = {
    certificates: [{ chain: chain.chain, key }],
    maxVersion: version,
    tickets: { store: remote },
    sessionIdCache: remote,
    earlyData: { maxSize: 1024, antiReplay: remote },
  };
  const pair = (client: Partial<ClientConfig> = {}): Watched => {
    const c = createBioPair(), s = createBioPair();
    const server = createServer(serverConfig, s.engine);
    const p: Pair = {
      client: createClient({ serverName: "server.test", trustAnchors: [chain.rootPem], ...client }, c.engine),
      server,
      c,
      s,
    };
    const w: Watched = { p, sessions: [], storeErrors: [], waitedOnStore: 0 };
    on(p.client, "session", (x) => w.sessions.push(x));
    on(server, "storeerror", (e) => w.storeErrors.push(e));
    const doHandshake = server.doHandshake.bind(server);
    server.doHandshake = () => {
      const r = doHandshake();
      if (r < 0 && server.getError(r) === SslError.WANT_ASYNC && remote.outstanding > 0) w.waitedOnStore++;
      return r;
    };
    return w;
  };
  /** A whole connection: the handshake, then the client reads what followed it (TLS 1.3 tickets). */
  const connect = async (client: Partial<ClientConfig> = {}, early?: string): Promise<Watched> => {
    const w = pair(client);
    if (early !== undefined) {
      assert.equal(
        await settled(w.p.client, () => w.p.client.writeEarlyData(enc.encode(early))),
        early.length,
      );
    }
    await handshake(w.p);
    await settled(w.p.client, () => w.p.client.read(new Uint8Array(16)));
    return w;
  };
  return { remote, connect };
}

/** The connection works: `text` from the client arrives at the server, once. */
async function assertDataFlows(w: Watched, text: string): Promise<void> {
  assert.equal(await writeAll(w.p.client, enc.encode(text)), text.length);
  transfer(w.p);
  const buf = new Uint8Array(64);
  assert.equal(dec.decode(buf.subarray(0, await settled(w.p.server, () => w.p.server.read(buf)))), text);
}

/** A TLS 1.3 resumption with 0-RTT while `op` fails (its promise rejects; with `throws`, it throws). */
async function earlyDataWhileFailing(op: Operation, throws: boolean): Promise<Watched> {
  const { remote, connect } = await setup("TLSv1.3");
  const [session] = (await connect()).sessions;
  remote.failing.add(op);
  remote.throws = throws;
  return await connect({ session: session!, earlyData: true }, "GET /early");
}

/** What the server read as early data, all of it. */
async function earlyRead(server: TlsEngine): Promise<string> {
  const buf = new Uint8Array(1024);
  let out = "";
  for (let n; (n = await settled(server, () => server.readEarlyData(buf))) > 0;) {
    out += dec.decode(buf.subarray(0, n));
  }
  return out;
}

Deno.test("async stores: TLS 1.3 tickets issued and redeemed through pending promises (WANT_ASYNC)", async () => {
  const { remote, connect } = await setup("TLSv1.3");
  const first = await connect();
  assert.equal(first.sessions.length, 2, "both NewSessionTickets came once issue() settled");
  assert.ok(first.waitedOnStore > 0, "doHandshake() said WANT_ASYNC while issue() was pending");
  assert.equal(first.p.server.doHandshake(), 1);
  const again = await connect({ session: first.sessions[0]! });
  assert.equal(again.p.client.handshakeInfo?.resumed, true);
  assert.equal(again.p.server.handshakeInfo?.resumed, true);
  assert.ok(again.waitedOnStore > 0);
  assert.deepEqual(remote.calls.filter((c) => c === "redeem").length, 1);
  assert.deepEqual(again.storeErrors, []);
});

Deno.test("async stores: TLS 1.3 0-RTT through a pending admit(), accepted once and refused on replay", async () => {
  const { connect } = await setup("TLSv1.3");
  const [session] = (await connect()).sessions;
  const first = await connect({ session: session!, earlyData: true }, "GET /once");
  assert.equal(first.p.server.handshakeInfo?.earlyData, "accepted");
  assert.equal(await earlyRead(first.p.server), "GET /once");
  // The same binder again (the same session, the same clock): the register remembers it.
  // Byte-identical ClientHellos need a seeded random and seeded key shares.
  const fixed = (): Partial<ClientConfig> => ({
    session: session!,
    earlyData: true,
    now: () => session!.expiresAt - 7_200_000 + 500,
    random: seededRandom(5),
    provider: nobleProvider,
  });
  const a = await connect(fixed(), "GET /twice");
  const b = await connect(fixed(), "GET /twice");
  assert.equal(a.p.server.handshakeInfo?.earlyData, "accepted");
  assert.equal(b.p.server.handshakeInfo?.earlyData, "rejected");
  assert.equal(b.p.server.handshakeInfo?.resumed, true);
  assert.deepEqual(b.storeErrors, []);
});

Deno.test("async stores: a TLS 1.3 issue() that fails sends no ticket, and the handshake completes", async () => {
  for (const throws of [false, true]) {
    const { remote, connect } = await setup("TLSv1.3");
    remote.failing.add("issue");
    remote.throws = throws;
    const w = await connect();
    assert.equal(w.p.server.doHandshake(), 1);
    assert.equal(w.p.client.handshakeInfo?.resumed, false);
    assert.equal(w.sessions.length, 0, "no NewSessionTicket");
    assert.deepEqual(
      w.storeErrors.map((e) => e.operation),
      ["issue"],
      "no second ticket once the store failed",
    );
    assert.match(String((w.storeErrors[0]!.error as Error).message), /store down/);
    await assertDataFlows(w, "ping");
  }
});

Deno.test("async stores: a TLS 1.3 redeem() that fails is a full handshake, and its 0-RTT is refused", async () => {
  for (const throws of [false, true]) {
    const w = await earlyDataWhileFailing("redeem", throws);
    assert.equal(w.p.client.handshakeInfo?.resumed, false);
    assert.equal(w.p.server.handshakeInfo?.resumed, false);
    assert.equal(w.p.client.handshakeInfo?.earlyData, "rejected");
    assert.equal(await earlyRead(w.p.server), "");
    assert.deepEqual(w.storeErrors.map((e) => e.operation), ["redeem"]);
    assert.equal(w.sessions.length, 2, "the full handshake still issues tickets");
  }
});

Deno.test("async stores: a TLS 1.3 admit() that fails refuses the early data; the resumption goes on in 1-RTT", async () => {
  for (const throws of [false, true]) {
    const w = await earlyDataWhileFailing("admit", throws);
    assert.equal(w.p.server.handshakeInfo?.resumed, true);
    assert.equal(w.p.server.handshakeInfo?.earlyData, "rejected");
    assert.equal(w.p.client.handshakeInfo?.earlyData, "rejected");
    assert.equal(await earlyRead(w.p.server), "");
    assert.deepEqual(w.storeErrors.map((e) => e.operation), ["admit"]);
    // Sent again as 1-RTT data, it arrives once.
    await assertDataFlows(w, "again");
  }
});

Deno.test("async stores: TLS 1.2 tickets issued, redeemed and renewed through pending promises", async () => {
  const { remote, connect } = await setup("TLSv1.2");
  const first = await connect();
  assert.equal(first.sessions.length, 1);
  assert.ok(first.sessions[0]!.data.ticket.length > 0);
  assert.ok(first.waitedOnStore > 0);
  const again = await connect({ session: first.sessions[0]! });
  assert.equal(again.p.server.handshakeInfo?.resumed, true);
  assert.equal(again.sessions.length, 0, "a ticket under the current key is not renewed");
  assert.deepEqual(remote.calls.slice(-2), ["redeem", "renews"]);
  remote.rotate();
  const renewed = await connect({ session: first.sessions[0]! });
  assert.equal(renewed.p.server.handshakeInfo?.resumed, true);
  assert.equal(renewed.sessions.length, 1, "a ticket under the previous key is renewed");
  assert.deepEqual(renewed.storeErrors, []);
});

Deno.test("async stores: TLS 1.2 session ids stored and looked up through pending promises", async () => {
  const { remote, connect } = await setup("TLSv1.2");
  const first = await connect({ offerTickets: false });
  assert.equal(first.sessions[0]!.data.sessionId.length, 32);
  assert.equal(remote.calls.filter((c) => c === "store").length, 1);
  assert.ok(first.waitedOnStore > 0, "store() was waited for");
  const again = await connect({ session: first.sessions[0]!, offerTickets: false });
  assert.equal(again.p.server.handshakeInfo?.resumed, true);
  assert.ok(again.waitedOnStore > 0, "lookup() was waited for");
  assert.equal(remote.calls.at(-1), "lookup", "a resumption by session id stores nothing new");
});

Deno.test("async stores: TLS 1.2 stores that fail give full handshakes and no tickets, never an error", async () => {
  for (const throws of [false, true]) {
    const { remote, connect } = await setup("TLSv1.2");
    remote.throws = throws;
    // issue(): the ServerHello promised a ticket, so an empty NewSessionTicket (RFC 5077 §3.3).
    remote.failing.add("issue");
    const none = await connect();
    assert.equal(none.p.client.handshakeInfo?.version, "TLSv1.2");
    assert.equal(none.sessions.length, 0, "no ticket, and no session id either");
    assert.deepEqual(none.storeErrors.map((e) => e.operation), ["issue"]);
    remote.failing.clear();
    const [session] = (await connect()).sessions;
    // redeem(): the ticket is unknown, a full handshake.
    remote.failing.add("redeem");
    const full = await connect({ session: session! });
    assert.equal(full.p.server.handshakeInfo?.resumed, false);
    assert.deepEqual(full.storeErrors.map((e) => e.operation), ["redeem"]);
    remote.failing.clear();
    // renews(): resumed, without a new ticket.
    remote.rotate();
    remote.failing.add("renews");
    const kept = await connect({ session: session! });
    assert.equal(kept.p.server.handshakeInfo?.resumed, true);
    assert.equal(kept.sessions.length, 0);
    assert.deepEqual(kept.storeErrors.map((e) => e.operation), ["renews"]);
    remote.failing.clear();
    // store(): the session id is given but not kept, so it does not resume; lookup(): a miss.
    remote.failing.add("store");
    const unkept = await connect({ offerTickets: false });
    assert.deepEqual(unkept.storeErrors.map((e) => e.operation), ["store"]);
    const missed = await connect({ session: unkept.sessions[0]!, offerTickets: false });
    assert.equal(missed.p.server.handshakeInfo?.resumed, false);
    remote.failing.clear();
    const [byId] = (await connect({ offerTickets: false })).sessions;
    remote.failing.add("lookup");
    const down = await connect({ session: byId!, offerTickets: false });
    assert.equal(down.p.server.handshakeInfo?.resumed, false);
    assert.deepEqual(down.storeErrors.map((e) => e.operation), ["lookup"]);
  }
});
