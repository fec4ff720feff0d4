// Copyright 2026 the airlock authors. MIT license.

// Runs tlsfuzzer (the TLS conformance suite OpenSSL, NSS and GnuTLS are tested with) against `airlock server`:
//
//   node tests/tlsfuzzer/run.mjs [LIST...]        (npm run tlsfuzzer -- rsa ecdsa)
//
// LIST is `rsa` (the curated list in ../shared/tools/tlsfuzzer/lists/rsa.txt) or the name of a list beside this
// file (ecdsa, ed25519, client-cert, client-cert-optional, record-size-limit, cert-compression,
// client-cert-compression); the default is all of them. Each
// list gets its own server, on its own free port on 127.0.0.1, started from dist/airlock.mjs (`npm run build`) with
// the arguments its first `# server:` line names; lists run one per two CPU cores at a time (TF_JOBS=N to choose). Certificates are made fresh with the openssl command
// in a temporary folder. Prints the runner's lines per list, then `N passed, N failed` over every script, and
// exits non-zero when any script failed.
//
// tlsfuzzer is GPL code: it is run from ../shared/tools/tlsfuzzer and never copied here. When that tree's
// scripts/ holds the entry-point stubs as plain files naming `_stub.py` (symlinks flattened by a copy), a
// temporary tree of symlinks is made whose scripts/ point at the real stub, and run-list.sh is run from there.
//
// Needs Debian's python3 with python3-ecdsa and the openssl command (.ci/run installs both). Without
// ../shared/tools/tlsfuzzer or python3-ecdsa it says so and exits 0 (`AIRLOCK_TLSFUZZER=required` makes that a
// failure; CI sets it).
//
// Plain JavaScript on purpose: Node 20 starts it without a loader.

import { spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import {
  CLIENT_EXT,
  freePort,
  makeCa,
  makeLeaf,
  P256,
  SERVER_EXT,
  startAirlockServer,
} from "../_runner/procs.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "..", "..");
const SHARED = resolve(ROOT, "..", "shared", "tools", "tlsfuzzer");
const PYTHON = process.env.TF_PY ?? "/usr/bin/python3";
const REQUIRED = process.env.AIRLOCK_TLSFUZZER === "required";
/** Upper bound on one list's run: run-list.sh bounds each script and the whole list itself; this is the backstop. */
const LIST_TIMEOUT_MS = 40 * 60 * 1000;

/** Every list this runner knows, in the order they run and print. */
const LISTS = [
  "rsa",
  "ecdsa",
  "ed25519",
  "client-cert",
  "client-cert-optional",
  "record-size-limit",
  "cert-compression",
  "client-cert-compression",
];

/**
 * Server arguments for the shared rsa list, the server its header describes: an RSA-2048 certificate, ALPN
 * http/1.1, groups X25519/P-256/P-384 (its test-tls13-no-unknown-groups line counts any other group, the
 * X25519MLKEM768 we offer by default among them, as unknown), answering GET like `s_server -www`.
 */
const RSA_SERVER =
  "--cert {certs}/server-rsa.pem --key {certs}/server-rsa.key --alpn http/1.1 --groups x25519,P-256,P-384 --www";

function skipOrFail(why) {
  console.log(`tlsfuzzer: ${why}`);
  if (REQUIRED) {
    console.log("0 passed, 1 failed");
    process.exit(1);
  }
  console.log("tlsfuzzer: not run (set AIRLOCK_TLSFUZZER=required to make this a failure)");
  console.log("0 passed, 0 failed");
  process.exit(0);
}

/** The tlsfuzzer tree to run from: the shared one, or a temporary tree of symlinks when its stubs were flattened. */
function tlsfuzzerTree(work) {
  const probe = join(SHARED, "upstream", "scripts", "test-tls13-conversation.py");
  const flattened = !lstatSync(probe).isSymbolicLink() && statSync(probe).size < 64 &&
    readFileSync(probe, "utf8").trim() === "_stub.py";
  if (!flattened) return SHARED;
  const tree = join(work, "tlsfuzzer");
  mkdirSync(join(tree, "upstream", "scripts"), { recursive: true });
  for (const name of ["run-list.sh", "tf_launch.py", "lists"]) {
    symlinkSync(join(SHARED, name), join(tree, name));
  }
  for (const name of readdirSync(join(SHARED, "upstream"))) {
    if (name !== "scripts") symlinkSync(join(SHARED, "upstream", name), join(tree, "upstream", name));
  }
  const scripts = join(SHARED, "upstream", "scripts");
  for (const name of readdirSync(scripts)) {
    const file = join(scripts, name);
    const text = statSync(file).size < 64 ? readFileSync(file, "utf8").trim() : "";
    // A flattened symlink holds its target's name; the stub finds the app from its own file name.
    symlinkSync(
      text && existsSync(join(scripts, text)) ? join(scripts, text) : file,
      join(tree, "upstream", "scripts", name),
    );
  }
  return tree;
}

/**
 * Two CAs, ca (ECDSA P-256) and ca-rsa (RSA-2048), and cas.pem holding both; servers with RSA-2048, ECDSA P-256
 * and Ed25519 keys, and RSA, ECDSA and Ed25519 client certificates. The RSA certificates (server-rsa, client) are
 * signed by ca-rsa: the RSA scripts offer only RSA schemes in signature_algorithms_cert, and a server that
 * honours it (as `openssl s_server` does) answers handshake_failure when its chain carries an ECDSA signature.
 */
function makeCertificates(dir) {
  makeCa(dir, "ca", P256, "airlock tlsfuzzer CA");
  makeCa(dir, "ca-rsa", ["rsa:2048"], "airlock tlsfuzzer RSA CA");
  writeFileSync(
    join(dir, "cas.pem"),
    readFileSync(join(dir, "ca.pem"), "utf8") + readFileSync(join(dir, "ca-rsa.pem"), "utf8"),
  );
  makeLeaf(dir, "server-rsa", ["rsa:2048"], "localhost", SERVER_EXT, "ca-rsa");
  makeLeaf(dir, "server-ecdsa", P256, "localhost", SERVER_EXT, "ca");
  makeLeaf(dir, "server-ed25519", ["ed25519"], "localhost", SERVER_EXT, "ca");
  makeLeaf(dir, "client", ["rsa:2048"], "client", CLIENT_EXT, "ca-rsa");
  makeLeaf(dir, "client-ecdsa", P256, "client", CLIENT_EXT, "ca");
  makeLeaf(dir, "client-ed25519", ["ed25519"], "client", CLIENT_EXT, "ca");
}

/** Where a list lives and the server it runs against (its `# server:` line, or RSA_SERVER for the shared list). */
function listSpec(name, tree) {
  if (name === "rsa") return { file: join(tree, "lists", "rsa.txt"), server: RSA_SERVER };
  const file = join(HERE, `${name}.txt`);
  if (!existsSync(file)) throw new Error(`unknown list "${name}" (have: ${LISTS.join(", ")})`);
  const server = readFileSync(file, "utf8").match(/^# server: (.*)$/m)?.[1];
  if (!server) throw new Error(`${file} has no "# server:" line`);
  return { file, server };
}

async function runList(name, tree, certs, logRoot) {
  const spec = listSpec(name, tree);
  const port = await freePort();
  const serverArgs = [
    "--accept",
    String(port),
    "--host",
    "127.0.0.1",
    ...spec.server.replaceAll("{certs}", certs).split(/\s+/).filter(Boolean),
  ];
  const serverLog = [];
  const server = await startAirlockServer(join(ROOT, "dist", "airlock.mjs"), serverArgs, serverLog);
  try {
    const logdir = join(logRoot, name);
    const result = await new Promise((done) => {
      const child = spawn("bash", [join(tree, "run-list.sh"), "127.0.0.1", String(port), spec.file], {
        // Wider time bounds than run-list.sh's own (180 s a script, 1,080 s a list): a slow machine should not
        // turn a passing script into a timeout (test-large-hello.py takes 100 s on two cores here).
        env: {
          TF_TIMEOUT: "360",
          TF_BUDGET: "2400",
          ...process.env,
          CERTS: certs,
          TF_PY: PYTHON,
          TF_LOGDIR: logdir,
          TF_VERBOSE: "1",
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stdout.setEncoding("utf8").on("data", (c) => out += c);
      child.stderr.setEncoding("utf8").on("data", (c) => out += c);
      const timer = setTimeout(() => child.kill("SIGKILL"), LIST_TIMEOUT_MS);
      child.on("close", (code) => {
        clearTimeout(timer);
        done({ code, out });
      });
    });
    const m = result.out.match(/^(\d+) passed, (\d+) failed$/m);
    const passed = m ? Number(m[1]) : 0, failed = m ? Number(m[2]) : 1;
    return { name, code: result.code, out: result.out, passed, failed, serverArgs, serverLog };
  } finally {
    server.kill("SIGTERM");
  }
}

async function main(names) {
  if (!existsSync(join(SHARED, "run-list.sh"))) skipOrFail(`no tlsfuzzer at ${SHARED}`);
  if (spawnSync(PYTHON, ["-c", "import ecdsa"]).status !== 0) {
    skipOrFail(`${PYTHON} lacks the ecdsa module (apt-get install python3-ecdsa)`);
  }
  if (!existsSync(join(ROOT, "dist", "airlock.mjs"))) {
    const b = spawnSync(process.execPath, [join(ROOT, "scripts", "build.mjs")], {
      cwd: ROOT,
      stdio: "inherit",
    });
    if (b.status !== 0) throw new Error("npm run build failed");
  }
  const work = mkdtempSync(join(tmpdir(), "airlock-tlsfuzzer-"));
  try {
    const tree = tlsfuzzerTree(work);
    const certs = join(work, "certs");
    makeCertificates(certs);
    const logRoot = process.env.TF_LOGDIR ?? join(tmpdir(), `tlsfuzzer-logs-${Date.now()}`);
    const selected = names.length > 0 ? names : LISTS;
    const start = Date.now();
    const run = (n) =>
      runList(n, tree, certs, logRoot).catch((error) => ({
        name: n,
        code: 1,
        out: `${error.message}\n`,
        passed: 0,
        failed: 1,
        serverArgs: [],
        serverLog: [],
      }));
    // tlsfuzzer's scripts are CPU-bound Python and time-bounded: lists share the CPUs, one per two cores
    // (TF_JOBS to choose), so that a busy machine does not turn a slow script into a timeout.
    const jobs = Math.max(1, Number(process.env.TF_JOBS) || Math.floor(cpus().length / 2));
    const results = new Array(selected.length);
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(jobs, selected.length) }, async () => {
      while (next < selected.length) {
        const i = next++;
        results[i] = await run(selected[i]);
      }
    }));
    let passed = 0, failed = 0;
    for (const r of results) {
      console.log(
        `\n== tlsfuzzer list ${r.name}: airlock server ${
          r.serverArgs.join(" ").replaceAll(certs, "CERTS")
        } ==`,
      );
      process.stdout.write(r.out);
      passed += r.passed;
      failed += r.failed;
    }
    console.log(
      `\n== tlsfuzzer: ${results.map((r) => `${r.name} ${r.passed}/${r.passed + r.failed}`).join(", ")}` +
        ` in ${((Date.now() - start) / 1000).toFixed(0)}s; logs in ${logRoot} ==`,
    );
    console.log(`${passed} passed, ${failed} failed`);
    return failed === 0 && results.every((r) => r.code === 0) ? 0 : 1;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code), (error) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exit(1);
});
