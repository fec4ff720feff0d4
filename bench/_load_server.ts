/**
 * The server process of `load.ts`: one TLS server on 127.0.0.1, airlock on the adapters or node:tls, doing
 * the load bench's job (read a request head, answer `HTTP/1.0 200` with as many bytes as the path asks,
 * then close), driven by its parent over stdin and stdout. It runs on Node (`--import tsx`), Deno and Bun;
 * on Node, `load.ts` starts it with AIRLOCK_FROM_DIST=1, so that airlock comes from the built package.
 *
 *   _load_server.ts --impl airlock|node --cert CHAIN_PEM --key KEY_PEM
 *
 * airlock runs its default configuration (no provider named: the runtime's fastest, as users get it) behind
 * `connectTls`: over `Deno.listen`'s connections as they are on Deno, over `node:net` with
 * `nodeSocketStreams` on Node and Bun. node:tls runs `tls.createServer` with its defaults. Both listen with
 * the runtime's default backlog (511 for `node:net` and for `Deno.listen`), as users' servers do.
 *
 * It prints `READY <port>` once listening, then answers each line on stdin with one line on stdout:
 * `mem` → `MEM {rss, heapUsed, external, peakRss, gc}` after collecting garbage; `stats` →
 * `STATS {handshakes, responses, failures, errors, cpuMs}`; `quit` ends the process.
 * @module
 */

import { readFileSync } from "node:fs";
import net from "node:net";
import process from "node:process";
import * as tls from "node:tls";
import type { ServerConfig } from "../mod.ts";
import type { ByteStreamTransport } from "../adapters/stream.ts";
import { errorText, runtime, settleMemory } from "./_common.ts";

type Airlock =
  & typeof import("../mod.ts")
  & typeof import("../adapters/stream.ts")
  & typeof import("../adapters/node.ts")
  & typeof import("../suites/default_provider.ts");

/**
 * airlock from its sources, or with AIRLOCK_FROM_DIST=1 from the built package (`dist/`, what `npm install`
 * users run on Node: tsx's transpiled sources wrap every function in a naming helper that costs each
 * connection's closures memory, about 4.6 kB per connection end in memory).
 */
async function loadAirlock(): Promise<Airlock> {
  const at = process.env.AIRLOCK_FROM_DIST === "1" ? "../dist/" : "../";
  const ext = at === "../" ? ".ts" : ".js";
  const parts = await Promise.all(
    ["mod", "adapters/stream", "adapters/node", "suites/default_provider"].map((m) => import(at + m + ext)),
  );
  return Object.assign({}, ...parts) as Airlock;
}

const { createBioPair, createServer, loadPrivateKey, connectTls, nodeSocketStreams, defaultProvider } =
  await loadAirlock();

const argv = process.argv.slice(2);
const arg = (name: string): string => {
  const i = argv.indexOf(name);
  const v = i >= 0 ? argv[i + 1] : undefined;
  if (v === undefined) throw new Error(`_load_server.ts needs ${name}`);
  return v;
};
const impl = arg("--impl");
const chainPem = readFileSync(arg("--cert"), "utf8");
const keyPem = readFileSync(arg("--key"), "utf8");

const HANDSHAKE_TIMEOUT_MS = 120_000;
const HEAD_END = "\r\n\r\n";
/** The body of every response: this buffer, repeated. */
const BODY = new Uint8Array(65536).fill(0x61);

const stats = { handshakes: 0, responses: 0, failures: 0, errors: [] as string[] };

function failed(e: unknown): void {
  stats.failures++;
  if (stats.errors.length < 5) stats.errors.push(errorText(e));
}

/** The bytes a request head asks for: `GET /<n> HTTP/1.0`. */
function wanted(head: string): number {
  const m = /^GET \/(\d+) HTTP\/1\.[01]\r\n/.exec(head);
  if (!m) throw new Error(`Cannot serve request ${JSON.stringify(head.slice(0, 40))}: expected GET /<bytes>`);
  return Number(m[1]);
}

/**
 * Write the response to a request for `n` bytes: the head and the first part of the body in one write (one
 * record for a small response), the rest in 64 KiB writes.
 */
async function respond(write: (b: Uint8Array) => void | Promise<void>, n: number): Promise<void> {
  const head = new TextEncoder().encode(
    `HTTP/1.0 200 OK\r\nContent-Length: ${n}\r\nConnection: close\r\n\r\n`,
  );
  const first = Math.min(n, BODY.length - head.length);
  const start = new Uint8Array(head.length + first);
  start.set(head);
  start.set(BODY.subarray(0, first), head.length);
  await write(start);
  for (let sent = first; sent < n; sent += BODY.length) {
    await write(BODY.subarray(0, Math.min(BODY.length, n - sent)));
  }
}

// ---- airlock -------------------------------------------------------------------------------------

async function airlockServer(): Promise<number> {
  // The configuration users write: a PEM chain, a key loaded for the default provider, nothing else.
  const config: ServerConfig = { certificates: [{ chain: chainPem, key: await loadPrivateKey(keyPem) }] };
  const serve = async (transport: ByteStreamTransport) => {
    try {
      const { engine, network } = createBioPair();
      const conn = await connectTls(createServer(config, engine), network, transport, {
        handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
      });
      stats.handshakes++;
      const reader = conn.readable.getReader();
      let head = "";
      const decoder = new TextDecoder();
      while (!head.includes(HEAD_END)) {
        const { value, done } = await reader.read();
        if (done) throw new Error("Cannot serve: the client closed before its request");
        head += decoder.decode(value, { stream: true });
      }
      reader.releaseLock();
      const writer = conn.writable.getWriter();
      await respond((b) => writer.write(b), wanted(head));
      writer.releaseLock();
      await conn.close(); // close_notify, then the client's, then the transport closes
      stats.responses++;
    } catch (e) {
      failed(e);
    }
  };
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (deno) {
    const listener = deno.listen({ hostname: "127.0.0.1", port: 0 });
    void (async () => {
      for await (const conn of listener) void serve(conn);
    })();
    return listener.addr.port;
  }
  const server = net.createServer({ allowHalfOpen: true }, (socket) => void serve(nodeSocketStreams(socket)));
  return listen(server);
}

// ---- node:tls ------------------------------------------------------------------------------------

function nodeServer(): Promise<number> {
  const server = tls.createServer({ cert: chainPem, key: keyPem }, (socket) => {
    stats.handshakes++;
    let head = "";
    socket.on("error", failed);
    const onData = (d: Buffer) => {
      head += d.toString("latin1");
      if (!head.includes(HEAD_END)) return;
      socket.off("data", onData);
      const write = (b: Uint8Array) =>
        socket.write(b) ? undefined : new Promise<void>((resolve) => {
          socket.once("drain", resolve);
          socket.once("close", resolve);
        });
      respond(write, wanted(head)).then(() => {
        socket.end(); // close_notify and FIN after the response
        stats.responses++;
      }, (e) => {
        failed(e);
        socket.destroy();
      });
    };
    socket.on("data", onData);
  });
  server.on("tlsClientError", failed);
  return listen(server);
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0 }, () => {
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

// ---- control -------------------------------------------------------------------------------------

/** The process's peak resident set (VmHWM), in bytes, where /proc tells it. */
function peakRss(): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU time used by this process so far, in milliseconds. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** The memory figures after collecting garbage. */
async function memory(): Promise<Record<string, unknown>> {
  const { m, gc } = await settleMemory();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, peakRss: peakRss(), gc };
}

const port = impl === "airlock" ? await airlockServer() : impl === "node" ? await nodeServer() : undefined;
if (port === undefined) throw new Error(`_load_server.ts: --impl is airlock or node, not ${impl}`);
const provider = impl === "airlock" ? defaultProvider().name : "node:tls";
process.stdout.write(`READY ${port} ${JSON.stringify({ runtime, provider })}\n`);

let pending = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", async (chunk: string) => {
  pending += chunk;
  for (let i = pending.indexOf("\n"); i >= 0; i = pending.indexOf("\n")) {
    const line = pending.slice(0, i).trim();
    pending = pending.slice(i + 1);
    if (line === "mem") process.stdout.write(`MEM ${JSON.stringify(await memory())}\n`);
    else if (line === "stats") {
      process.stdout.write(`STATS ${JSON.stringify({ ...stats, cpuMs: cpuMs() })}\n`);
    } else if (line === "quit") process.exit(0);
  }
});
process.stdin.on("end", () => process.exit(0));
