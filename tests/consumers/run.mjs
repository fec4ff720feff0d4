// Copyright 2026 the airlock authors. MIT license.

// The npm package as its users get it: `npm pack`, then in a fresh folder outside the repository, the tarball
// installed with `npm install --ignore-scripts` (nothing for a consumer to allow), and each kind of consumer
// completing a handshake and moving data:
//
//   - node: plain Node ESM (fixtures/node.mjs, no loader), in memory and over TCP through the adapters;
//   - bin: the package's `airlock` bin answers --version;
//   - tsc: fixtures/consumer.ts type-checked by `tsc --module nodenext --strict` against the package's .d.ts
//     files, then run by Node;
//   - bun: the same consumer.ts run by Bun, with its bare imports;
//   - deno: the JSR package as `deno publish` would publish it (the files its dry run lists, with deno.json's
//     import map), imported by name from a workspace, consumer.ts reading `@airlock/tls`;
//   - chromium: esbuild bundles, in Debian's Chromium driven by playwright-core, of fixtures/browser_memory.ts
//     (a handshake in the page), the WebSocket tunnel example (examples/websocket_tunnel: the page as a TLS
//     client through a WebSocket relay to the package's `airlock server`) and the WebRTC example
//     (examples/webrtc_datachannel: TLS over a data channel between two peer connections in the page).
//
//   node tests/consumers/run.mjs [CASE...]
//
// Prints a line per case and closes with `N passed, N failed`. Without Chromium (or the openssl command) it says
// so and skips those cases, unless CI is set (.ci/run installs them), when that is a failure.
//
// Plain JavaScript on purpose: Node 20 starts it without a loader.

import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import {
  freePort,
  makeCa,
  makeLeaf,
  P256,
  SERVER_EXT,
  startAirlockServer,
  startProcess,
} from "../_runner/procs.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "..", "..");
const FIXTURES = join(HERE, "fixtures");
const BIN = join(ROOT, "node_modules", ".bin");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const REQUIRED = Boolean(process.env.CI);
/** The most any one command may take. */
const COMMAND_TIMEOUT_MS = 180_000;
const PKG = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));

/** The environment without npm's lifecycle variables, so that the consumer's npm is not the repository's. */
const CLEAN_ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));

/** Run a command to completion; throws with its output unless it exits 0. Returns its stdout (and stderr). */
function run(bin, args, cwd, env = CLEAN_ENV, withStderr = false) {
  const r = spawnSync(bin, args, { cwd, env, encoding: "utf8", timeout: COMMAND_TIMEOUT_MS });
  if (r.status !== 0) {
    const why = r.error ? r.error.message : `exit ${r.status ?? r.signal}`;
    throw new Error(`${relative(ROOT, bin) || bin} ${args.join(" ")} (${why}):\n${r.stdout}${r.stderr}`);
  }
  return withStderr ? r.stdout + r.stderr : r.stdout;
}

/** The `ok …` lines a fixture printed (it prints them only after its own checks passed), joined. */
function okLines(out) {
  const lines = out.split("\n").filter((l) => l.startsWith("ok "));
  if (lines.length === 0) throw new Error(`no "ok" line in:\n${out}`);
  return lines.join("; ");
}

/** The files `deno publish` would publish, copied under `dir`, with the package's deno.json. */
function jsrPackage(dir) {
  const out = run(join(BIN, "deno"), ["publish", "--dry-run", "--allow-dirty"], ROOT, {
    ...CLEAN_ENV,
    NO_COLOR: "1",
  }, true);
  const files = [...out.matchAll(/^\s+file:\/\/(\S+) \(/gm)].map((m) => m[1]);
  if (files.length < 20) throw new Error(`deno publish --dry-run listed ${files.length} files:\n${out}`);
  for (const file of files) {
    const to = join(dir, relative(ROOT, file));
    mkdirSync(dirname(to), { recursive: true });
    cpSync(file, to);
  }
  // What JSR reads of deno.json: the name, version, exports and the import map.
  const { name, version, exports, imports } = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8"));
  writeFileSync(join(dir, "deno.json"), JSON.stringify({ name, version, exports, imports }, null, 2));
  return files.length;
}

const CASES = {
  node: ({ app, pki }) => okLines(run(process.execPath, ["node.mjs", pki], app)),
  bin: ({ app }) => {
    const out = run(join(app, "node_modules", ".bin", "airlock"), ["--version"], app).trim();
    if (out !== `airlock ${PKG.version}`) throw new Error(`airlock --version said ${JSON.stringify(out)}`);
    return out;
  },
  tsc: ({ app, pki }) => {
    const tsc = join(dirname(fileURLToPath(import.meta.resolve("typescript/package.json"))), "bin", "tsc");
    run(process.execPath, [
      tsc,
      "--module",
      "nodenext",
      "--moduleResolution",
      "nodenext",
      "--target",
      "es2022",
      "--strict",
      "--types",
      "node",
      "--outDir",
      "out",
      "consumer.ts",
    ], app);
    return `type-checked, then ${okLines(run(process.execPath, [join("out", "consumer.js"), pki], app))}`;
  },
  bun: ({ app, pki }) => okLines(run(join(BIN, "bun"), ["consumer.ts", pki], app)),
  deno: ({ work, pki }) => {
    const dir = join(work, "jsr");
    const files = jsrPackage(join(dir, "pkg"));
    writeFileSync(join(dir, "deno.json"), JSON.stringify({ workspace: ["./pkg"], nodeModulesDir: "none" }));
    const main = readFileSync(join(FIXTURES, "consumer.ts"), "utf8").replaceAll(
      '"airlock-tls',
      '"@airlock/tls',
    );
    writeFileSync(join(dir, "main.ts"), main);
    const out = run(
      join(BIN, "deno"),
      ["run", "--check", "--allow-read", "--allow-env", "main.ts", pki],
      dir,
    );
    return `${files} published files; ${okLines(out)}`;
  },
  chromium: async ({ work, app, pki }) => {
    const www = join(work, "www");
    mkdirSync(www);
    // The page scripts are bundled from inside the consumer's folder, so that `airlock-tls` is the tarball's.
    cpSync(join(FIXTURES, "browser_memory.ts"), join(app, "browser_memory.ts"));
    cpSync(join(ROOT, "examples", "websocket_tunnel", "page.ts"), join(app, "page.ts"));
    cpSync(join(ROOT, "examples", "webrtc_datachannel", "page.ts"), join(app, "webrtc.ts"));
    const { build } = await import("esbuild");
    await build({
      absWorkingDir: app,
      entryPoints: { memory: "browser_memory.ts", page: "page.ts", webrtc: "webrtc.ts" },
      outdir: www,
      bundle: true,
      format: "esm",
      target: "es2022",
      alias: { "@airlock/tls": "airlock-tls" },
      logLevel: "warning",
    });
    cpSync(join(ROOT, "examples", "websocket_tunnel", "index.html"), join(www, "index.html"));
    const webrtcPage = readFileSync(join(ROOT, "examples", "webrtc_datachannel", "index.html"), "utf8");
    writeFileSync(join(www, "webrtc.html"), webrtcPage.replace('src="page.js"', 'src="webrtc.js"'));
    writeFileSync(
      join(www, "memory.html"),
      '<!doctype html><script type="module" src="memory.js"></script>\n',
    );
    cpSync(join(pki, "ca.pem"), join(www, "ca.pem"));
    const log = [];
    const children = [];
    let browser;
    try {
      const tlsPort = await freePort();
      const bin = join(app, "node_modules", "airlock-tls", "dist", "airlock.mjs");
      const serverArgs = ["--accept", String(tlsPort), "--cert", join(pki, "server.pem")];
      children.push(
        await startAirlockServer(bin, [...serverArgs, "--key", join(pki, "server.key"), "--echo"], log),
      );
      const relay = join(ROOT, "examples", "websocket_tunnel", "relay.ts");
      const relayArgs = ["--port", "0", "--target", `127.0.0.1:${tlsPort}`, "--root", www];
      const deno = await startProcess(
        join(BIN, "deno"),
        ["run", "--allow-net=127.0.0.1", `--allow-read=${www}`, relay, ...relayArgs],
        { ready: /LISTENING \d+/, log, cwd: work, env: CLEAN_ENV },
      );
      children.push(deno);
      const port = log.join("").match(/LISTENING (\d+)/)[1];
      const { chromium } = await import("playwright-core");
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        timeout: 60_000,
        // As the machine notes say: without these, Chromium keeps trying to reach the closed network.
        // Host ICE candidates as addresses, not mDNS names (nothing here answers mDNS).
        args: ["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"]
          .concat(["--disable-component-update", "--disable-sync"])
          .concat(["--disable-features=WebRtcHideLocalIpsWithMdns"]),
      });
      const results = [];
      for (const path of ["memory.html", "index.html", "webrtc.html"]) {
        const page = await browser.newPage();
        const errors = [];
        page.on("pageerror", (e) => errors.push(e.message));
        await page.goto(`http://127.0.0.1:${port}/${path}`);
        await page.waitForFunction(() => globalThis.airlockResult !== undefined, null, { timeout: 60_000 });
        const result = await page.evaluate(() => globalThis.airlockResult);
        if (!result.startsWith("ok ")) throw new Error(`${path}: ${result}${errors.join("\n")}`);
        results.push(result);
        await page.close();
      }
      return `${await browser.version()}: ${results.join("; ")}`;
    } catch (error) {
      error.message += `\n--- server and relay output:\n${log.join("")}`;
      throw error;
    } finally {
      await browser?.close();
      for (const child of children) child.kill("SIGTERM");
    }
  },
};

/** Why a case cannot run on this machine, or undefined. */
function missing(name) {
  if (name === "chromium" && !existsSync(CHROMIUM)) {
    return `no Chromium at ${CHROMIUM} (apt-get install chromium)`;
  }
  return undefined;
}

async function main(names) {
  const selected = names.length > 0 ? names : Object.keys(CASES);
  for (const n of selected) {
    if (!CASES[n]) throw new Error(`unknown case "${n}" (have: ${Object.keys(CASES)})`);
  }
  if (spawnSync("openssl", ["version"]).status !== 0) {
    console.log(`consumers: no openssl command (apt-get install openssl)`);
    console.log(REQUIRED ? "0 passed, 1 failed" : "0 passed, 0 failed, 1 skipped");
    return REQUIRED ? 1 : 0;
  }
  const work = mkdtempSync(join(tmpdir(), "airlock-consumers-"));
  let passed = 0, failed = 0, skipped = 0;
  try {
    const started = performance.now();
    const tarball = run("npm", ["pack", "--silent", "--pack-destination", work], ROOT).trim().split("\n")
      .pop();
    const pki = join(work, "pki");
    makeCa(pki, "ca", P256, "airlock consumers CA");
    makeLeaf(pki, "server", P256, "localhost", SERVER_EXT, "ca");
    const app = join(work, "app");
    mkdirSync(app);
    const dependencies = {
      "airlock-tls": `file:../${tarball}`,
      // What the browser fixture imports itself (it makes its certificate with @peculiar/x509).
      "@peculiar/x509": PKG.dependencies["@peculiar/x509"],
      "reflect-metadata": PKG.dependencies["reflect-metadata"],
      "@types/node": PKG.devDependencies["@types/node"],
    };
    writeFileSync(
      join(app, "package.json"),
      JSON.stringify({ name: "airlock-consumer", private: true, type: "module", dependencies }, null, 2),
    );
    for (const f of ["node.mjs", "consumer.ts"]) cpSync(join(FIXTURES, f), join(app, f));
    run("npm", ["install", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"], app);
    console.log(`consumers: ${tarball} installed in ${((performance.now() - started) / 1000).toFixed(1)}s`);
    for (const name of selected) {
      const why = missing(name);
      if (why) {
        if (REQUIRED) {
          console.log(`FAIL ${name}: ${why}`);
          failed++;
        } else {
          console.log(`skip ${name}: ${why}`);
          skipped++;
        }
        continue;
      }
      const start = performance.now();
      try {
        const said = await CASES[name]({ work, app, pki });
        console.log(`ok   ${name} (${((performance.now() - start) / 1000).toFixed(1)}s): ${said}`);
        passed++;
      } catch (error) {
        console.log(`FAIL ${name}: ${error instanceof Error ? error.message : error}`);
        failed++;
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
  return failed === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (error) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exit(1);
});
