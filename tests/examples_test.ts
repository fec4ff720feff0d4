// Copyright 2026 the airlock authors. MIT license.

/**
 * The examples, run for real: each as its own processes, on 127.0.0.1 with ports the servers pick (port 0),
 * in a temporary directory removed afterwards, every process killed after {@linkcode PROCESS_TIMEOUT_MS}.
 * The assertions are on what the examples print (the negotiated version and suite) and on the bytes that
 * come back.
 *
 * Which runtime runs what: each case runs its example on the runtime the example is written for, and only
 * when that is the runtime running this file (`npm test` runs it on Deno, Node and Bun), so that each case
 * runs once and spawns the very binary that runs the tests: the Deno echo server and the serial link under
 * Deno (the serial link's client on Node, from PATH, as `npm test` has it), the Bun echo server under Bun.
 * On the other runtimes those cases are ignored, and say so. The QUIC example is plain TypeScript and runs
 * under all three.
 *
 * The serial link needs socat: without it the case is ignored locally (the reason is printed), but under
 * CI (`CI=true`, as `.ci/run` sets, which installs socat) it fails.
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const PROCESS_TIMEOUT_MS = 90_000;

type Runtime = "deno" | "node" | "bun";

/** The runtime running this file (under Node and Bun, `Deno` is the test runner's shim, without `version`). */
const HOST: Runtime = (process.versions as Record<string, string | undefined>).bun
  ? "bun"
  : (globalThis as { Deno?: { version?: unknown } }).Deno?.version
  ? "deno"
  : "node";

/** The command that runs a TypeScript file on `runtime`: the test's own binary when it is the host. */
function command(runtime: Runtime, file: string, args: string[]): [string, string[]] {
  const path = join(ROOT, file);
  const bin = runtime === HOST
    ? process.execPath
    : runtime === "node"
    ? "node"
    : join(ROOT, "node_modules", ".bin", runtime);
  if (runtime === "deno") return [bin, ["run", "-A", path, ...args]];
  if (runtime === "node") return [bin, ["--import", "tsx", path, ...args]];
  return [bin, [path, ...args]];
}

/** A child process whose output is collected, killed after PROCESS_TIMEOUT_MS. */
class Child {
  readonly #stdout: Uint8Array[] = [];
  #stderr = "";
  readonly #child: ReturnType<typeof spawn>;
  /** The exit code, the signal that ended it, or why it did not start. */
  readonly exit: Promise<number | string>;

  constructor(readonly name: string, bin: string, args: string[], input?: Uint8Array) {
    this.#child = spawn(bin, args, { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
    this.#child.stdout!.on("data", (d: Uint8Array) => this.#stdout.push(d));
    this.#child.stderr!.on("data", (d: Uint8Array) => (this.#stderr += new TextDecoder().decode(d)));
    const timer = setTimeout(() => this.kill(), PROCESS_TIMEOUT_MS);
    this.exit = new Promise((resolve) => {
      const done = (result: number | string) => {
        clearTimeout(timer);
        resolve(result);
      };
      this.#child.on("close", (code, signal) => done(code ?? signal ?? "unknown"));
      this.#child.on("error", (e) => done(`not started: ${e.message}`)); // e.g. the binary is missing
    });
    if (input) this.#child.stdin!.end(input);
    else this.#child.stdin!.end();
  }

  static run(runtime: Runtime, file: string, args: string[], input?: Uint8Array): Child {
    const [bin, argv] = command(runtime, file, args);
    return new Child(`${file} ${args[0] ?? ""} (${runtime})`, bin, argv, input);
  }

  get stdoutBytes(): Uint8Array {
    const out = new Uint8Array(this.#stdout.reduce((n, c) => n + c.length, 0));
    let off = 0;
    for (const c of this.#stdout) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }

  get stdout(): string {
    return new TextDecoder().decode(this.stdoutBytes);
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** Its output, for failure messages. */
  get log(): string {
    return `--- ${this.name} stdout:\n${this.stdout.slice(-4000)}\n--- stderr:\n${this.stderr.slice(-4000)}`;
  }

  /** Wait until stdout matches `re` (or the process ends first: then fail with its output). */
  async waitFor(re: RegExp): Promise<RegExpMatchArray> {
    let ended = false;
    this.exit.then(() => (ended = true));
    for (;;) {
      const m = re.exec(this.stdout);
      if (m) return m;
      if (ended) throw new Error(`${this.name} ended without printing ${re}\n${this.log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Wait for the process to end, and expect exit status 0; a failure shows its output and that of `beside`. */
  async succeeds(...beside: Child[]): Promise<void> {
    const code = await this.exit;
    const logs = [this, ...beside].map((c) => c.log).join("\n");
    assert.equal(code, 0, `${this.name} exited with ${code}\n${logs}`);
  }

  kill(): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill("SIGKILL");
  }
}

/** Run `fn` with a fresh temporary directory and a list to register processes in; clean both up after. */
async function withScratch(fn: (dir: string, started: Child[]) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "airlock-examples-"));
  const started: Child[] = [];
  try {
    await fn(dir, started);
  } finally {
    for (const child of started) child.kill();
    await Promise.all(started.map((c) => c.exit));
    rmSync(dir, { recursive: true, force: true });
  }
}

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let off = 0; off < n; off += 65536) crypto.getRandomValues(out.subarray(off, off + 65536));
  return out;
}

/** Why a case for `runtime` does not run here, or undefined when it does. */
function notHere(runtime: Runtime, what: string): string | undefined {
  return HOST === runtime ? undefined : `${what} runs under ${runtime} only (this is ${HOST})`;
}

function skipNote(name: string, reason: string | undefined): void {
  if (reason) console.log(`ignored: ${name}: ${reason}`);
}

// ---- QUIC ---------------------------------------------------------------------------------------------

for (const suite of ["TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256"]) {
  Deno.test(`examples/quic_packets.ts: CRYPTO data in protected packets at each level, then 1-RTT both ways (${suite})`, async () => {
    const child = Child.run(HOST, "examples/quic_packets.ts", [suite]);
    await child.succeeds();
    const out = child.stdout;
    for (const side of ["client", "server"]) {
      assert.match(
        out,
        new RegExp(
          `^${side}: handshake done: TLSv1\\.3 ${suite} \\S+ alpn=h3 1-RTT keys read=true write=true$`,
          "m",
        ),
      );
    }
    for (const [from, to] of [["client", "server"], ["server", "client"]]) {
      for (const level of ["Initial", "Handshake", "1-RTT"]) {
        assert.match(
          out,
          new RegExp(`^${from} -> ${to}  ${level} +pn=0 `, "m"),
          `${from} sent no ${level} packet\n${out}`,
        );
      }
    }
    assert.match(
      out,
      /^server: TLS wrote ServerHello, EncryptedExtensions, Certificate, CertificateVerify, Finished$/m,
    );
    assert.match(out, /^server: received "ping" on stream 0$/m);
    assert.match(out, /^client: received "pong" on stream 0$/m);
    assert.match(out, /^server: dropped a packet with one bit flipped: .*does not authenticate$/m);
  });
}

// ---- echo servers on Deno and Bun -----------------------------------------------------------------------

for (const runtime of ["deno", "bun"] as const) {
  const name =
    `examples/${runtime}/echo_server.ts and echo_client.ts: two clients at once, each echoed byte for byte`;
  const ignore = notHere(runtime, `examples/${runtime}/`);
  skipNote(name, ignore);
  Deno.test({ name, ignore: ignore !== undefined }, () =>
    withScratch(async (dir, started) => {
      const cert = join(dir, "cert.pem");
      const server = Child.run(runtime, `examples/${runtime}/echo_server.ts`, ["0", cert]);
      started.push(server);
      const port = (await server.waitFor(/^listening on 127\.0\.0\.1:(\d+)$/m))[1]!;
      const big = randomBytes(100_000), small = new TextEncoder().encode("hello\n");
      const clients = [big, small].map((input) =>
        Child.run(runtime, `examples/${runtime}/echo_client.ts`, [port, cert], input)
      );
      started.push(...clients);
      for (const client of clients) await client.succeeds(server); // the server's side too, if it fails
      assert.deepEqual(clients[0]!.stdoutBytes, big, "the 100,000 bytes came back as sent");
      assert.equal(clients[1]!.stdout, "hello\n");
      for (const client of clients) {
        assert.match(
          client.stderr,
          /^client: TLSv1\.3 TLS_AES_128_GCM_SHA256 \S+, server verified as localhost$/m,
        );
        assert.match(client.stderr, /^client: closed with close_notify both ways$/m);
      }
      await server.waitFor(/(: closed with close_notify both ways\n[^]*){2}/); // one line per client
      assert.equal(
        server.stdout.match(/: TLSv1\.3 TLS_AES_128_GCM_SHA256 \S+ sni=localhost$/gm)?.length,
        2,
        server.log,
      );
    }));
}

// ---- serial link ----------------------------------------------------------------------------------------

const hasSocat = !spawnSync("socat", ["-V"]).error;
const inCi = process.env.CI === "true";
{
  const name = "examples/serial_link.ts: TLS over a socat pty pair, a Deno server and a Node client";
  const ignore = notHere("deno", "the serial link (a Deno server, a Node client)") ??
    (hasSocat || inCi
      ? undefined
      : "socat is not installed (apt-get install socat); under CI=true this fails");
  skipNote(name, ignore);
  Deno.test({ name, ignore: ignore !== undefined }, () =>
    withScratch(async (dir, started) => {
      assert.ok(hasSocat, "socat is not installed: .ci/run installs it (apt-get install socat)");
      const [a, b, cert] = [join(dir, "ttyA"), join(dir, "ttyB"), join(dir, "cert.pem")];
      const socat = new Child("socat", "socat", [
        "-d",
        "-d",
        `pty,raw,echo=0,link=${a}`,
        `pty,raw,echo=0,link=${b}`,
      ]);
      started.push(socat);
      for (let i = 0; !(existsSync(a) && existsSync(b)); i++) {
        if (i > 100) throw new Error(`socat made no pty pair\n${socat.log}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const server = Child.run("deno", "examples/serial_link.ts", ["server", a, cert]);
      started.push(server);
      await server.waitFor(/^server: waiting on /m);
      // 20,000 bytes: two records, which the pty hands over in pieces of its own choosing.
      const message = "A line with no framing and no end. ".repeat(572).slice(0, 20_000);
      const client = Child.run("node", "examples/serial_link.ts", ["client", b, cert, message]);
      started.push(client);
      await Promise.all([server.succeeds(), client.succeeds()]);
      assert.match(server.stdout, /^server: TLSv1\.3 TLS_AES_128_GCM_SHA256 \S+$/m);
      assert.match(
        server.stdout,
        /^server: received 20000 bytes: "A line with no framing and no end. A lin…"$/m,
      );
      assert.match(
        client.stdout,
        /^client: TLSv1\.3 TLS_AES_128_GCM_SHA256 \S+, server verified as serial\.example$/m,
      );
      assert.match(client.stdout, /^client: received "20000 bytes received"$/m);
      for (const side of [server, client]) {
        assert.match(side.stdout, /: closed with close_notify both ways$/m);
      }
    }));
}
