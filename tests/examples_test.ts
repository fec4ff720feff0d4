// Copyright 2026 the airlock authors. MIT license.

/**
 * The examples, run for real: each as its own process, its output asserted (the negotiated version and
 * suite, what came back), every process killed after {@linkcode PROCESS_TIMEOUT_MS}.
 *
 * The QUIC example is plain TypeScript and runs under the runtime running this file (`npm test` runs it on
 * Deno, Node and Bun), as that runtime's own binary.
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const PROCESS_TIMEOUT_MS = 30_000;

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

  /** Wait for the process to end, and expect exit status 0. */
  async succeeds(): Promise<void> {
    const code = await this.exit;
    assert.equal(code, 0, `${this.name} exited with ${code}\n${this.log}`);
  }

  kill(): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill("SIGKILL");
  }
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
