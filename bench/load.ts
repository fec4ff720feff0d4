/**
 * Servers under load: airlock on the adapters (its default configuration) and node:tls, each in a process of
 * its own on 127.0.0.1, each facing the same load generator in this process: node:tls clients that verify the
 * server's CA-issued chain and name. Never part of the tests.
 *
 *   npm run bench:load                                (node --expose-gc --import tsx bench/load.ts)
 *   deno task bench:load                              (the servers on Deno: node … bench/load.ts --runtime deno)
 *   npm run bench:load -- --runtime bun               (the servers on Bun)
 *
 * The generator stays on Node whatever runs the servers (the deno task starts it with node): node:tls
 * on Node is the cheapest client there is, which matters when it shares 2 cores with the server it loads.
 *
 * For each server, in this order (the same for both):
 *
 * 1. Warm-up: `--warmup` connections (default 200, 50 at a time), not measured.
 * 2. Idle connections: `--idle` clients (default 1,000) complete their handshakes, 100 at a time, and stay
 *    idle; the server's resident memory (after it collected garbage) before and with them gives the memory
 *    per idle connection. Then each sends its request and reads its answer. This comes before the load,
 *    while the server's heap and allocator hold no memory freed by earlier work that new connections could
 *    reuse unseen.
 * 3. Load: `--clients` connections (default 3,000), `--concurrency` of them at a time (default 1,000: as one
 *    finishes the next starts). Each makes a full TLS 1.3 handshake (the client pins TLS 1.3 and resumes
 *    nothing), sends `GET /<--small> HTTP/1.0` (default 100 bytes asked), reads the answer to the server's
 *    close_notify, and closes. Figures: handshakes/s (connections completed over the phase's wall time),
 *    the p50 and p99 handshake latency (from `tls.connect` to `secureConnect`: the TCP connect, the handshake
 *    and the chain check, and the queueing at 1,000 at a time), the server's CPU time per connection, the
 *    SYNs the kernel dropped because the server's listen queue was full (both servers listen with their
 *    runtime's default backlog, 511: a server that accepts too slowly makes clients resend their SYN after
 *    1, 3, 7 s…, which shows in p99), and its resident memory after the phase (after garbage collection)
 *    and at its peak.
 * 4. Bulk: `--bulk-clients` connections (default 100, `--bulk-concurrency` 50 at a time) each read
 *    `--bulk-bytes` (default 1 MiB): MB/s of response bodies over the phase's wall time. `--bulk-clients 0`
 *    skips it.
 *
 * Every connection must succeed: a client error, a verification failure, a short answer, a timeout
 * (`--timeout`, default 120 s per connection) or a failure the server counted is printed and makes the run
 * exit with 1. Each phase is bounded by `--max-seconds` (default 300): connections not started by then count
 * as failed. The servers run on `--runtime node|deno|bun` (default node: airlock's server then runs the
 * built package, `dist/`, as npm users get it, rebuilt at the start of the run); `--reference-runtime` puts the
 * node:tls server on another one (default: the same); `--server-flags "…"` passes flags to their runtime
 * (`--cpu-prof` to profile them on Node). The figures go to bench/results/load-<runtime>.json (or
 * `--json PATH`). With the defaults a run takes about 70 seconds on Node on a 2-core machine.
 *
 * Fairness: the generator is the same for both servers, and shares the machine with them (on 2 cores it
 * takes about half of it: a server's throughput here is what it reaches beside its clients). The servers run
 * one at a time, `--repeat` times each (default 2), in the order node:tls, airlock, airlock, node:tls, …,
 * so that a drift in the machine's load hits both alike; the table gives the middle of each figure's runs
 * and prints every run beside it. Each server process reports its own memory and CPU time: the CPU time per
 * connection is the figure least moved by other work on the machine.
 * @module
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import * as tls from "node:tls";
import { fileURLToPath } from "node:url";
import { median, runtime } from "./_common.ts";
import { benchChain } from "./_pki.ts";
import { figure, printTable, ratio } from "./_table.ts";

// ---- settings ------------------------------------------------------------------------------------

const argv = process.argv.slice(2);
const option = (name: string) => {
  const i = argv.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return undefined;
  return argv[i]!.includes("=") ? argv[i]!.slice(name.length + 1) : argv[i + 1];
};
const count = (name: string, fallback: number): number => {
  const v = option(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`Cannot use ${name} ${v}: expected a whole number`);
  return n;
};
type Runtime = "node" | "deno" | "bun";
const runtimeOption = (name: string, fallback: Runtime): Runtime => {
  const v = option(name) ?? fallback;
  if (v !== "node" && v !== "deno" && v !== "bun") {
    throw new RangeError(`Cannot use ${name} ${v}: expected node, deno or bun`);
  }
  return v;
};
const S = {
  runtime: runtimeOption("--runtime", "node"),
  referenceRuntime: runtimeOption("--reference-runtime", runtimeOption("--runtime", "node")),
  warmup: count("--warmup", 200),
  idle: count("--idle", 1000),
  clients: count("--clients", 3000),
  concurrency: count("--concurrency", 1000),
  small: count("--small", 100),
  bulkClients: count("--bulk-clients", 100),
  bulkConcurrency: count("--bulk-concurrency", 50),
  bulkBytes: count("--bulk-bytes", 1 << 20),
  timeoutMs: count("--timeout", 120) * 1000,
  maxSeconds: count("--max-seconds", 300),
  repeat: Math.max(1, count("--repeat", 2)),
  /** More flags for the server processes' runtime, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" on Node. */
  serverFlags: (option("--server-flags") ?? "").split(" ").filter((f) => f !== ""),
};
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const JSON_PATH = option("--json") ??
  fileURLToPath(new URL(`./results/load-${S.runtime}.json`, import.meta.url));

// ---- one client ----------------------------------------------------------------------------------

/** What one connection did. */
interface Outcome {
  /** Milliseconds from tls.connect to secureConnect, if the handshake completed. */
  handshakeMs?: number;
  /** What the handshake negotiated: protocol, suite, group, as node:tls names them. */
  negotiated?: string;
  /** Response body bytes received. */
  bodyBytes: number;
  /** Why it failed; undefined if it succeeded. */
  error?: string;
}

/** A connection in flight: `established` settles at its handshake (or its failure), `done` at its end. */
interface Flight {
  established: Promise<void>;
  done: Promise<Outcome>;
}

/** The chain the servers send, and the clients' context: TLS 1.3 only, trusting the bench CA. */
const chain = await benchChain("ecdsa-p256");
const context = tls.createSecureContext({ ca: chain.caPem, minVersion: "TLSv1.3", maxVersion: "TLSv1.3" });

/**
 * One client: connect, verify the chain (the bench CA) and the name "localhost", wait for `hold` if given,
 * ask for `want` bytes, read the answer up to the server's close, then close.
 */
function connectOnce(port: number, want: number, hold?: Promise<void>): Flight {
  let settle!: () => void;
  const established = new Promise<void>((r) => (settle = r));
  const done = new Promise<Outcome>((resolve) => {
    const t0 = performance.now();
    const out: Outcome = { bodyBytes: 0 };
    let head = "", headBytes = -1, received = 0, expected = -1;
    const socket = tls.connect({
      host: "127.0.0.1",
      port,
      servername: "localhost",
      secureContext: context,
      rejectUnauthorized: true,
    });
    const timer = setTimeout(() => {
      out.error ??= `timed out after ${S.timeoutMs / 1000} s`;
      socket.destroy();
    }, S.timeoutMs);
    socket.once("secureConnect", async () => {
      out.handshakeMs = performance.now() - t0;
      const eph = socket.getEphemeralKeyInfo() as { name?: string } | null;
      out.negotiated = `${socket.getProtocol()} ${socket.getCipher().standardName} ${eph?.name ?? "?"}`;
      settle();
      if (hold) await hold;
      socket.write(`GET /${want} HTTP/1.0\r\nHost: localhost\r\n\r\n`);
    });
    socket.on("data", (d: Buffer) => {
      received += d.length;
      if (headBytes >= 0) return;
      head += d.toString("latin1");
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      headBytes = end + 4;
      const m = /^HTTP\/1\.0 200 OK\r\n(?:.*\r\n)*?Content-Length: (\d+)\r\n/.exec(head);
      if (!m) out.error ??= `unexpected answer ${JSON.stringify(head.slice(0, 40))}`;
      else expected = Number(m[1]);
    });
    socket.on("error", (e: Error) => (out.error ??= e.message));
    socket.on("close", () => {
      clearTimeout(timer);
      settle();
      out.bodyBytes = Math.max(0, received - Math.max(headBytes, 0));
      if (!out.error && (headBytes < 0 || out.bodyBytes !== want || expected !== want)) {
        out.error = `short answer: ${out.bodyBytes} of ${want} bytes`;
      }
      resolve(out);
    });
  });
  return { established, done };
}

/**
 * Run `total` connections, `concurrency` at a time; those not started within `--max-seconds` count as
 * failed. Returns every outcome and the wall time.
 */
async function pool(
  port: number,
  total: number,
  concurrency: number,
  want: number,
): Promise<{ outcomes: Outcome[]; seconds: number }> {
  const outcomes: Outcome[] = [];
  const t0 = performance.now();
  const deadline = t0 + S.maxSeconds * 1000;
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      outcomes[i] = performance.now() > deadline
        ? { bodyBytes: 0, error: `not started: the phase ran past ${S.maxSeconds} s` }
        : await connectOnce(port, want).done;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return { outcomes, seconds: (performance.now() - t0) / 1000 };
}

// ---- the server process --------------------------------------------------------------------------

let packageBuilt = false;

/** Build `dist/` from the sources once per run (`npm run build`: tsc, about 20 s), so it is never stale. */
function buildPackage(): void {
  if (packageBuilt) return;
  console.log(
    "building dist/ (npm run build): on Node, airlock's server runs the package as npm users get it",
  );
  const r = spawnSync(process.execPath, [join(ROOT, "scripts", "build.mjs")], {
    cwd: ROOT,
    stdio: "inherit",
  });
  if (r.status !== 0) throw new Error(`npm run build failed (exit ${r.status}): the Node server needs dist/`);
  packageBuilt = true;
}

/** A server process and its control lines. */
class ServerProcess {
  port = 0;
  info: { runtime: { name: string; version: string }; provider: string } = {
    runtime: { name: "?", version: "?" },
    provider: "?",
  };
  readonly #child: ChildProcess;
  readonly #lines: string[] = [];
  #wake: (() => void) | undefined;
  #stderr = "";

  private constructor(child: ChildProcess) {
    this.#child = child;
    let buffered = "";
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (d: string) => {
      buffered += d;
      for (let i = buffered.indexOf("\n"); i >= 0; i = buffered.indexOf("\n")) {
        this.#lines.push(buffered.slice(0, i));
        buffered = buffered.slice(i + 1);
      }
      this.#wake?.();
    });
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (d: string) => void (this.#stderr = (this.#stderr + d).slice(-4000)));
    child.once("exit", () => this.#wake?.());
  }

  /** Start `_load_server.ts` for `impl` on `rt` (on Node, airlock from `dist/`), and wait until it listens. */
  static async start(
    impl: "airlock" | "node",
    rt: Runtime,
    cert: string,
    key: string,
  ): Promise<ServerProcess> {
    const script = join(ROOT, "bench", "_load_server.ts");
    const bin = (name: string) => join(ROOT, "node_modules", ".bin", name);
    const [cmd, ...pre] = rt === "node"
      ? [process.execPath, "--expose-gc", "--import", "tsx"]
      : rt === "deno"
      ? [bin("deno"), "run", "-A", "--v8-flags=--expose-gc"]
      : [bin("bun")];
    const args = [...pre, ...S.serverFlags, script, "--impl", impl, "--cert", cert, "--key", key];
    // On Node, airlock's server runs the built package, as npm users do (see _load_server.ts); the node:tls
    // server's process loads it too (for the helpers both share), so the package is built before either.
    if (rt === "node") buildPackage();
    const env = { ...process.env, AIRLOCK_FROM_DIST: rt === "node" ? "1" : "0" };
    const server = new ServerProcess(spawn(cmd!, args, { cwd: ROOT, env, stdio: ["pipe", "pipe", "pipe"] }));
    const [, port, info] = /^READY (\d+) (.*)$/.exec(await server.#next("READY "))!;
    server.port = Number(port);
    server.info = JSON.parse(info!);
    return server;
  }

  /** The next line starting with `prefix`. */
  async #next(prefix: string): Promise<string> {
    for (;;) {
      const i = this.#lines.findIndex((l) => l.startsWith(prefix));
      if (i >= 0) return this.#lines.splice(i, 1)[0]!;
      if (this.#child.exitCode !== null || this.#child.signalCode !== null) {
        throw new Error(`the server process exited (${this.#child.exitCode}): ${this.#stderr.trim()}`);
      }
      await new Promise<void>((r) => (this.#wake = r));
    }
  }

  /** Send a control line and parse the answer starting with `prefix`. */
  async #ask(command: "mem" | "stats", prefix: string): Promise<Record<string, unknown>> {
    this.#child.stdin!.write(`${command}\n`);
    return JSON.parse((await this.#next(prefix)).slice(prefix.length));
  }

  /** The server's memory after it collected garbage: resident, heap with external, peak resident. */
  async memory(): Promise<{ rss: number; heap: number; peakRss: number | undefined }> {
    const m = await this.#ask("mem", "MEM ");
    return {
      rss: m.rss as number,
      heap: (m.heapUsed as number) + (m.external as number),
      peakRss: m.peakRss as number | undefined,
    };
  }

  /** The server's counters and CPU time so far. */
  async stats(): Promise<{ handshakes: number; failures: number; errors: string[]; cpuMs: number }> {
    return (await this.#ask("stats", "STATS ")) as never;
  }

  /** Ask the process to quit, and wait for it (killing it after 5 s). */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const gone = new Promise((r) => this.#child.once("exit", r));
    this.#child.stdin!.write("quit\n");
    const t = setTimeout(() => this.#child.kill("SIGKILL"), 5000);
    await gone;
    clearTimeout(t);
  }
}

// ---- one server's run ----------------------------------------------------------------------------

/** What one server did. */
interface ServerFigures {
  server: string;
  runtime: string;
  provider: string;
  /** What the load phase's handshakes negotiated, with how many of each. */
  negotiated: Record<string, number>;
  handshakesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  loadSeconds: number;
  cpuMsPerConnection: number;
  /** SYNs the kernel dropped during the load phase because the listen queue was full. */
  listenOverflows: number | undefined;
  rssAfterLoad: number;
  peakRss: number | undefined;
  bulkMBps: number | undefined;
  idleRssPerConnection: number;
  idleHeapPerConnection: number;
  failures: string[];
}

/**
 * The kernel's count of connections dropped because a listen queue was full (TcpExt ListenOverflows, for the
 * whole machine), or undefined where /proc does not tell it. A server that accepts too slowly makes clients
 * resend their SYN after 1, 3, 7, 15 s…: that shows in p99.
 */
function listenOverflows(): number | undefined {
  try {
    const lines = readFileSync("/proc/net/netstat", "utf8").split("\n").filter((l) =>
      l.startsWith("TcpExt:")
    );
    const keys = lines[0]!.split(/\s+/), values = lines[1]!.split(/\s+/);
    const i = keys.indexOf("ListenOverflows");
    return i > 0 ? Number(values[i]) : undefined;
  } catch {
    return undefined;
  }
}

function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

/** Failures of a phase: one line per distinct reason, with how many. */
function failures(phase: string, outcomes: readonly Outcome[]): string[] {
  const by = new Map<string, number>();
  for (const o of outcomes) if (o.error) by.set(o.error, (by.get(o.error) ?? 0) + 1);
  return [...by].map(([why, n]) => `${phase}: ${n} × ${why}`);
}

const progress = (what: string) => process.stderr.write(`  ${what}\n`);

async function runServer(impl: "airlock" | "node", rt: Runtime, cert: string, key: string) {
  const label = impl === "airlock" ? "airlock" : "node:tls";
  const server = await ServerProcess.start(impl, rt, cert, key);
  const failed: string[] = [];
  try {
    progress(`${label} on ${server.info.runtime.name} ${server.info.runtime.version}: warm-up`);
    const warm = await pool(server.port, S.warmup, 50, S.small);
    failed.push(...failures("warm-up", warm.outcomes));

    progress(`${label}: ${S.idle} idle connections`);
    const before = await server.memory();
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    const idle: Flight[] = [];
    for (let i = 0; i < S.idle; i += 100) {
      const batch = Array.from(
        { length: Math.min(100, S.idle - i) },
        () => connectOnce(server.port, 0, hold),
      );
      idle.push(...batch);
      await Promise.all(batch.map((f) => f.established));
    }
    const withIdle = await server.memory();
    release();
    const idleOutcomes = await Promise.all(idle.map((f) => f.done));
    failed.push(...failures("idle", idleOutcomes));
    const per = (a: number, b: number) => (S.idle > 0 ? (b - a) / S.idle : NaN);

    progress(`${label}: ${S.clients} clients, ${S.concurrency} at a time`);
    const cpu0 = (await server.stats()).cpuMs;
    const overflows0 = listenOverflows();
    const load = await pool(server.port, S.clients, S.concurrency, S.small);
    const overflows1 = listenOverflows();
    const cpu1 = (await server.stats()).cpuMs;
    failed.push(...failures("load", load.outcomes));
    const after = await server.memory();
    const latencies = load.outcomes.flatMap((
      o,
    ) => (o.error || o.handshakeMs === undefined ? [] : [o.handshakeMs]));
    const completed = load.outcomes.filter((o) => !o.error).length;
    const negotiated: Record<string, number> = {};
    for (const o of load.outcomes) {
      if (o.negotiated) negotiated[o.negotiated] = (negotiated[o.negotiated] ?? 0) + 1;
    }

    let bulkMBps: number | undefined;
    if (S.bulkClients > 0) {
      progress(
        `${label}: ${S.bulkClients} clients reading ${S.bulkBytes} bytes, ${S.bulkConcurrency} at a time`,
      );
      const bulk = await pool(server.port, S.bulkClients, S.bulkConcurrency, S.bulkBytes);
      failed.push(...failures("bulk", bulk.outcomes));
      bulkMBps = bulk.outcomes.reduce((n, o) => n + o.bodyBytes, 0) / bulk.seconds / 1e6;
    }

    const st = await server.stats();
    if (st.failures > 0) failed.push(`server: ${st.failures} failed connections (${st.errors.join("; ")})`);
    const figures: ServerFigures = {
      server: label,
      runtime: `${server.info.runtime.name} ${server.info.runtime.version}`,
      provider: server.info.provider,
      negotiated,
      handshakesPerSecond: completed / load.seconds,
      p50Ms: median(latencies.length > 0 ? latencies : [NaN]),
      p99Ms: percentile(latencies, 99),
      loadSeconds: load.seconds,
      cpuMsPerConnection: (cpu1 - cpu0) / S.clients,
      listenOverflows: overflows0 === undefined || overflows1 === undefined
        ? undefined
        : overflows1 - overflows0,
      rssAfterLoad: after.rss,
      peakRss: after.peakRss,
      bulkMBps,
      idleRssPerConnection: per(before.rss, withIdle.rss),
      idleHeapPerConnection: per(before.heap, withIdle.heap),
      failures: failed,
    };
    return figures;
  } finally {
    await server.stop();
  }
}

// ---- run -----------------------------------------------------------------------------------------

const t0 = performance.now();
console.log(
  `airlock load bench, ${
    new Date().toISOString().slice(0, 16)
  }: generator on ${runtime.name} ${runtime.version}, ` +
    `servers on ${S.runtime}${
      S.referenceRuntime !== S.runtime ? ` (node:tls on ${S.referenceRuntime})` : ""
    }; ` +
    `${S.clients} clients ${S.concurrency} at a time, ${S.idle} idle, ${S.bulkClients} × ${S.bulkBytes} bytes`,
);
const dir = mkdtempSync(join(tmpdir(), "airlock-load-"));
const results: ServerFigures[] = [];
try {
  const cert = join(dir, "chain.pem"), key = join(dir, "key.pem");
  writeFileSync(cert, chain.chainPem);
  writeFileSync(key, chain.keyPem);
  // node:tls, airlock, then airlock, node:tls, and so on: a drift in the machine's load hits both alike.
  for (let r = 0; r < S.repeat; r++) {
    const order = r % 2 === 0 ? (["node", "airlock"] as const) : (["airlock", "node"] as const);
    for (const impl of order) {
      results.push(await runServer(impl, impl === "node" ? S.referenceRuntime : S.runtime, cert, key));
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/** The middle value (the mean of the two middle ones for an even count); undefined without values. */
function middle(xs: readonly (number | undefined)[]): number | undefined {
  const s = xs.filter((x): x is number => x !== undefined && Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return undefined;
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1]! + s[m]!) / 2;
}

const runsOf = (server: string) => results.filter((r) => r.server === server);
const [air, node] = [runsOf("airlock"), runsOf("node:tls")];
if (S.repeat > 1) {
  printTable(
    "Each run",
    ["server", "handshakes/s", "p50 ms", "p99 ms", "CPU ms/conn", "overflows", "bulk MB/s", "idle kB/conn"],
    results.map((r) => [
      r.server,
      r.handshakesPerSecond,
      r.p50Ms,
      r.p99Ms,
      r.cpuMsPerConnection,
      r.listenOverflows,
      r.bulkMBps,
      r.idleRssPerConnection / 1e3,
    ]),
  );
}
const mid = (runs: readonly ServerFigures[], f: (r: ServerFigures) => number | undefined) =>
  middle(runs.map(f));
const scaled = (k: number) => (x: number | undefined) => (x === undefined ? undefined : x / k);
const figures: [string, (r: ServerFigures) => number | undefined][] = [
  ["handshakes/s (full, TLS 1.3)", (r) => r.handshakesPerSecond],
  ["handshake latency p50, ms", (r) => r.p50Ms],
  ["handshake latency p99, ms", (r) => r.p99Ms],
  ["server CPU per connection, ms", (r) => r.cpuMsPerConnection],
  ["listen queue overflows (dropped SYNs)", (r) => r.listenOverflows],
  ["bulk MB/s (response bodies)", (r) => r.bulkMBps],
  ["resident memory after the load, MB", (r) => scaled(1e6)(r.rssAfterLoad)],
  ["peak resident memory, MB", (r) => scaled(1e6)(r.peakRss)],
  ["resident memory per idle connection, kB", (r) => scaled(1e3)(r.idleRssPerConnection)],
  ["heap per idle connection, kB", (r) => scaled(1e3)(r.idleHeapPerConnection)],
];
const what = (runs: readonly ServerFigures[]) =>
  [...new Set(runs.flatMap((r) => Object.keys(r.negotiated)))].join(", ");
printTable(
  `Servers under load on 127.0.0.1 (airlock: ${air[0]!.runtime}, default provider ${air[0]!.provider}, ` +
    `negotiated ${what(air)}; node:tls: ${node[0]!.runtime}, ${what(node)}). ` +
    `${S.repeat > 1 ? `Middle of ${S.repeat} runs each; ` : ""}air÷node: the ratio of the figures`,
  ["figure", "airlock", "node:tls", "air÷node"],
  figures.map(([label, f]) => {
    const a = mid(air, f), n = mid(node, f);
    return [label, a, n, ratio(a, n)];
  }),
);
const allFailures = results.flatMap((r) => r.failures.map((f) => `${r.server}: ${f}`));
const seconds = (performance.now() - t0) / 1000;
mkdirSync(dirname(JSON_PATH), { recursive: true });
writeFileSync(
  JSON_PATH,
  JSON.stringify(
    { schema: 1, date: new Date().toISOString(), generator: runtime, settings: S, results, seconds },
    null,
    2,
  ) + "\n",
);
console.log(`\n${figure(seconds)} s; JSON written to ${JSON_PATH}`);
if (allFailures.length > 0) {
  console.error(`\nFAILED CONNECTIONS (there must be none):\n${allFailures.map((f) => `  ${f}`).join("\n")}`);
  process.exit(1);
}
console.log("no failed connections");
