// Copyright 2026 the airlock authors. MIT license.

/**
 * Glue for interop tests against real peers on 127.0.0.1 (openssl s_server/s_client, gnutls-serv/cli):
 * a {@linkcode Scope} that owns every child process, socket, listener and temp directory of one test and
 * releases them all, whatever happened; a peer process whose output can be awaited line by line; a line
 * reader over {@linkcode TlsSocket}; {@linkcode watchTls}, which records what an engine reports (alerts, key
 * log, sessions, handshakes); and gnutls-serv's start and stop. Only `node:` APIs, so the files run on Deno,
 * Node and Bun alike.
 *
 * @module
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import {
  type AlertInfo,
  type Bio,
  createBioPair,
  createServer,
  type HandshakeInfo,
  loadPrivateKey,
  on,
  type ServerConfig,
  type SigningKey,
  type TlsEngine,
  TlsError,
  type TlsErrorCode,
  type TlsSession,
} from "../mod.ts";
import { connectTls, type TlsStream } from "../adapters/stream.ts";
import { nodeSocketStreams } from "../adapters/node.ts";
import { generateChain, type TestChain, type TestKeyType } from "./pki.ts";

/**
 * A TLS connection over a socket for step-by-step tests: `handshake()`, then `read()` (null at the peer's
 * close_notify), `write()`, `keyUpdate()`, `close()`. A thin wrapper over the one pump, `connectTls`.
 */
export class TlsSocket {
  readonly engine: TlsEngine;
  readonly #network: Bio;
  readonly #socket: net.Socket;
  #stream: TlsStream | undefined;
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #writer: WritableStreamDefaultWriter<Uint8Array> | undefined;

  constructor(engine: TlsEngine, network: Bio, socket: net.Socket) {
    this.engine = engine;
    this.#network = network;
    this.#socket = socket;
  }

  /** Run the handshake; rejects with the engine's TlsError if it fails. */
  async handshake(): Promise<HandshakeInfo> {
    this.#stream = await connectTls(this.engine, this.#network, nodeSocketStreams(this.#socket), {
      handshakeTimeoutMs: CASE_TIMEOUT_MS,
    });
    this.#reader = this.#stream.readable.getReader();
    this.#writer = this.#stream.writable.getWriter();
    return this.#stream.info;
  }

  /** The next plaintext chunk, or null after the peer's close_notify. */
  async read(): Promise<Uint8Array | null> {
    const { value, done } = await this.#reader!.read();
    return done ? null : value;
  }

  /** Send plaintext. */
  async write(data: Uint8Array): Promise<void> {
    await this.#writer!.write(data);
  }

  /** Send a KeyUpdate. */
  async keyUpdate(requestPeer = false): Promise<void> {
    await this.#stream!.keyUpdate(requestPeer);
  }

  /** close_notify both ways, then the socket is closed. */
  async close(): Promise<void> {
    this.#writer?.releaseLock();
    this.#reader?.releaseLock();
    await this.#stream!.close();
  }

  /** Drop the connection without close_notify. */
  destroy(error?: Error): void {
    this.#socket.destroy(error);
  }
}

/** Drive `engine` over `socket` (see {@linkcode TlsSocket}). */
export function pumpSocket(engine: TlsEngine, network: Bio, socket: net.Socket): TlsSocket {
  return new TlsSocket(engine, network, socket);
}

/** A {@linkcode TlsSocket} with a line reader and what its engine reported along the way. */
export interface WatchedTls {
  readonly engine: TlsEngine;
  readonly tls: TlsSocket;
  readonly lines: LineReader;
  /** Alerts in order, as `sent warning close_notify` or `received fatal handshake_failure`. */
  readonly alerts: string[];
  /** Key log lines (the `keylog` event). */
  readonly keylog: string[];
  /** Resumable sessions (the `session` event; clients only). */
  readonly sessions: TlsSession[];
  /** Every `handshake` event: exactly one for a connection, whatever the peer asks later. */
  readonly handshakes: HandshakeInfo[];
}

/**
 * Drive `engine` over `socket` (see {@linkcode pumpSocket}), recording its alerts, key log, sessions and
 * handshakes.
 *
 * @param engine The engine.
 * @param network The engine's network-side BIO.
 * @param socket The connected socket.
 * @returns The connection and its records.
 */
export function watchTls(engine: TlsEngine, network: Bio, socket: net.Socket): WatchedTls {
  const tls = pumpSocket(engine, network, socket);
  const watched: WatchedTls = {
    engine,
    tls,
    lines: new LineReader(tls),
    alerts: [],
    keylog: [],
    sessions: [],
    handshakes: [],
  };
  on(engine, "alert", (a: AlertInfo) => watched.alerts.push(`${a.direction} ${a.level} ${a.name}`));
  on(engine, "keylog", (line) => watched.keylog.push(line));
  on(engine, "session", (session) => watched.sessions.push(session));
  on(engine, "handshake", (info) => watched.handshakes.push(info));
  return watched;
}

/**
 * Expect `promise` to fail with a {@linkcode TlsError} of `code` (and `alert`, when given).
 *
 * @param promise What should fail (a handshake, a read).
 * @param code The error code, e.g. `alert_received.handshake_failure`.
 * @param alert The alert the error carries, sent or received.
 * @returns The error.
 */
export async function expectTlsError(
  promise: Promise<unknown>,
  code: TlsErrorCode,
  alert?: string,
): Promise<TlsError> {
  const outcome = await promise.then((value) => value, (e: unknown) => e);
  assert.ok(outcome instanceof TlsError, `expected a TlsError ${code}, got ${String(outcome)}`);
  assert.equal(outcome.code, code, outcome.message);
  if (alert !== undefined) assert.equal(outcome.alert, alert, outcome.message);
  return outcome;
}

/**
 * A key log file as a peer wrote it (NSS SSLKEYLOGFILE format).
 *
 * @param path The file.
 * @returns Its lines, without comments and blank lines.
 */
export function readKeyLogFile(path: string): string[] {
  return readFileSync(path, "utf8").split("\n").map((l) => l.trim()).filter((l) =>
    l !== "" && !l.startsWith("#")
  );
}

/**
 * How to run the TypeScript file `entry` with the runtime running the tests: `bun entry`, `deno run -A entry`
 * or `node --import tsx entry`.
 *
 * @param entry The script's path.
 * @returns The program and its arguments.
 */
export function runtimeCommand(entry: string): [string, string[]] {
  if ((process.versions as Record<string, string>).bun) return [process.execPath, [entry]];
  const deno = (globalThis as { Deno?: { execPath?: () => string } }).Deno;
  if (deno?.execPath) return [deno.execPath(), ["run", "-A", entry]];
  return [process.execPath, ["--import", "tsx", entry]];
}

/** How long one interop case may take before everything it started is killed. */
export const CASE_TIMEOUT_MS = 20_000;

/**
 * Fail loudly when a peer program is missing: interop tests never pass by skipping.
 *
 * @param program The executable, looked up on PATH.
 * @param args Arguments for a harmless probe run (e.g. `["version"]`).
 * @param hint What to install.
 * @returns The probe's stdout, trimmed (e.g. the version line).
 * @throws {Error} If the program cannot be run.
 */
export function requireProgram(program: string, args: readonly string[], hint: string): string {
  const probe = spawnSync(program, args, { encoding: "utf8", timeout: 10_000 });
  if (probe.error || probe.status !== 0) {
    const why = probe.error?.message ?? `exit status ${probe.status}`;
    throw new Error(`Cannot run the interop tests: "${program}" is not usable (${why}). ${hint}`);
  }
  return probe.stdout.trim();
}

const OPENSSL_HINT =
  "Install OpenSSL 3 (e.g. apt-get install openssl): these tests run openssl s_server and s_client.";
const GNUTLS_HINT =
  "Install GnuTLS's tools (e.g. apt-get install gnutls-bin): these tests run gnutls-serv and gnutls-cli.";
let opensslVersion: string | undefined;
let gnutlsVersion: string | undefined;

/** The `openssl version` line; throws a clear error (how to install it) when openssl cannot be run. */
export function requireOpenssl(): string {
  opensslVersion ??= requireProgram("openssl", ["version"], OPENSSL_HINT);
  return opensslVersion;
}

/** The `gnutls-cli --version` line; throws a clear error when gnutls-serv or gnutls-cli cannot be run. */
export function requireGnutls(): string {
  if (gnutlsVersion === undefined) {
    requireProgram("gnutls-serv", ["--version"], GNUTLS_HINT);
    gnutlsVersion = requireProgram("gnutls-cli", ["--version"], GNUTLS_HINT).split("\n")[0]!;
  }
  return gnutlsVersion;
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago, for peers that cannot choose their own (`gnutls-serv
 * -p`). Another process may take it meanwhile: callers retry when the peer cannot bind it.
 *
 * @returns The port number.
 */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** How a peer process ended. */
export interface Exit {
  readonly code: number | null;
  readonly signal: string | null;
}

/** A child process whose output is collected as text and can be awaited. */
export class Peer {
  /** The child process. */
  readonly child: ChildProcess;
  /** The command line, for messages. */
  readonly command: string;
  /** Settles when the process has exited and its output streams are closed. */
  readonly exited: Promise<Exit>;
  #stdout = "";
  #stderr = "";
  #exit: Exit | undefined;
  #listeners = new Set<() => void>();

  /**
   * Start `program` with `args`. Prefer {@linkcode Scope.spawn}, which also kills it.
   *
   * @param program The executable.
   * @param args Its arguments.
   */
  constructor(program: string, args: readonly string[]) {
    this.command = [program, ...args].join(" ");
    this.child = spawn(program, args, { stdio: ["pipe", "pipe", "pipe"] });
    this.child.stdout!.setEncoding("utf8");
    this.child.stderr!.setEncoding("utf8");
    this.child.stdout!.on("data", (text: string) => {
      this.#stdout += text;
      this.#changed();
    });
    this.child.stderr!.on("data", (text: string) => {
      this.#stderr += text;
      this.#changed();
    });
    // A peer that exits early makes our writes to its stdin fail; the exit is what gets reported.
    this.child.stdin!.on("error", () => {});
    this.exited = new Promise((resolve) => {
      this.child.once("error", (error) => {
        this.#stderr += `\n[spawn failed: ${error.message}]`;
        this.#exit = { code: null, signal: null };
        resolve(this.#exit);
        this.#changed();
      });
      this.child.once("close", (code, signal) => {
        this.#exit = { code, signal };
        resolve(this.#exit);
        this.#changed();
      });
    });
  }

  /** Everything the process wrote to stdout so far. */
  get stdout(): string {
    return this.#stdout;
  }

  /** Everything the process wrote to stderr so far. */
  get stderr(): string {
    return this.#stderr;
  }

  /** Both outputs, labelled, for assertion messages. */
  get output(): string {
    return `$ ${this.command}\n--- stdout\n${this.#stdout}\n--- stderr\n${this.#stderr}`;
  }

  /**
   * Wait until stdout or stderr matches `pattern`.
   *
   * @param pattern What to look for.
   * @returns The match.
   * @throws {Error} If the process exits first.
   */
  waitFor(pattern: RegExp): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = this.#stdout.match(pattern) ?? this.#stderr.match(pattern);
        if (m) {
          this.#listeners.delete(check);
          resolve(m);
        } else if (this.#exit) {
          this.#listeners.delete(check);
          const how = this.#exit.signal ?? `status ${this.#exit.code}`;
          reject(new Error(`The peer exited (${how}) before printing ${pattern}\n${this.output}`));
        }
      };
      this.#listeners.add(check);
      check();
    });
  }

  /**
   * Write text to the process's stdin.
   *
   * @param text The text.
   */
  send(text: string): void {
    this.child.stdin!.write(text);
  }

  /** Kill the process (SIGKILL) unless it has exited, and wait for it. */
  async kill(): Promise<void> {
    if (!this.#exit) this.child.kill("SIGKILL");
    this.child.stdin!.destroy();
    await this.exited;
  }

  #changed(): void {
    for (const listener of [...this.#listeners]) listener();
  }
}

/** A TCP listener on 127.0.0.1 with an ephemeral port. */
export interface Listener {
  /** The port the system chose. */
  readonly port: number;
  /** Resolves with the first connection. */
  readonly accepted: Promise<net.Socket>;
  /** Resolves with the next connection not yet taken by `next()` (the first one first). */
  next(): Promise<net.Socket>;
}

/**
 * Everything one test case started: child processes, sockets, listeners, temp directories. `dispose()`
 * kills, destroys, closes and removes them all, and waits until they are gone (so no handle outlives the test).
 */
export class Scope {
  #peers: Peer[] = [];
  #sockets: net.Socket[] = [];
  #servers: net.Server[] = [];
  #dirs: string[] = [];

  /**
   * Start a peer process, killed at dispose.
   *
   * @param program The executable.
   * @param args Its arguments.
   * @returns The running peer.
   */
  spawn(program: string, args: readonly string[]): Peer {
    const peer = new Peer(program, args);
    this.#peers.push(peer);
    return peer;
  }

  /**
   * Make a temp directory holding `files` (name → text), removed at dispose.
   *
   * @param files File names and their contents.
   * @returns A function that gives a file's full path.
   */
  writeFiles(files: Record<string, string>): (name: string) => string {
    const dir = mkdtempSync(join(tmpdir(), "airlock-interop-"));
    this.#dirs.push(dir);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text, { mode: 0o600 });
    return (name) => join(dir, name);
  }

  /**
   * Listen on 127.0.0.1, port 0; the listener and its connections are closed at dispose.
   *
   * @returns The port and the first accepted socket.
   */
  async listen(): Promise<Listener> {
    const server = net.createServer({ allowHalfOpen: true });
    this.#servers.push(server);
    const queue: net.Socket[] = [];
    const waiters: ((s: net.Socket) => void)[] = [];
    server.on("connection", (socket: net.Socket) => {
      this.#sockets.push(socket);
      const waiter = waiters.shift();
      if (waiter) waiter(socket);
      else queue.push(socket);
    });
    const next = () =>
      new Promise<net.Socket>((resolve) => {
        const socket = queue.shift();
        if (socket) resolve(socket);
        else waiters.push(resolve);
      });
    const accepted = next();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    let first = true;
    return {
      port: (server.address() as net.AddressInfo).port,
      accepted,
      next: () => (first ? ((first = false), accepted) : next()),
    };
  }

  /**
   * Connect to 127.0.0.1:`port` (half-open allowed); destroyed at dispose.
   *
   * @param port The port.
   * @returns The connected socket.
   */
  async connect(port: number): Promise<net.Socket> {
    const socket = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true });
    this.#sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    socket.setNoDelay(true);
    return socket;
  }

  /** Kill the peers, destroy the sockets, close the listeners, remove the directories; wait for all. */
  async dispose(): Promise<void> {
    await Promise.all(this.#peers.map((p) => p.kill()));
    await Promise.all(this.#sockets.map(destroySocket));
    await Promise.all(this.#servers.map(closeServer));
    for (const dir of this.#dirs) rmSync(dir, { recursive: true, force: true });
  }
}

function destroySocket(socket: net.Socket): Promise<void> {
  if (socket.closed) return Promise.resolve();
  return new Promise((resolve) => {
    socket.once("close", () => resolve());
    socket.destroy();
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
}

/**
 * Run `fn` with a fresh {@linkcode Scope}, bounded by `timeoutMs`; everything in the scope is released
 * afterwards, and on timeout that is what unblocks `fn`.
 *
 * @param fn The test case.
 * @param timeoutMs The bound.
 * @returns What `fn` returns.
 * @throws {Error} If `fn` fails or the bound is reached.
 */
export async function scoped<T>(fn: (scope: Scope) => Promise<T>, timeoutMs = CASE_TIMEOUT_MS): Promise<T> {
  const scope = new Scope();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`The interop case took longer than ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  const run = fn(scope);
  try {
    return await Promise.race([run, timeout]);
  } finally {
    clearTimeout(timer);
    await scope.dispose();
    // After a timeout, `run` fails once its peers are gone (that is already reported); give it a moment.
    let grace: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([run.catch(() => {}), new Promise((resolve) => grace = setTimeout(resolve, 1000))]);
    clearTimeout(grace);
  }
}

/**
 * Start `gnutls-serv` with `args` (everything but `-p`) on a free port, and wait until it listens. It cannot
 * pick its own port, has no option to bind one address (it listens on every interface; tests connect to
 * 127.0.0.1), and keeps running when the bind fails: a port taken in the meantime means killing it and
 * trying another.
 *
 * @param scope Owns the process.
 * @param args Its arguments, without the port.
 * @param env Extra environment variables (e.g. `SSLKEYLOGFILE`), set through env(1), which execs gnutls-serv.
 * @returns The running server and its port.
 * @throws {Error} If three free ports in a row could not be bound.
 */
export async function startGnutlsServ(
  scope: Scope,
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<{ server: Peer; port: number }> {
  for (let attempt = 1;; attempt++) {
    const port = await freePort();
    const vars = Object.entries(env).map(([name, value]) => `${name}=${value}`);
    const command = ["gnutls-serv", "-p", String(port), ...args];
    const server = vars.length > 0
      ? scope.spawn("env", [...vars, ...command])
      : scope.spawn(command[0]!, command.slice(1));
    const [, outcome] = await server.waitFor(/listening on IPv4 \S+ port \d+\.\.\.(done|.*failed.*)$/m);
    if (outcome === "done") return { server, port };
    await server.kill();
    if (attempt === 3) throw new Error(`gnutls-serv cannot listen on a free port\n${server.output}`);
  }
}

/**
 * Start `gnutls-cli` against 127.0.0.1:`port` for TLS 1.3, verifying the server's chain to `rootPem` (a file)
 * for "localhost", which it also sends as SNI.
 *
 * @param scope Owns the process.
 * @param port Where our server listens.
 * @param rootPem The trust anchor's PEM file.
 * @param args Further gnutls-cli arguments.
 * @returns The running gnutls-cli.
 */
export function startGnutlsCli(scope: Scope, port: number, rootPem: string, args: readonly string[]): Peer {
  return scope.spawn("gnutls-cli", [
    "127.0.0.1",
    "-p",
    String(port),
    "--x509cafile",
    rootPem,
    "--sni-hostname",
    "localhost",
    "--verify-hostname",
    "localhost",
    "--priority",
    "NORMAL:-VERS-ALL:+VERS-TLS1.3",
    ...args,
  ]);
}

/**
 * Stop `gnutls-serv` with SIGTERM and wait: it then flushes its stdout (its session reports, which a pipe
 * keeps buffered) and exits.
 *
 * @param server The running gnutls-serv.
 */
export async function stopGnutlsServ(server: Peer): Promise<void> {
  // It serves on after a session; give it a moment to finish logging this one.
  await new Promise((resolve) => setTimeout(resolve, 50));
  server.child.kill("SIGTERM");
  await server.exited;
}

/** Reads text lines from a {@linkcode TlsSocket}, keeping what follows a line for the next call. */
export class LineReader {
  readonly #tls: TlsSocket;
  #buffered = "";
  readonly #decoder = new TextDecoder();

  /**
   * Read lines from `tls`.
   *
   * @param tls The connection.
   */
  constructor(tls: TlsSocket) {
    this.#tls = tls;
  }

  /**
   * The next line, without its line ending.
   *
   * @returns The line, or `null` if the peer sent close_notify first.
   */
  async next(): Promise<string | null> {
    for (;;) {
      const end = this.#buffered.indexOf("\n");
      if (end >= 0) {
        const line = this.#buffered.slice(0, end).replace(/\r$/, "");
        this.#buffered = this.#buffered.slice(end + 1);
        return line;
      }
      const data = await this.#tls.read();
      if (data === null) return null;
      this.#buffered += this.#decoder.decode(data, { stream: true });
    }
  }
}

// ---- certificates -------------------------------------------------------------------------------------

const chains = new Map<string, Promise<TestChain>>();

/** A CA-issued chain (root → intermediate → leaf, for "localhost") for a server of `type`, made once. */
export function serverChain(type: TestKeyType): Promise<TestChain> {
  let chain = chains.get(type);
  if (!chain) {
    chain = generateChain({ keyType: type, intermediate: true, dnsNames: ["localhost"] });
    chains.set(type, chain);
  }
  return chain;
}

/** A client chain (root → leaf) with the clientAuth key purpose, made once. */
export function clientChain(): Promise<TestChain> {
  let chain = chains.get("client");
  if (!chain) {
    chain = generateChain({
      dnsNames: ["client.test"],
      eku: ["clientAuth"],
      commonName: "airlock test client",
    });
    chains.set("client", chain);
  }
  return chain;
}

/**
 * `openssl s_server -tls1_3 -rev` for one connection on a free port of 127.0.0.1 with the certificate and key
 * files given (more arguments in `extra`); resolves once it accepts, with its port.
 */
export async function startSServer(
  scope: Scope,
  files: { readonly cert: string; readonly key: string },
  extra: readonly string[] = [],
): Promise<{ server: Peer; port: number }> {
  requireOpenssl();
  const args = ["-tls1_3", "-naccept", "1", "-accept", "127.0.0.1:0", "-cert", files.cert, "-key", files.key];
  const server = scope.spawn("openssl", ["s_server", ...args, "-rev", ...extra]);
  const [, port] = await server.waitFor(/^ACCEPT 127\.0\.0\.1:(\d+)$/m);
  return { server, port: Number(port) };
}

/** A certificate entry for our engines from a generated chain. */
export async function certified(chain: TestChain): Promise<{ chain: Uint8Array[]; key: SigningKey }> {
  return { chain: chain.chain, key: await loadPrivateKey(chain.keyPkcs8) };
}

/** Accept `client`'s connection (the `program` it runs) on `listener` and drive our server over it. */
export async function acceptServer(
  program: string,
  listener: Listener,
  client: Peer,
  config: ServerConfig,
): Promise<WatchedTls> {
  const socket = await Promise.race([
    listener.next(),
    client.exited.then(() =>
      Promise.reject(new Error(`${program} exited before connecting\n${client.output}`))
    ),
  ]);
  const { engine, network } = createBioPair();
  return watchTls(createServer(config, engine), network, socket);
}

/** Assert what every TLS 1.2 handshake in the interop tests settles on. */
export function assertTls12(
  info: HandshakeInfo,
  suite?: { readonly name: string },
  group?: { readonly name: string },
): void {
  assert.equal(info.version, "TLSv1.2");
  assert.equal(info.extendedMasterSecret, true);
  assert.equal(info.helloRetry, false);
  if (suite) assert.equal(info.cipherSuite, suite.name);
  if (group) assert.equal(info.group, group.name);
}
