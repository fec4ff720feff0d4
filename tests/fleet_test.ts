/**
 * The fleet example (examples/fleet/) end to end: a real `redis-server` on 127.0.0.1 with a temp dir, two
 * server processes of the example sharing it (run by the runtime running this test), and airlock clients over
 * TCP. A ticket from A resumes on B (TLS 1.3, and TLS 1.2 by ticket and by session id); 0-RTT accepted by A is
 * refused when the very same ClientHello goes to B; then, with Redis killed, new connections still succeed,
 * as full handshakes without tickets or 0-RTT, and both servers live on.
 *
 * Without `redis-server` (Debian's `redis-server` package; AIRLOCK_REDIS_SERVER names another binary) the test
 * says so and is skipped, except under CI=true, where that is a failure.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import process from "node:process";
import {
  type ClientConfig,
  createBioPair,
  createClient,
  type HandshakeInfo,
  nobleProvider,
  type TlsSession,
} from "../mod.ts";
import { freePort, type Peer, runtimeCommand, type Scope, scoped, watchTls } from "../testing/peers.ts";
import { seededRandom, settled } from "../testing/pair.ts";
import { generateChain, type TestChain } from "../testing/pki.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const SERVER = join(ROOT, "examples", "fleet", "server.ts");

/** The redis-server binary (AIRLOCK_REDIS_SERVER names another). */
const REDIS_SERVER = process.env.AIRLOCK_REDIS_SERVER ?? "redis-server";
const redisVersion = spawnSync(REDIS_SERVER, ["--version"], { encoding: "utf8", timeout: 10_000 });
const present = !redisVersion.error && redisVersion.status === 0;
const required = process.env.CI === "true";
if (!present) {
  console.log(
    `fleet_test: ${REDIS_SERVER} is not installed (apt-get install redis-server): ${
      required ? "a failure under CI=true" : "skipping the fleet test"
    }`,
  );
}

/** What one server answered, as examples/fleet/server.ts writes it. */
interface Answer {
  readonly server: string;
  readonly version: string;
  readonly resumed: boolean;
  readonly earlyData: "accepted" | "rejected" | "none";
  readonly early: string;
  readonly request: string;
}

/** One client connection: what it negotiated, what the server answered, its sessions and its first flight. */
interface Visit {
  readonly info: HandshakeInfo;
  readonly answer: Answer;
  readonly sessions: TlsSession[];
  /** With 0-RTT: the ClientHello and the early data records, as sent. */
  readonly firstFlight: Uint8Array | undefined;
}

/** redis-server on a free port of 127.0.0.1, nothing saved, in `dir`. */
async function startRedis(scope: Scope, dir: string): Promise<{ redis: Peer; port: number }> {
  for (let attempt = 1;; attempt++) {
    const port = await freePort();
    const args = [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir,
    ];
    const redis = scope.spawn(REDIS_SERVER, args);
    const up = await redis.waitFor(/Ready to accept connections/).then(() => true, () => false);
    if (up) return { redis, port };
    if (attempt === 3) throw new Error(`redis-server did not start\n${redis.output}`);
  }
}

/** One server of the example, on a port of its choosing; resolves once it listens. */
async function startServer(
  scope: Scope,
  name: string,
  redisPort: number,
  files: (name: string) => string,
): Promise<{ server: Peer; port: number }> {
  const [bin, pre] = runtimeCommand(SERVER);
  const server = scope.spawn(bin, [
    ...pre,
    ...["--name", name, "--redis", `127.0.0.1:${redisPort}`, "--port", "0"],
    ...["--cert", files("chain.pem"), "--key", files("key.pem")],
    // Fetched keys are trusted 300 ms without Redis: the test waits that long once Redis is gone.
    ...["--key-refresh-ms", "300", "--command-timeout-ms", "500"],
  ]);
  const [, port] = await server.waitFor(new RegExp(`"event":"listening","server":"${name}","port":(\\d+)`));
  return { server, port: Number(port) };
}

/** Connect to `port` as a client of `chain` with `client` options: optional 0-RTT, one request line, the answer. */
async function visit(
  scope: Scope,
  chain: TestChain,
  port: number,
  client: Partial<ClientConfig> = {},
  early?: string,
): Promise<Visit> {
  const socket = await scope.connect(port);
  const { engine, network } = createBioPair();
  const tls = createClient({ serverName: "fleet.test", trustAnchors: [chain.rootPem], ...client }, engine);
  let firstFlight: Uint8Array | undefined;
  if (early !== undefined) {
    await settled(tls, () => tls.writeEarlyData(new TextEncoder().encode(early)));
    firstFlight = network.read();
    socket.write(firstFlight);
  }
  const w = watchTls(tls, network, socket);
  const info = await w.tls.handshake();
  await w.tls.write(new TextEncoder().encode(`GET /${port}\n`));
  const line = await w.lines.next();
  assert.ok(line !== null, "the server closed without answering");
  await w.tls.close();
  return { info, answer: JSON.parse(line) as Answer, sessions: w.sessions, firstFlight };
}

Deno.test({
  name:
    "fleet: two servers share tickets, session ids and the 0-RTT replay register through Redis, and fail closed without it",
  ignore: !present && !required,
  async fn() {
    if (!present) throw new Error(`${REDIS_SERVER} is not installed: CI must install it (.ci/run)`);
    const chain = await generateChain({ dnsNames: ["fleet.test"] });
    await scoped(async (scope) => {
      const files = scope.writeFiles({ "chain.pem": chain.chainPem, "key.pem": chain.keyPem });
      const { redis, port: redisPort } = await startRedis(scope, dirname(files("chain.pem")));
      const [a, b] = await Promise.all([
        startServer(scope, "A", redisPort, files),
        startServer(scope, "B", redisPort, files),
      ]);
      const logs = () => `${a.server.output}\n${b.server.output}\n${redis.output}`;
      try {
        // A full handshake on A gives tickets; one resumes on B.
        const full = await visit(scope, chain, a.port);
        assert.equal(full.answer.server, "A");
        assert.equal(full.info.resumed, false);
        assert.equal(full.sessions.length, 2);
        const onB = await visit(scope, chain, b.port, { session: full.sessions[0]! });
        assert.equal(onB.answer.server, "B");
        assert.equal(onB.info.resumed, true, "a ticket issued by A resumes on B");
        assert.equal(onB.answer.resumed, true);

        // 0-RTT on A is taken once; the same ClientHello sent to B has its early data refused.
        const session = full.sessions[1]!;
        const now = Date.now();
        const same = (): Partial<ClientConfig> => ({
          session,
          earlyData: true,
          now: () => now,
          random: seededRandom(11),
          provider: nobleProvider, // byte-identical ClientHellos need seeded key shares
        });
        const first = await visit(scope, chain, a.port, same(), "GET /once");
        assert.equal(first.answer.earlyData, "accepted");
        assert.equal(first.answer.early, "GET /once");
        assert.equal(first.info.earlyData, "accepted");
        const replay = await visit(scope, chain, b.port, same(), "GET /once");
        assert.deepEqual(replay.firstFlight, first.firstFlight, "the very same ClientHello and early data");
        assert.equal(replay.answer.server, "B");
        assert.equal(replay.answer.earlyData, "rejected", "B refuses what A already took");
        assert.equal(replay.answer.early, "");
        assert.equal(replay.answer.resumed, true);

        // TLS 1.2: a ticket, and a session id kept in Redis, from A resume on B.
        const tls12 = { maxVersion: "TLSv1.2" } as const;
        const byTicket = await visit(scope, chain, a.port, tls12);
        assert.equal(byTicket.info.version, "TLSv1.2");
        const ticketOnB = await visit(scope, chain, b.port, { ...tls12, session: byTicket.sessions[0]! });
        assert.equal(ticketOnB.info.resumed, true, "a TLS 1.2 ticket issued by A resumes on B");
        const byId = await visit(scope, chain, a.port, { ...tls12, offerTickets: false });
        assert.equal(byId.sessions[0]!.data.sessionId.length, 32);
        const idOnB = await visit(scope, chain, b.port, {
          ...tls12,
          offerTickets: false,
          session: byId.sessions[0]!,
        });
        assert.equal(idOnB.info.resumed, true, "a TLS 1.2 session id given by A resumes on B");

        // Redis goes away: full handshakes, no tickets, no 0-RTT, and the servers live on.
        await redis.kill();
        await new Promise((resolve) => setTimeout(resolve, 700)); // past --key-refresh-ms
        const down = await visit(scope, chain, a.port);
        assert.equal(down.info.resumed, false);
        assert.equal(down.sessions.length, 0, "no ticket is issued without Redis");
        const noEarly = await visit(scope, chain, b.port, { session, earlyData: true }, "GET /again");
        assert.equal(noEarly.info.resumed, false, "the ticket cannot be checked: a full handshake");
        assert.equal(noEarly.info.earlyData, "rejected");
        assert.equal(noEarly.answer.early, "");
        const noId = await visit(scope, chain, a.port, {
          ...tls12,
          offerTickets: false,
          session: byId.sessions[0]!,
        });
        assert.equal(noId.info.resumed, false);
        for (const s of [a, b]) assert.equal(s.server.child.exitCode, null, "the server is still running");
        assert.match(a.server.stdout, /"event":"storeerror","server":"A","operation":"issue"/);
        assert.match(b.server.stdout, /"event":"storeerror","server":"B","operation":"redeem"/);
        assert.doesNotMatch(logs(), /"event":"error"/);
      } catch (e) {
        console.log(logs());
        throw e;
      }
    }, 90_000);
  },
});
