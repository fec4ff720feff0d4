// Copyright 2026 the airlock authors. MIT license.

// Coverage-guided fuzzing with Jazzer.js (libFuzzer inside Node): build the targets, then run each for its
// share of the time, starting from the seed corpus (fuzz/corpus/TARGET) and keeping what it finds in
// fuzz/.work/TARGET (new coverage) and fuzz/findings/ (crashes, timeouts, leaks).
//
//   node fuzz/run.mjs [--minutes N] [--targets client,server,...] [--ci] [--jobs N]
//
// --minutes: total wall time (default 10), split between the targets, the engine targets getting twice a
// decoder's share. --ci: 60 seconds of fuzzing in all (about 80 s with start-up), and only the seed corpus is read (nothing is written outside
// fuzz/findings/). Exits 1 if any target found something; prints the executions and time per target.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { buildTargets } from "./build.mjs";
import { ensureJazzerLoads } from "./_glibc_compat.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const ENGINE_TARGETS = new Set(["client", "server"]);

function parseArgs(argv) {
  const opts = { minutes: 10, targets: undefined, ci: false, jobs: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--ci") opts.ci = true;
    else if (a === "--minutes") opts.minutes = Number(argv[++i]);
    else if (a === "--targets") opts.targets = argv[++i].split(",");
    else if (a === "--jobs") opts.jobs = Number(argv[++i]);
    else {throw new Error(
        `Cannot parse argument "${a}": expected --minutes N, --targets a,b, --ci or --jobs N`,
      );}
  }
  if (opts.ci) opts.minutes = 1;
  if (!(opts.minutes > 0)) throw new Error(`Cannot fuzz for ${opts.minutes} minutes`);
  return opts;
}

function runOne(name, file, seconds, ci) {
  const seeds = join(here, "corpus", name);
  const work = join(here, ".work", name);
  const findings = join(here, "findings");
  mkdirSync(findings, { recursive: true });
  // libFuzzer writes what it finds into the first directory: fuzz/.work/TARGET, or a temporary one in CI, so
  // that the committed seeds are only read.
  const out = ci ? mkdtempSync(join(tmpdir(), `airlock-fuzz-${name}-`)) : work;
  mkdirSync(out, { recursive: true });
  const dirs = [out];
  if (existsSync(seeds)) dirs.push(seeds);
  const engine = ENGINE_TARGETS.has(name);
  const args = [
    join(root, "node_modules", "@jazzer.js", "core", "dist", "cli.js"),
    file,
    ...dirs,
    ...(engine ? [] : ["--sync"]),
    "--disable_bug_detectors=.*",
    "--timeout=10000",
    "--",
    `-max_total_time=${Math.max(1, Math.round(seconds))}`,
    `-max_len=${engine ? 20000 : 8192}`,
    "-rss_limit_mb=3072",
    `-artifact_prefix=${findings}/${name}-`,
    "-print_final_stats=1",
  ];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let tail = "";
    let runs = 0;
    const onData = (d) => {
      const text = d.toString();
      tail = (tail + text).slice(-20000);
      // The status lines (#N NEW/REDUCE/pulse) go to stderr unbuffered; "Done N runs" may be lost in a pipe.
      for (
        const m of text.matchAll(/^#(\d+)\s|Done (\d+) runs in|stat::number_of_executed_units:\s*(\d+)/gm)
      ) {
        runs = Math.max(runs, Number(m[1] ?? m[2] ?? m[3]));
      }
      if (!ci || /ERROR|Uncaught|crash-|timeout-|leak-|==\d+==/.test(text)) process.stderr.write(text);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("close", (code) => {
      if (ci) rmSync(out, { recursive: true, force: true });
      resolve({ name, code, runs, tail });
    });
  });
}

const opts = parseArgs(process.argv.slice(2));
console.log(ensureJazzerLoads());
const built = await buildTargets();
const names = (opts.targets ?? Object.keys(built)).filter((n) => {
  if (!built[n]) throw new Error(`Cannot find fuzz target "${n}": expected one of ${Object.keys(built)}`);
  return true;
});
const weight = (n) => (ENGINE_TARGETS.has(n) ? 2 : 1);
const totalWeight = names.reduce((s, n) => s + weight(n), 0);
const started = Date.now();
const results = [];
const queue = [...names];
async function worker() {
  for (let n = queue.shift(); n; n = queue.shift()) {
    const seconds = (opts.minutes * 60 * weight(n) * opts.jobs) / totalWeight;
    console.log(`fuzz: ${n} for ${Math.round(seconds)} s`);
    results.push(await runOne(n, built[n], seconds, opts.ci));
  }
}
await Promise.all(Array.from({ length: Math.max(1, opts.jobs) }, worker));
let failed = 0;
for (const r of results.sort((a, b) => (a.name < b.name ? -1 : 1))) {
  const ok = r.code === 0;
  if (!ok) failed++;
  console.log(`fuzz: ${r.name}: ${r.runs} executions, ${ok ? "no finding" : `exit ${r.code}: FINDING`}`);
}
const findings = existsSync(join(here, "findings")) ? readdirSync(join(here, "findings")) : [];
for (const f of findings) console.log(`fuzz: finding ${relative(root, join(here, "findings", f))}`);
console.log(
  `fuzz: ${results.reduce((s, r) => s + r.runs, 0)} executions in ${
    Math.round((Date.now() - started) / 1000)
  } s, ` +
    `${failed} target(s) with findings`,
);
process.exit(failed > 0 ? 1 : 0);
