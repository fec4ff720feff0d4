/**
 * The CLI end to end: real processes of `airlock server` and `airlock client` on 127.0.0.1 (run with the
 * same runtime as the tests), `airlock verify`, the key log file, and one-line errors with their exit codes.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { generateChain, generateTestCertificate, type TestChain } from "../testing/pki.ts";
import { loadPrivateKey, pemEncode } from "../mod.ts";
import { runtimeCommand } from "../testing/peers.ts";
import { readPassphrase, versionOptions } from "./_common.ts";
import { CLIENT_FLAGS } from "./client.ts";
import { SERVER_FLAGS } from "./server.ts";
import { VERIFY_FLAGS } from "./verify.ts";
import { VERSION } from "./main.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** How to run cli/airlock.ts with the runtime running these tests. */
function cliCommand(): [string, string[]] {
  return runtimeCommand(join(ROOT, "cli", "airlock.ts"));
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Proc {
  readonly done: Promise<Run>;
  readonly stdout: () => string;
  write(text: string): void;
  end(): void;
  kill(): void;
}

function start(args: string[], timeoutMs = 30_000, env: Record<string, string> = {}): Proc {
  const [bin, pre] = cliCommand();
  const child = spawn(bin, [...pre, ...args], {
    cwd: ROOT,
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let stdout = "", stderr = "";
  child.stdin.on("error", () => {}); // EPIPE: the process ended before it read all its input
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const done = new Promise<Run>((resolve) =>
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    })
  );
  return {
    done,
    stdout: () => stdout,
    write: (t) => child.stdin.write(t),
    end: () => child.stdin.end(),
    kill: () => child.kill("SIGKILL"),
  };
}

async function run(args: string[], input = ""): Promise<Run> {
  return await runWithEnv(args, input, {});
}

async function runWithEnv(args: string[], input: string, env: Record<string, string>): Promise<Run> {
  const p = start(args, 30_000, env);
  p.write(input);
  p.end();
  return await p.done;
}

async function listening(p: Proc): Promise<number> {
  for (let i = 0; i < 300; i++) {
    const m = /^ACCEPT [^\s]+:(\d+)$/m.exec(p.stdout());
    if (m) return Number(m[1]);
    await new Promise((r) => setTimeout(r, 50));
  }
  p.kill();
  throw new Error(`server did not print ACCEPT: ${JSON.stringify(await p.done)}`);
}

/** `airlock server --echo` for `connections` connections, with the pki() files' server certificate; its port. */
async function echoOnce(
  f: Files,
  connections = 1,
  ...extra: string[]
): Promise<{ server: Proc; port: number }> {
  const server = start([
    ...serverArgs(f),
    "--echo",
    "--naccept",
    String(connections),
    ...extra,
  ]);
  return { server, port: await listening(server) };
}

/** `airlock server` on any free port with the pki() files' server certificate and `key` among the files. */
function serverArgs(f: Files, key = "server-key.pem"): string[] {
  return ["server", "--accept", "0", "--cert", f.path("server.pem"), "--key", f.path(key)];
}

/** `airlock client` arguments for 127.0.0.1:`port` as localhost, verifying against `root` among the files. */
function clientArgs(f: Files, port: number, root = "root.pem"): string[] {
  return ["client", "--connect", `127.0.0.1:${port}`, "--servername", "localhost", "--cafile", f.path(root)];
}

/** clientArgs() with the pki() files' client certificate and key (mTLS). */
function mtlsClientArgs(f: Files, port: number): string[] {
  return [...clientArgs(f, port), "--cert", f.path("client.pem"), "--key", f.path("client-key.pem")];
}

/** `airlock client` to 127.0.0.1:`port` as localhost, verifying against the pki() files' root; `input` on stdin. */
function verifiedClient(
  f: Files,
  port: number,
  input: string,
  env: Record<string, string> = {},
): Promise<Run> {
  return runWithEnv(clientArgs(f, port), input, env);
}

interface Files {
  dir: string;
  path: (name: string) => string;
}

function files(entries: Record<string, string>): Files {
  const dir = mkdtempSync(join(tmpdir(), "airlock-cli-"));
  for (const [name, text] of Object.entries(entries)) writeFileSync(join(dir, name), text);
  return { dir, path: (n) => join(dir, n) };
}

async function pki(): Promise<{ server: TestChain; client: TestChain; f: Files }> {
  const server = await generateChain({ intermediate: true, dnsNames: ["localhost"] });
  const client = await generateChain({ dnsNames: ["client.test"], eku: ["clientAuth"] });
  const f = files({
    "server.pem": server.chainPem,
    "server-key.pem": server.keyPem,
    "root.pem": server.rootPem,
    "client.pem": client.chainPem,
    "client-key.pem": client.keyPem,
    "client-root.pem": client.rootPem,
  });
  return { server, client, f };
}

Deno.test("airlock client ↔ airlock server --echo: verified, echoed, closed cleanly, key log written", async () => {
  const { f } = await pki();
  try {
    const { server, port } = await echoOnce(f, 1, "--alpn", "h2,http/1.1");
    const c = await run([
      ...clientArgs(f, port),
      "--alpn",
      "http/1.1",
      "--keylogfile",
      f.path("keys.log"),
    ], "ping over the CLI\n");
    assert.equal(c.code, 0, c.stderr);
    assert.equal(c.stdout, "ping over the CLI\n");
    assert.match(c.stderr, /^Protocol: TLSv1\.3$/m);
    assert.match(c.stderr, /^ALPN: http\/1\.1$/m);
    assert.match(c.stderr, /^Peer certificate: CN=airlock test leaf$/m);
    assert.match(c.stderr, /^Verification: OK/m);
    const s = await server.done;
    assert.equal(s.code, 0, s.stderr);
    assert.match(
      s.stderr,
      /\[1\] 127\.0\.0\.1:\d+: TLSv1\.3 TLS_AES_128_GCM_SHA256 \S+ alpn=http\/1\.1 sni=localhost/,
    );
    const keylog = readFileSync(f.path("keys.log"), "utf8").trim().split("\n");
    assert.equal(keylog.length, 5);
    assert.ok(keylog.every((l) => /^[A-Z_0]+ [0-9a-f]{64} [0-9a-f]{64}$/.test(l)));
  } finally {
    rmSync(f.dir, { recursive: true, force: true });
  }
});

Deno.test("airlock server --www --verify-client answers GET with the connection's parameters (mTLS)", async () => {
  const { f } = await pki();
  try {
    const server = start([
      "server",
      "--accept",
      "0",
      "--cert",
      f.path("server.pem"),
      "--key",
      f.path("server-key.pem"),
      "--www",
      "--naccept",
      "1",
      "--cafile",
      f.path("client-root.pem"),
      "--verify-client",
      "--groups",
      "P-384",
    ]);
    const port = await listening(server);
    const c = await run(mtlsClientArgs(f, port), "GET / HTTP/1.0\r\n\r\n");
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /^HTTP\/1\.0 200 OK\r$/m);
    assert.match(c.stdout, /Group: +secp384r1 \(after HelloRetryRequest\)/);
    assert.match(c.stdout, /Client cert: +CN=airlock test leaf/);
    assert.equal((await server.done).code, 0);
  } finally {
    rmSync(f.dir, { recursive: true, force: true });
  }
});

Deno.test("airlock client --tls1.2 ↔ airlock server --www --cipher: TLS 1.2 with the chosen cipher, LF-only request", async () => {
  const { f } = await pki();
  try {
    const server = start([
      "server",
      "--accept",
      "0",
      "--cert",
      f.path("server.pem"),
      "--key",
      f.path("server-key.pem"),
      "--www",
      "--naccept",
      "1",
      "--cipher",
      "ECDHE-ECDSA-CHACHA20-POLY1305",
    ]);
    const port = await listening(server);
    const c = await run([
      ...clientArgs(f, port),
      "--tls1.2",
    ], "GET / HTTP/1.0\n\n"); // bare LF line ends, as tlsfuzzer sends them

    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stderr, /^Protocol: TLSv1\.2$/m);
    assert.match(c.stderr, /^Cipher suite: TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256$/m);
    assert.match(c.stdout, /Protocol: +TLSv1\.2/);
    assert.equal((await server.done).code, 0);
  } finally {
    rmSync(f.dir, { recursive: true, force: true });
  }
});

Deno.test("airlock client against a server whose chain does not verify exits 1 with the reason", async () => {
  const { f } = await pki();
  const other = await generateChain();
  writeFileSync(f.path("other-root.pem"), other.rootPem);
  try {
    const { server, port } = await echoOnce(f);
    const c = await run(clientArgs(f, port, "other-root.pem"));
    assert.equal(c.code, 1);
    assert.match(
      c.stderr,
      /^airlock: handshake with 127\.0\.0\.1:\d+ failed: .*\[certificate\.unknown_issuer\]$/m,
    );
    const s = await server.done;
    assert.match(s.stderr, /failed: .*\[alert_received\.unknown_ca\]/);
  } finally {
    rmSync(f.dir, { recursive: true, force: true });
  }
});

Deno.test("airlock client whose certificate the server refuses reports the server's alert, not EPIPE", async () => {
  // The client sends stdin right after its Finished, while the server is refusing its certificate. A server
  // that closed at once, with those bytes unread, sent a reset: the client's next write failed with EPIPE
  // and its socket closed with the alert unread (9 times in 10 on Node, every time on Deno and Bun).
  const { f } = await pki();
  const input = "x".repeat(1 << 20);
  try {
    const server = start([
      ...serverArgs(f),
      "--echo",
      "--naccept",
      "3",
      "--cafile",
      f.path("root.pem"),
      "--verify-client",
    ]);
    const port = await listening(server);
    for (let i = 0; i < 3; i++) {
      const c = await run(mtlsClientArgs(f, port), input);
      assert.equal(c.code, 1, c.stderr);
      assert.match(
        c.stderr,
        /^airlock: connection to 127\.0\.0\.1:\d+ failed: .*\[alert_received\.unknown_ca\]$/m,
      );
    }
    const s = await server.done;
    assert.equal(s.stderr.match(/failed: .*\[certificate\.unknown_issuer\]$/gm)?.length, 3, s.stderr);
  } finally {
    rmSync(f.dir, { recursive: true, force: true });
  }
});

Deno.test("airlock verify says OK or why not, with exit codes 0 and 2", async () => {
  const { server, f } = await pki();
  writeFileSync(f.path("leaf.pem"), server.chainPem.split(/(?<=-----END CERTIFICATE-----\n)/)[0]!);
  writeFileSync(f.path("inter.pem"), server.chainPem.split(/(?<=-----END CERTIFICATE-----\n)/)[1]!);
  try {
    const ok = await run([
      "verify",
      "--cafile",
      f.path("root.pem"),
      "--untrusted",
      f.path("inter.pem"),
      "--servername",
      "localhost",
      f.path("leaf.pem"),
    ]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /leaf\.pem: OK/);
    const missing = await run(["verify", "--cafile", f.path("root.pem"), f.path("leaf.pem")]);
    assert.equal(missing.code, 2);
    assert.match(missing.stdout, /verification failed: unknown_issuer: /);
    const late = await run([
      "verify",
      "--cafile",
      f.path("root.pem"),
      "--untrusted",
      f.path("inter.pem"),
      "--attime",
      "2208988800",
      f.path("leaf.pem"),
    ]);
    assert.equal(late.code, 2);
    assert.match(late.stdout, /verification failed: expired: /);
    const name = await run([
      "verify",
      "--cafile",
      f.path("root.pem"),
      "--untrusted",
      f.path("inter.pem"),
      "--servername",
      "other.test",
      f.path("leaf.pem"),
    ]);
    assert.equal(name.code, 2);
    assert.match(name.stdout, /verification failed: name_mismatch: /);
  } finally {
    rmSync(f.dir, { recursive: true, force: true });
  }
});

Deno.test("the CLI reports bad flags, unreadable files and refused connections on one line", async () => {
  const unknown = await run(["client", "--bogus"]);
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stderr, "airlock client: unknown flag --bogus\n");
  const noFile = await run(["client", "--connect", "127.0.0.1:1", "--cafile", "/nonexistent/ca.pem"]);
  assert.equal(noFile.code, 2);
  assert.equal(noFile.stderr, "airlock client: cannot read CA file /nonexistent/ca.pem: ENOENT\n");
  const both = await run(["client", "--connect", "127.0.0.1:1", "--insecure", "--tls1.2", "--tls1.3"]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--tls1\.2 and --tls1\.3 exclude each other/);
  const cipher = await run(["client", "--connect", "127.0.0.1:1", "--insecure", "--cipher", "RC4-SHA"]);
  assert.equal(cipher.code, 2);
  assert.match(cipher.stderr, /unsupported TLS 1\.2 cipher RC4-SHA/);
  const both2 = await run([
    "client",
    "--connect",
    "127.0.0.1:1",
    "--insecure",
    "--cafile",
    "/nonexistent/ca.pem",
  ]);
  assert.equal(both2.code, 2);
  assert.equal(both2.stderr, "airlock client: --insecure and --cafile exclude each other\n");
  // A port nothing listens on: refused.
  const refused = await run(["client", "--connect", "127.0.0.1:1", "--insecure"]);
  assert.equal(refused.code, 1);
  assert.equal(refused.stderr, "airlock: cannot connect to 127.0.0.1:1: ECONNREFUSED\n");
  const cmd = await run(["frobnicate"]);
  assert.equal(cmd.code, 2);
  assert.match(cmd.stderr, /unknown command "frobnicate"/);
});

Deno.test("airlock client --session saves a session and resumes with it on the next run", async () => {
  const { f } = await pki();
  try {
    const { server, port } = await echoOnce(f, 2);
    const args = [
      ...clientArgs(f, port),
      "--session",
      f.path("session.bin"),
    ];
    const first = await run(args, "one\n");
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /^Resumed: no$/m);
    const second = await run(args, "two\n");
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout, "two\n");
    assert.match(second.stderr, /^Resumed: yes$/m);
    const s = await server.done;
    assert.match(s.stderr, /\[2\] .* resumed=yes/);
  } finally {
    rmSync(f.dir, { recursive: true, force: true });
  }
});

Deno.test("--require-ems sets requireExtendedMasterSecret, with either version flag or none", () => {
  assert.deepEqual(versionOptions(new Set()), {});
  assert.deepEqual(versionOptions(new Set(["require-ems"])), { requireExtendedMasterSecret: true });
  assert.deepEqual(versionOptions(new Set(["require-ems", "tls1.2"])), {
    minVersion: "TLSv1.2",
    maxVersion: "TLSv1.2",
    requireExtendedMasterSecret: true,
  });
  assert.ok("require-ems" in SERVER_FLAGS && "require-ems" in CLIENT_FLAGS);
});

Deno.test("airlock --version prints the version package.json and deno.json carry", async () => {
  const r = await run(["--version"]);
  assert.equal(r.code, 0);
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;
  const deno = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8")).version;
  assert.equal(pkg, VERSION);
  assert.equal(deno, VERSION);
  assert.equal(r.stdout, `airlock ${VERSION}\n`);
});

Deno.test("airlock --help names every command and how to list its flags; COMMAND --help lists every flag", async () => {
  const r = await run(["--help"]);
  assert.equal(r.code, 0);
  for (const command of ["client", "server", "verify"]) {
    assert.match(r.stdout, new RegExp(`airlock ${command} `));
  }
  assert.match(r.stdout, /airlock COMMAND --help/);
  const flags = { client: CLIENT_FLAGS, server: SERVER_FLAGS, verify: VERIFY_FLAGS };
  for (const [command, specs] of Object.entries(flags)) {
    const h = await run([command, "--help"]);
    assert.equal(h.code, 0);
    const missing = Object.keys(specs).filter((flag) => !h.stdout.includes(`--${flag} `));
    assert.deepEqual(missing, [], `airlock ${command} --help`);
  }
});

Deno.test("airlock client without --cafile verifies against the system trust store: a private CA is unknown_ca", async () => {
  const { f } = await pki();
  try {
    const { server, port } = await echoOnce(f);
    const c = await run(["client", "--connect", `127.0.0.1:${port}`, "--servername", "localhost"], "hi\n");
    assert.equal(c.code, 1, c.stderr);
    assert.match(c.stderr, /handshake with 127\.0\.0\.1:\d+ failed: .*(unknown_ca|issuer)/i);
    await server.done;
  } finally {
    rmSync(f.dir, { recursive: true, force: true });
  }
});

Deno.test("airlock server with a key that is not its certificate's exits 2 before listening; SSLKEYLOGFILE is honoured", async () => {
  const { f, client } = await pki();
  try {
    writeFileSync(f.path("other-key.pem"), client.keyPem);
    const bad = await run([...serverArgs(f, "other-key.pem"), "--echo"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /the private key \(ec-p256\) is not the leaf certificate's/);
    assert.doesNotMatch(bad.stdout, /ACCEPT/);
    // SSLKEYLOGFILE, as curl and browsers read it, when --keylogfile is not given.
    const log = f.path("keys.log");
    const { server, port } = await echoOnce(f);
    const c = await verifiedClient(f, port, "hello\n", { SSLKEYLOGFILE: log });
    assert.equal(c.code, 0, c.stderr);
    await server.done;
    assert.match(readFileSync(log, "utf8"), /^CLIENT_HANDSHAKE_TRAFFIC_SECRET [0-9a-f]{64} [0-9a-f]{64}$/m);
  } finally {
    rmSync(f.dir, { recursive: true, force: true });
  }
});

Deno.test("airlock server --key with an encrypted key: --pass env:VAR decrypts it; without it, exit 2 saying so", async () => {
  const { f } = await pki();
  try {
    // What `openssl genpkey -aes256` writes: PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC.
    const enc = spawnSync("openssl", [
      "pkcs8",
      "-topk8",
      "-in",
      f.path("server-key.pem"),
      "-v2",
      "aes-256-cbc",
      "-passout",
      "pass:s3cret",
      "-out",
      f.path("server-key-enc.pem"),
    ]);
    assert.equal(enc.status, 0, String(enc.stderr));
    const args = serverArgs(f, "server-key-enc.pem");
    const noPass = await run([...args, "--echo"]);
    assert.equal(noPass.code, 2);
    assert.match(
      noPass.stderr,
      /it is encrypted \(PKCS#8 ENCRYPTED PRIVATE KEY\); pass its passphrase \(--pass\)/,
    );
    const wrong = await run([...args, "--echo", "--pass", "pass:nope"]);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /wrong passphrase/);
    const server = start([...args, "--echo", "--naccept", "1", "--pass", "env:AIRLOCK_TEST_PASS"], 30_000, {
      AIRLOCK_TEST_PASS: "s3cret",
    });
    const port = await listening(server);
    const c = await verifiedClient(f, port, "hello\n");
    assert.equal(c.code, 0, c.stderr);
    assert.equal(c.stdout, "hello\n");
    assert.equal((await server.done).code, 0);
  } finally {
    rmSync(f.dir, { recursive: true, force: true });
  }
});

Deno.test("--pass takes openssl's -passin forms: pass:, env:, file: (its first line)", () => {
  const f = files({ "pw.txt": "from-file\nsecond line\n" });
  try {
    assert.equal(readPassphrase(undefined), undefined);
    assert.equal(readPassphrase("pass:a:b"), "a:b");
    assert.equal(readPassphrase(`file:${f.path("pw.txt")}`), "from-file");
    process.env.AIRLOCK_TEST_PASS_UNIT = "from-env";
    assert.equal(readPassphrase("env:AIRLOCK_TEST_PASS_UNIT"), "from-env");
    assert.throws(() => readPassphrase("env:AIRLOCK_TEST_PASS_UNSET"), /the variable is not set/);
    assert.throws(() => readPassphrase("s3cret"), /--pass expects pass:TEXT, env:VAR or file:PATH/);
  } finally {
    delete process.env.AIRLOCK_TEST_PASS_UNIT;
    rmSync(f.dir, { recursive: true, force: true });
  }
});

Deno.test("airlock client --trace prints each handshake message, ChangeCipherSpec and alert as it goes out or in", async () => {
  const { f } = await pki();
  try {
    const { server, port } = await echoOnce(f);
    const c = await run([...clientArgs(f, port), "--tls1.2", "--trace"], "x\n");
    assert.equal(c.code, 0, c.stderr);
    const trace = c.stderr.split("\n").filter((l) => /^(>>>|<<<) /.test(l));
    assert.deepEqual(trace.slice(0, 4), [
      ">>> Handshake ClientHello (" + trace[0]!.match(/\((\d+) bytes\)/)![1] + " bytes)",
      trace[1],
      trace[2],
      trace[3],
    ]);
    assert.match(trace[1]!, /^<<< Handshake ServerHello \(\d+ bytes\)$/);
    assert.ok(trace.includes(">>> ChangeCipherSpec (1 bytes)"), trace.join("\n"));
    assert.ok(trace.some((l) => /^<<< Handshake Finished \(12 bytes\)$/.test(l)), trace.join("\n"));
    assert.ok(trace.includes(">>> Alert warning close_notify"), trace.join("\n"));
    assert.ok(trace.includes("<<< Alert warning close_notify"), trace.join("\n"));
    await server.done;
  } finally {
    rmSync(f.dir, { recursive: true, force: true });
  }
});

Deno.test("airlock server --psk ↔ airlock client --psk: no certificates, the identity reported on both sides", async () => {
  const hex = "000102030405060708090a0b0c0d0e0f";
  for (const mode of ["dhe_ke", "ke"]) {
    const psk = ["--psk", hex, "--psk-identity", "cli-id", "--psk-mode", mode];
    const server = start(["server", "--accept", "0", "--echo", "--naccept", "1", ...psk]);
    const port = await listening(server);
    const c = await run(["client", "--connect", `127.0.0.1:${port}`, ...psk], "psk line\n");
    assert.equal(c.code, 0, c.stderr);
    assert.equal(c.stdout, "psk line\n");
    assert.match(c.stderr, new RegExp(`^External PSK: identity "cli-id" \\(psk_${mode}\\)$`, "m"));
    assert.match(c.stderr, /^Signature scheme: \(none: external PSK\)$/m);
    assert.match(c.stderr, /^Peer certificate: \(none\)$/m);
    assert.match(c.stderr, /^Verification: OK \(external PSK identity "cli-id"/m);
    if (mode === "ke") assert.match(c.stderr, /^Group: none$/m);
    const s = await server.done;
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stderr, new RegExp(`psk=identity "cli-id" \\(psk_${mode}\\)`));
  }
});

Deno.test("airlock client --psk with the wrong key fails with the server's decrypt_error; PSK flags are checked", async () => {
  const server = start(["server", "--accept", "0", "--echo", "--naccept", "1", "--psk", "aa".repeat(16)]);
  const port = await listening(server);
  const c = await run(["client", "--connect", `127.0.0.1:${port}`, "--psk", "bb".repeat(16)]);
  assert.equal(c.code, 1);
  assert.match(c.stderr, /decrypt_error/);
  assert.equal((await server.done).code, 1);
  const stray = await run(["client", "--connect", "127.0.0.1:1", "--psk-identity", "x"]);
  assert.equal(stray.code, 2);
  assert.equal(stray.stderr, "airlock client: --psk-identity needs --psk\n");
  const odd = await run(["client", "--connect", "127.0.0.1:1", "--psk", "abc"]);
  assert.equal(odd.code, 2);
  assert.match(odd.stderr, /--psk expects an even number of hex digits/);
  const short = await run(["client", "--connect", "127.0.0.1:1", "--psk", "aabb"]);
  assert.equal(short.code, 2);
  assert.match(short.stderr, /the key has 2 bytes, expected 16\.\.512/);
  const mode = await run(["server", "--accept", "0", "--echo", "--psk", "aa".repeat(16), "--psk-mode", "x"]);
  assert.equal(mode.code, 2);
  assert.match(mode.stderr, /--psk-mode expects dhe_ke, ke or both/);
  const v12 = await run(["server", "--accept", "0", "--echo", "--psk", "aa".repeat(16), "--tls1.2"]);
  assert.equal(v12.code, 2);
  assert.match(v12.stderr, /external PSKs need TLS 1\.3/);
  const none = await run(["server", "--accept", "0", "--echo"]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /--cert PEM --key PEM \(or --psk HEX, or --rawpk --key PEM\) is required/);
});

/** Raw key files: the server's ed25519 and the client's P-256 private keys, and their PUBLIC KEY files. */
async function rawKeyFiles(): Promise<Files> {
  const pub = async (pem: string) => pemEncode((await loadPrivateKey(pem)).publicKey.spki, "PUBLIC KEY");
  const server = await generateTestCertificate("ed25519", "server.rawpk.cli");
  const client = await generateTestCertificate("ecdsa-p256", "client.rawpk.cli");
  const other = await generateTestCertificate("ed25519", "other.rawpk.cli");
  return files({
    "server-key.pem": server.keyPem,
    "server.pub": await pub(server.keyPem),
    "client-key.pem": client.keyPem,
    "client.pub": await pub(client.keyPem),
    "other.pub": await pub(other.keyPem),
  });
}

/** `airlock server --rawpk --echo` for one connection with the rawKeyFiles() server key, and `extra` flags. */
function rawServer(f: Files, ...extra: string[]): Proc {
  const args = ["server", "--accept", "0", "--rawpk", "--key", f.path("server-key.pem"), "--echo"];
  return start([...args, "--naccept", "1", ...extra]);
}

Deno.test("airlock client --rawpk --pin-key ↔ airlock server --rawpk --pin-key --verify-client: raw keys both ways", async () => {
  const f = await rawKeyFiles();
  try {
    const server = rawServer(f, "--pin-key", f.path("client.pub"), "--verify-client");
    const port = await listening(server);
    const c = await run([
      "client",
      "--connect",
      `127.0.0.1:${port}`,
      "--rawpk",
      "--pin-key",
      f.path("server.pub"),
      "--key",
      f.path("client-key.pem"),
    ], "ping over raw keys\n");
    assert.equal(c.code, 0, c.stderr);
    assert.equal(c.stdout, "ping over raw keys\n");
    assert.match(c.stderr, /^Protocol: TLSv1\.3$/m);
    assert.match(c.stderr, /^Peer certificate: raw public key ed25519 sha256:[0-9a-f]{64}$/m);
    assert.match(c.stderr, /^Verification: OK \(raw public key pinned by --pin-key\)$/m);
    const s = await server.done;
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stderr, /client-cert=raw public key ec-p256 sha256:[0-9a-f]{64}/);
  } finally {
    rmSync(f.dir, { recursive: true, force: true });
  }
});

Deno.test("airlock client --rawpk: a key not pinned exits 1 with the reason; --rawpk misuse exits 2", async () => {
  const f = await rawKeyFiles();
  try {
    const server = rawServer(f);
    const port = await listening(server);
    const connect = ["client", "--connect", `127.0.0.1:${port}`, "--rawpk"];
    const c = await run([...connect, "--pin-key", f.path("other.pub")]);
    assert.equal(c.code, 1, c.stderr);
    assert.match(c.stderr, /\[certificate\.raw_key_not_trusted\]/);
    await server.done;
    for (
      const [args, message] of [
        [connect, /--rawpk and --pin-key go together/],
        [[...connect, "--pin-key", f.path("other.pub"), "--tls1.2"], /--rawpk is TLS 1\.3 only/],
        [[...connect, "--pin-key", f.path("server-key.pem")], /no PUBLIC KEY block/],
        [
          ["server", "--accept", "0", "--rawpk", "--echo"],
          /--cert PEM --key PEM \(or --psk HEX, or --rawpk --key PEM\) is required/,
        ],
      ] as const
    ) {
      const r = await run([...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
    }
  } finally {
    rmSync(f.dir, { recursive: true, force: true });
  }
});

Deno.test("airlock client and server --compress-cert: the chains go compressed both ways, or plain with none", async () => {
  const { f } = await pki();
  try {
    // mTLS: the server compresses its Certificate, and its CertificateRequest lets the client compress its own.
    const { server, port } = await echoOnce(
      f,
      3,
      "--cafile",
      f.path("client-root.pem"),
      "--verify-client",
      "--compress-cert",
      "all",
      "--trace",
    );
    const c = await run(
      [...mtlsClientArgs(f, port), "--tls1.3", "--compress-cert", "zlib", "--trace"],
      "x\n",
    );
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stderr, /^<<< Handshake CompressedCertificate \(zlib, \d+ bytes\)$/m, c.stderr);
    assert.match(c.stderr, /^>>> Handshake CompressedCertificate \(zlib, \d+ bytes\)$/m, c.stderr);
    const plain = await run(
      [...mtlsClientArgs(f, port), "--tls1.3", "--compress-cert", "none", "--trace"],
      "x\n",
    );
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stderr, /^<<< Handshake Certificate \(\d+ bytes\)$/m);
    assert.doesNotMatch(plain.stderr, /CompressedCertificate/);
    // Without the flag the client offers none: compression is off by default, as in the library.
    const byDefault = await run([...mtlsClientArgs(f, port), "--tls1.3", "--trace"], "x\n");
    assert.equal(byDefault.code, 0, byDefault.stderr);
    assert.doesNotMatch(byDefault.stderr, /CompressedCertificate/);
    const s = await server.done;
    // With `all` the server has every algorithm; it picks the one the client offered, and takes it back.
    assert.match(s.stderr, /^\[1\] >>> Handshake CompressedCertificate \(zlib, \d+ bytes\)$/m);
    assert.match(s.stderr, /^\[1\] <<< Handshake CompressedCertificate \(zlib, \d+ bytes\)$/m);
    assert.match(s.stderr, /^\[2\] >>> Handshake Certificate \(\d+ bytes\)$/m);
    assert.match(s.stderr, /^\[3\] >>> Handshake Certificate \(\d+ bytes\)$/m);
    for (const bad of ["gzip", "zlib,lz4"]) {
      const u = await run([...clientArgs(f, port), "--compress-cert", bad]);
      assert.equal(u.code, 2);
      assert.match(u.stderr, /unsupported --compress-cert/);
    }
  } finally {
    rmSync(f.dir, { recursive: true, force: true });
  }
});

Deno.test("airlock ech-keygen → server --ech-key ↔ client --ech-config: accepted; a stale config prints the retry configs", async () => {
  const chain = await generateChain({ dnsNames: ["localhost", "public.test"] });
  const f = files({
    "server.pem": chain.chainPem,
    "server-key.pem": chain.keyPem,
    "root.pem": chain.rootPem,
  });
  try {
    const gen = (id: string, out: string) =>
      run(["ech-keygen", "--public-name", "public.test", "--config-id", id, "--out", f.path(out)]);
    const k1 = await gen("5", "ech1.pem"), k2 = await gen("6", "ech2.pem");
    assert.equal(k1.code, 0, k1.stderr);
    assert.equal(statSync(f.path("ech1.pem")).mode & 0o777, 0o600);
    assert.match(readFileSync(f.path("ech1.pem"), "utf8"), /-----BEGIN ECHCONFIG-----/);
    const list1 = k1.stdout.trim(), list2 = k2.stdout.trim();
    assert.match(list1, /^[A-Za-z0-9+/]+=*$/);
    const server = start([...serverArgs(f), "--echo", "--naccept", "2", "--ech-key", f.path("ech1.pem")]);
    const port = await listening(server);
    const ok = await run([...clientArgs(f, port), "--ech-config", list1], "hidden\n");
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, "hidden\n");
    assert.match(ok.stderr, /^ECH: accepted$/m);
    const stale = await run([...clientArgs(f, port), "--ech-config", list2]);
    assert.equal(stale.code, 1, stale.stderr);
    assert.match(stale.stderr, /ech_rejected/);
    assert.ok(stale.stderr.includes(`retry with --ech-config ${list1}\n`), stale.stderr);
    const s = await server.done;
    assert.match(s.stderr, /\[1\] [^\n]*sni=localhost[^\n]* ech=accepted/);
    assert.match(s.stderr, /\[2\] [^\n]*failed: [^\n]*ech_required/);
    // Usage errors.
    assert.equal((await run(["ech-keygen"])).code, 2);
    assert.equal((await run(["ech-keygen", "--public-name", "1.2.3.4"])).code, 2);
    assert.equal((await run(["client", "--connect", "127.0.0.1:1", "--ech-config", "%%"])).code, 2);
    assert.equal(
      (await run(["client", "--connect", "127.0.0.1:1", "--ech-config", "AAAA", "--insecure"])).code,
      2,
    );
  } finally {
    rmSync(f.dir, { recursive: true, force: true });
  }
});
