// Copyright 2026 the airlock authors. MIT license.

/**
 * One server of a fleet. Several of these, on as many machines or ports, share through one Redis (via
 * `ioredis`, a dev dependency of this repository: version 6.1) their rotating ticket keys, the TLS 1.2 session
 * id cache and the 0-RTT replay register (redis_stores.ts), so that a ticket issued by one resumes on any
 * other, and early data replayed to another is refused. With Redis gone they fail closed: full handshakes, no
 * tickets, no 0-RTT, and every connection still served.
 *
 * Run Redis, then two servers, each with the same certificate:
 *
 *     redis-server --port 6379 --bind 127.0.0.1 --save '' --appendonly no
 *     node --import tsx examples/fleet/server.ts --redis 127.0.0.1:6379 --port 8443 --name A \
 *       --cert chain.pem --key key.pem
 *     node --import tsx examples/fleet/server.ts --redis 127.0.0.1:6379 --port 8444 --name B \
 *       --cert chain.pem --key key.pem
 *
 * (or `deno run -A examples/fleet/server.ts …`, `bun examples/fleet/server.ts …`). Other options: `--host`
 * (default 127.0.0.1), `--prefix` for the Redis key names (default `airlock:`), `--rotate-ms` (how long a
 * ticket key seals, default one hour; tickets live that long at most), `--key-refresh-ms` (how long fetched
 * keys are trusted without asking Redis, default 1000), `--command-timeout-ms` (the most a Redis command may
 * take, default 500: a handshake waits on Redis that long at most for each command).
 *
 * Each connection: the server reads the client's 0-RTT data if it takes it, completes the handshake, reads one
 * line of 1-RTT data, answers with one JSON line (`server`, `version`, `resumed`, `earlyData`: "accepted",
 * "rejected" or "none", `early`: the early data, `request`: the line) and closes with close_notify.
 * Everything the server does is logged as JSON lines on stdout: `{"event":"listening","port":8443}` first,
 * then `connection`, `storeerror` (a store failed; the handshake went on without it) and `redis` (the link to
 * Redis came or went). Nothing secret is ever logged.
 *
 * @module
 */

import net from "node:net";
import process from "node:process";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import {
  type Bio,
  createBioPair,
  createServer,
  loadPrivateKey,
  on,
  type ServerConfig,
  SslError,
  type TlsEngine,
} from "../../mod.ts";
import { RedisSessionIds, RedisStrikes, RedisTicketKeys } from "./redis_stores.ts";

/** The most one connection may take, handshake and answer, before it is dropped. */
const CONNECTION_TIMEOUT_MS = 10_000;

const { values: args } = parseArgs({
  options: {
    redis: { type: "string", default: "127.0.0.1:6379" },
    port: { type: "string", default: "0" },
    host: { type: "string", default: "127.0.0.1" },
    name: { type: "string", default: "server" },
    cert: { type: "string" },
    key: { type: "string" },
    prefix: { type: "string", default: "airlock:" },
    "rotate-ms": { type: "string", default: "3600000" },
    "key-refresh-ms": { type: "string", default: "1000" },
    "command-timeout-ms": { type: "string", default: "500" },
  },
});

/** One JSON line on stdout. */
function log(event: string, fields: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ event, ...fields }));
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The bytes of one TCP connection, handed to the engine's BIO as they come and as far as they fit. */
class SocketLink {
  readonly #socket: net.Socket;
  readonly #chunks: Uint8Array[] = [];
  #ended = false;
  #shutDown = false;
  #wake: (() => void) | undefined;

  constructor(socket: net.Socket) {
    this.#socket = socket;
    const woken = () => {
      this.#wake?.();
      this.#wake = undefined;
    };
    socket.on("data", (d: Uint8Array) => {
      this.#chunks.push(new Uint8Array(d));
      woken();
    });
    for (const end of ["end", "error", "close"]) {
      socket.on(end, () => {
        this.#ended = true;
        woken();
      });
    }
  }

  /** Move what the engine sealed to the peer. */
  send(network: Bio): void {
    if (network.pending() > 0 && !this.#socket.destroyed) this.#socket.write(network.read());
  }

  /** Give the engine the peer's next bytes (waiting for them), or tell it the stream ended. */
  async receive(network: Bio): Promise<void> {
    while (this.#chunks.length === 0 && !this.#ended) await new Promise<void>((r) => (this.#wake = r));
    if (this.#chunks.length === 0) {
      if (!this.#shutDown) network.shutdownWrite();
      this.#shutDown = true;
      return;
    }
    for (let room = network.writeGuarantee(); room > 0 && this.#chunks.length > 0;) {
      const head = this.#chunks[0]!;
      const n = network.write(head.subarray(0, Math.min(room, head.length)));
      if (n === head.length) this.#chunks.shift();
      else this.#chunks[0] = head.subarray(n);
      room -= n;
    }
  }

  end(): void {
    this.#socket.end();
  }
}

/**
 * The pump loop (README): call `op` until it returns what it returns on success (> 0, or 0 with NONE or
 * ZERO_RETURN), moving bytes and waiting on the engine's pending work (a provider's crypto, or Redis) between
 * calls.
 */
async function drive(tls: TlsEngine, network: Bio, link: SocketLink, op: () => number): Promise<number> {
  for (;;) {
    const r = op();
    link.send(network);
    if (r > 0) return r;
    const why = tls.getError(r);
    if (r === 0 && (why === SslError.NONE || why === SslError.ZERO_RETURN || why === SslError.SYSCALL)) {
      return 0;
    }
    if (why === SslError.WANT_ASYNC || why === SslError.WANT_X509_LOOKUP) await tls.asyncWait();
    else if (why === SslError.WANT_READ) await link.receive(network);
    else if (why !== SslError.WANT_WRITE) throw tls.error ?? new Error(`TLS failed: ${why}`);
  }
}

/** Serve one connection (see the module's comment). */
async function serve(config: ServerConfig, socket: net.Socket): Promise<void> {
  const { engine, network } = createBioPair();
  const tls = createServer(config, engine);
  const storeErrors: string[] = [];
  on(tls, "storeerror", ({ operation, error }) => {
    storeErrors.push(operation);
    log("storeerror", { server: args.name, operation, message: message(error) });
  });
  const link = new SocketLink(socket);
  const dec = new TextDecoder();
  const buf = new Uint8Array(16384);
  // 0-RTT: what the client sent with its ClientHello, if we take it (readEarlyData drives the handshake).
  let early = "";
  for (let n; (n = await drive(tls, network, link, () => tls.readEarlyData(buf))) > 0;) {
    early += dec.decode(buf.subarray(0, n));
  }
  await drive(tls, network, link, () => tls.doHandshake());
  let request = "";
  while (!request.includes("\n")) {
    const n = await drive(tls, network, link, () => tls.read(buf));
    if (n === 0) break;
    request += dec.decode(buf.subarray(0, n));
  }
  const info = tls.handshakeInfo!;
  const answer = {
    server: args.name,
    version: info.version,
    resumed: info.resumed,
    earlyData: info.earlyData ?? "none",
    early,
    request: request.trim(),
  };
  await drive(tls, network, link, () => tls.write(new TextEncoder().encode(JSON.stringify(answer) + "\n")));
  await drive(tls, network, link, () => tls.shutdown());
  link.end();
  log("connection", { ...answer, storeErrors });
}

async function main(): Promise<void> {
  if (!args.cert || !args.key) throw new Error("Cannot start: --cert and --key are required");
  const [redisHost, redisPort] = args.redis.split(":");
  const redis = new Redis({
    host: redisHost,
    port: Number(redisPort ?? 6379),
    lazyConnect: true,
    // Fail at once while Redis is away (the engine then fails closed), and bound every command.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: Number(args["command-timeout-ms"]),
    connectTimeout: 1000,
    retryStrategy: (times: number) => Math.min(times * 100, 1000),
  });
  let up: boolean | undefined;
  const state = (now: boolean, why?: string) => {
    if (up !== now) log("redis", { server: args.name, up: now, ...(why ? { message: why } : {}) });
    up = now;
  };
  redis.on("ready", () => state(true));
  redis.on("error", (e: unknown) => state(false, message(e)));
  redis.on("end", () => state(false));
  await redis.connect().catch((e: unknown) => state(false, message(e)));

  const prefix = args.prefix;
  const rotateMs = Number(args["rotate-ms"]);
  const tickets = new RedisTicketKeys(redis, { prefix, rotateMs, refreshMs: Number(args["key-refresh-ms"]) });
  const config: ServerConfig = {
    certificates: [{
      chain: readFileSync(args.cert, "utf8"),
      key: await loadPrivateKey(readFileSync(args.key, "utf8")),
    }],
    // A ticket is sealed at most one period before its key stops opening: it lives no longer than that.
    tickets: { store: tickets, lifetime: Math.max(1, Math.min(7200, Math.floor(rotateMs / 1000))) },
    sessionIdCache: new RedisSessionIds(redis, tickets, prefix),
    earlyData: { maxSize: 16384, antiReplay: new RedisStrikes(redis, { prefix }) },
  };

  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    const timer = setTimeout(() => socket.destroy(), CONNECTION_TIMEOUT_MS);
    serve(config, socket).then(
      () => clearTimeout(timer),
      (e: unknown) => {
        clearTimeout(timer);
        log("error", { server: args.name, message: message(e) });
        socket.destroy();
      },
    );
  });
  server.listen(Number(args.port), args.host, () => {
    log("listening", { server: args.name, port: (server.address() as net.AddressInfo).port });
  });
  const stop = () => {
    server.close();
    redis.disconnect();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((e: unknown) => {
  console.error(message(e));
  process.exit(1);
});
