// Copyright 2026 the airlock authors. MIT license.

// What the process-level test phases share (tests/tlsfuzzer/run.mjs, tests/consumers/run.mjs): certificates
// made with the openssl command, free ports on 127.0.0.1, and `airlock server` started and waited for.
//
// Plain JavaScript on purpose: Node 20 starts it without a loader.

import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import process from "node:process";

/** Run the openssl command in `cwd`; throws with its stderr when it fails. */
export function openssl(args, cwd) {
  const r = spawnSync("openssl", args, { cwd, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")} failed: ${r.error?.message ?? r.stderr}`);
}

/** openssl's key arguments for an ECDSA P-256 key. */
export const P256 = ["ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
/** Extensions of a server certificate for localhost and 127.0.0.1. */
export const SERVER_EXT = "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n";
/** Extensions of a client certificate. */
export const CLIENT_EXT = "extendedKeyUsage=clientAuth\n";

const DAYS = ["-days", "30"];

/** A new key (`name`.key, unencrypted) and its subject `/CN=cn`, written as a request or certificate to `out`. */
function newKey(keyArgs, cn, name, out) {
  return ["-newkey", ...keyArgs, "-nodes", "-subj", `/CN=${cn}`, "-keyout", `${name}.key`, "-out", out];
}

/** A self-signed CA in `dir`: `name`.pem and `name`.key (`keyArgs` as `openssl req -newkey` takes them). */
export function makeCa(dir, name, keyArgs, cn) {
  mkdirSync(dir, { recursive: true });
  openssl([
    "req",
    "-x509",
    ...newKey(keyArgs, cn, name, `${name}.pem`),
    ...DAYS,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign",
  ], dir);
}

/** A certificate `name`.pem with key `name`.key in `dir`, signed by the CA `issuer`, with extensions `ext`. */
export function makeLeaf(dir, name, keyArgs, cn, ext, issuer) {
  openssl(["req", "-new", ...newKey(keyArgs, cn, name, `${name}.csr`)], dir);
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl([
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${issuer}.pem`,
    "-CAkey",
    `${issuer}.key`,
    "-CAcreateserial",
    ...DAYS,
    "-extfile",
    `${name}.ext`,
    "-out",
    `${name}.pem`,
  ], dir);
}

/** A port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((done, fail) => {
    const s = createServer();
    s.on("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => done(port));
    });
  });
}

/**
 * Start `bin` with `args` and wait up to 20 s for its output (stdout or stderr) to match `ready`; all it prints
 * is pushed to `log`. Resolves to the child process; rejects (and kills it) if it exits or stays silent.
 */
export function startProcess(bin, args, { ready, log, cwd, env }) {
  return new Promise((done, fail) => {
    const child = spawn(bin, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGTERM");
      fail(new Error(`${bin} ${args.join(" ")} did not start: ${out}`));
    }, 20_000);
    const take = (chunk) => {
      out += chunk;
      log.push(chunk);
      if (ready.test(out)) {
        clearTimeout(timer);
        done(child);
      }
    };
    child.stdout.setEncoding("utf8").on("data", take);
    child.stderr.setEncoding("utf8").on("data", take);
    child.on("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`${bin} ${args.join(" ")} exited (${code}): ${out}`));
    });
  });
}

/** Start `airlock server` from the bin `bin` (a dist/airlock.mjs) with `args`, once it prints `ACCEPT`. */
export function startAirlockServer(bin, args, log) {
  return startProcess(process.execPath, [bin, "server", ...args], { ready: /ACCEPT /, log });
}
