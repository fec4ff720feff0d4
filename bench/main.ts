/**
 * airlock beside the runtime's own TLS (node:tls), node-forge and the pure-JS clients subtls and
 * @hazae41/cadenas, in one process and one run, with the primitive floor timed in the same run. Never part of
 * the tests.
 *
 *   deno task bench                                   (deno run -A --v8-flags=--expose-gc bench/main.ts)
 *   node --expose-gc --import tsx bench/main.ts       (or: npm run bench)
 *   npx bun bench/main.ts                             (Bun.gc is always there)
 *
 * A run takes about 4 minutes. Flags: `--quick` (shorter rounds, 200 idle connections: about half that),
 * `--matrix` (every TLS 1.3 suite × group × certificate type, and every TLS 1.2 combination of them, instead
 * of varying one at a time from the baseline: several times longer), `--json PATH` (default
 * bench/results/latest-<runtime>.json), `--only floor,handshakes,bulk,latency,heap,forge,peers` (some
 * sections), `--rounds N` (rounds per cell, default 3: more for steadier medians on a busy machine).
 *
 * Pairings, all in memory: airlock↔airlock (two BIO pairs pumped synchronously, no event loop between
 * them); node:tls↔node:tls (a tls.Server fed an in-memory Duplex pair through its 'connection' event, and
 * tls.connect over the other end); airlock client → node:tls server and node:tls client → airlock server
 * (an airlock BIO pair pumped to one end of the Duplex pair). node-forge speaks only TLS 1.0/1.1 with RSA
 * key exchange, so it meets node:tls (where the runtime still allows TLS 1.1) and itself, in a table of its
 * own. The pure-JS peers subtls and cadenas are clients with one configuration each, so the `peers` table
 * pairs each with a node:tls server in its case (subtls: TLS 1.3 AES-128-GCM, P-256, ECDSA P-256; cadenas:
 * TLS 1.2 ECDHE-RSA-AES256-GCM-SHA384, P-256, RSA 2048), beside airlock's client (on its default provider,
 * and on noble) and node:tls's own, against the same server.
 *
 * airlock's engine rows drive the engine directly, one `write()` (one record) per chunk. What applications
 * run is the adapter, `connectTls`, which joins small writes queued on its plaintext writable into records of
 * up to 16 KiB, as node:tls joins the writes queued in its socket. So the bulk section ends with rows
 * "through the adapters" (TLS 1.3 AES-128-GCM, 1 KiB and 16 KiB writes one way): two airlock engines, each
 * driven by `connectTls` over an in-memory web stream pair (two TransformStreams with their default
 * strategies, which buffer nothing), written as an application writes a WritableStream (`writer.write()` not
 * awaited, the next write waiting for `writer.ready` only when the writable's 16 KiB queue is full) and read
 * by a loop over the plaintext readable; beside node:tls↔node:tls doing the same through its own API
 * (`socket.write()` honouring 'drain', 'data' read) over the Duplex pair. The ratio is airlock's over
 * node:tls's, and the JSON has it under `bulkAdapters`. Each of these cells first runs one untimed round of
 * five rounds' time: no earlier section runs that code, and on Node and Deno it takes about a second to warm.
 *
 * What users run: airlock's rows without a provider run on its default (no `provider` in the configuration:
 * the runtime's fastest, nodeCryptoProvider on Node, Bun and Deno); rows naming a
 * provider are extra. Every server sends a leaf issued by a CA of its key type (`_pki.ts`), and every client
 * verifies the chain against that CA and the name "localhost": airlock with `trustAnchors` and `serverName`,
 * node:tls with `ca`, `servername` and `rejectUnauthorized: true`, forge with its CA store (and the name in
 * its verify callback), subtls and cadenas against their root stores given the CA. Rows labelled "no chain
 * check" have clients that accept any chain (only the handshake signature is checked), to show what chain
 * validation costs.
 *
 * Before a cell is timed, its pairing must pass a check: a handshake, 40 kB each way compared byte for byte,
 * the negotiated version, suite and group compared with the row's, and a handshake whose client trusts only an
 * impostor CA (the same name, another key), which must fail (a cell that fails shows "n/a" and a footnote
 * with the reason; a difference that does not break the data is a footnote on the figure).
 *
 * Figures are medians of rounds, and the rounds of a row's cells are interleaved, so that load from
 * elsewhere on the machine hits every cell alike: compare ratios within one run, not absolute numbers
 * across machines. `load.ts` is the other bench: servers under load over loopback TCP.
 * @module
 */

import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { airlock, airlockStreams, prepareAirlock } from "./_airlock.ts";
import { cadenas, CADENAS_CASE, prepareCadenas } from "./_cadenas.ts";
import { type Case, caseLabel, type Impl, interleaved, ratePerSecond, runtime } from "./_common.ts";
import {
  handshakeRecipe,
  measurePrimitives,
  type PrimitiveTiming,
  recipeRunner,
  recordRecipe,
} from "./_floor.ts";
import { nodeForge, prepareForge } from "./_forge.ts";
import {
  bulkRound,
  check,
  type Checked,
  handshakeRound,
  type HeapFigures,
  heapPerEnd,
  latencyRound,
  type Pairing,
} from "./_measure.ts";
import { nodeTls, prepareNode } from "./_node.ts";
import { prepareSubtls, subtls, SUBTLS_CASE } from "./_subtls.ts";
import { type Cell, figure, Notes, printTable, ratio } from "./_table.ts";
import type { TestKeyType } from "../testing/pki.ts";
import { defaultProvider } from "../suites/default_provider.ts";

// ---- settings ------------------------------------------------------------------------------------

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(name);
const option = (name: string) => {
  const i = argv.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return undefined;
  return argv[i]!.includes("=") ? argv[i]!.slice(name.length + 1) : argv[i + 1];
};
const QUICK = flag("--quick");
/** The provider airlock runs on when a configuration names none: the rows without a provider use it. */
const DEFAULT_PROVIDER = defaultProvider().name as "noble" | "webcrypto" | "node";
const SECTIONS = new Set(
  (option("--only") ?? "floor,handshakes,bulk,latency,heap,forge,peers").split(",").map((s) => s.trim()),
);
const ROUNDS = Number(option("--rounds") ?? 3);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) {
  throw new RangeError(`Cannot use --rounds ${option("--rounds")}`);
}
const S = QUICK
  ? {
    rounds: ROUNDS,
    handshakeMs: 120,
    bulkMs: 100,
    primitiveMs: 15,
    primitiveRounds: 3,
    roundTrips: 50,
    idle: 200,
  }
  : {
    rounds: ROUNDS,
    handshakeMs: 200,
    bulkMs: 200,
    primitiveMs: 30,
    primitiveRounds: 3,
    roundTrips: 200,
    idle: 1000,
  };
const JSON_PATH = option("--json") ??
  fileURLToPath(new URL(`./results/latest-${runtime.name}.json`, import.meta.url));

const PAIRINGS: Pairing[] = [
  { id: "airlock-airlock", header: "airlock", client: airlock, server: airlock },
  { id: "node-node", header: "node:tls", client: nodeTls, server: nodeTls },
  { id: "airlock-node", header: "air→node", client: airlock, server: nodeTls },
  { id: "node-airlock", header: "node→air", client: nodeTls, server: airlock },
];
/**
 * Through the adapters: airlock driven by `connectTls` on both ends over a web stream pair, beside node:tls on
 * both ends (written through its socket API, as always).
 */
const ADAPTER_PAIRINGS: Pairing[] = [
  {
    id: "airlockstreams-airlockstreams",
    header: "airlock (connectTls)",
    client: airlockStreams,
    server: airlockStreams,
  },
  PAIRINGS[1]!,
];
const FORGE_PAIRINGS: Pairing[] = [
  { id: "forge-forge", header: "forge", client: nodeForge, server: nodeForge },
  { id: "forge-node", header: "forge→node", client: nodeForge, server: nodeTls },
  { id: "node-forge", header: "node→forge", client: nodeTls, server: nodeForge },
  { id: "node-node", header: "node:tls", client: nodeTls, server: nodeTls },
];

/** airlock's client on `provider` whatever the case says. */
function airlockOn(provider: NonNullable<Case["provider"]>): Impl {
  return {
    ...airlock,
    name: `airlock (${provider})`,
    client: (c, end, session) => airlock.client({ ...c, provider }, end, session),
  };
}

/**
 * A pure-JS client against a node:tls server, beside airlock's client (on the default provider, and on
 * noble, pure JS as the peers' protocol code is) and node:tls's own against the same server.
 */
function peerPairings(peer: Impl): Pairing[] {
  return [
    { id: `${peer.name}-node`, header: `${peer.name}→node`, client: peer, server: nodeTls },
    PAIRINGS[2]!,
    { id: "airlocknoble-node", header: "air(noble)→node", client: airlockOn("noble"), server: nodeTls },
    PAIRINGS[1]!,
  ];
}

/** The pure-JS clients, each in the one case it can negotiate. */
const PEERS: { peer: Impl; c: Case; pairings: Pairing[] }[] = [
  { peer: subtls, c: SUBTLS_CASE, pairings: peerPairings(subtls) },
  { peer: cadenas, c: CADENAS_CASE, pairings: peerPairings(cadenas) },
];

const BASE13: Case = {
  version: "TLSv1.3",
  suite: "TLS_AES_128_GCM_SHA256",
  group: "x25519",
  cert: "ecdsa-p256",
};
const BASE12: Case = {
  version: "TLSv1.2",
  suite: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
  group: "x25519",
  cert: "ecdsa-p256",
};
const FORGE_CASE: Case = {
  version: "TLSv1.1",
  suite: "TLS_RSA_WITH_AES_128_CBC_SHA",
  group: "x25519",
  cert: "rsa-2048",
};
const SUITES13 = [
  "TLS_AES_128_GCM_SHA256",
  "TLS_AES_256_GCM_SHA384",
  "TLS_CHACHA20_POLY1305_SHA256",
] as const;
const GROUPS = ["x25519", "secp256r1", "secp384r1", "X25519MLKEM768"] as const;
const CERTS: TestKeyType[] = ["ecdsa-p256", "ecdsa-p384", "ed25519", "rsa-2048"];

/** The TLS 1.2 suite for a certificate type and an AEAD ("AES_128_GCM_SHA256", …). */
function suite12(cert: TestKeyType, aead: string): Case["suite"] {
  return `TLS_ECDHE_${cert === "rsa-2048" ? "RSA" : "ECDSA"}_WITH_${aead}` as Case["suite"];
}

/**
 * Full-handshake rows. By default one axis at a time from the baseline (suite, then group, then certificate),
 * and TLS 1.2 for each certificate type; `--matrix` gives every combination.
 */
function handshakeCases(): Case[] {
  const out: Case[] = [];
  const add = (c: Case) => {
    if (!out.some((x) => caseLabel(x) === caseLabel(c))) out.push(c);
  };
  if (flag("--matrix")) {
    for (const suite of SUITES13) {
      for (const group of GROUPS) for (const cert of CERTS) add({ ...BASE13, suite, group, cert });
    }
    for (const aead of ["AES_128_GCM_SHA256", "AES_256_GCM_SHA384", "CHACHA20_POLY1305_SHA256"]) {
      for (const group of GROUPS.slice(0, 3)) {
        for (const cert of CERTS) add({ ...BASE12, suite: suite12(cert, aead), group, cert });
      }
    }
    return out;
  }
  for (const suite of SUITES13) add({ ...BASE13, suite });
  for (const group of GROUPS) add({ ...BASE13, group });
  for (const cert of CERTS) add({ ...BASE13, cert });
  for (const cert of CERTS) add({ ...BASE12, suite: suite12(cert, "AES_128_GCM_SHA256"), cert });
  add({ ...BASE12, group: "secp256r1" });
  // What users run with no groups named: airlock↔airlock negotiates X25519MLKEM768, node:tls what it prefers.
  add({ ...BASE13, group: "X25519MLKEM768", defaultGroups: true });
  // Encrypted Client Hello accepted (airlock only): what ECH costs beside the plain TLS 1.3 row.
  add({ ...BASE13, ech: true });
  // Clients that check no chain (only the handshake signature), labelled: what chain validation costs.
  add({ ...BASE13, trust: "none" });
  add({ ...BASE12, trust: "none" });
  // airlock on the providers other than the default; the other columns repeat.
  for (const provider of OTHER_PROVIDERS) {
    add({ ...BASE13, provider });
    add({ ...BASE12, provider });
  }
  return out;
}

/**
 * The providers airlock has rows on besides its default (the first rows, unnamed): noble (pure JS),
 * webCryptoProvider (AES-GCM records of 2 KiB and more sealed and opened natively, in flight) and
 * nodeCryptoProvider (node:crypto, synchronous), less the one that is the default here.
 */
const OTHER_PROVIDERS = (["noble", "webcrypto", "node"] as const).filter((p) => p !== DEFAULT_PROVIDER);

const BULK_CASES: Case[] = [
  BASE13,
  { ...BASE13, suite: "TLS_CHACHA20_POLY1305_SHA256" },
  BASE12,
  ...OTHER_PROVIDERS.flatMap((provider) => [{ ...BASE13, provider }, { ...BASE12, provider }]),
];

// ---- results -------------------------------------------------------------------------------------

/** A measured cell: the figure, or why there is none; a note when the check saw something to say. */
interface CellResult {
  value: number | null;
  note?: string;
}

const notes = new Notes();
const report: Record<string, unknown> = {
  schema: 1,
  runtime,
  defaultProvider: DEFAULT_PROVIDER,
  date: new Date().toISOString(),
  quick: QUICK,
  settings: S,
  pairings: Object.fromEntries(
    [...PAIRINGS, ...ADAPTER_PAIRINGS, ...FORGE_PAIRINGS, ...PEERS.flatMap((p) => p.pairings)]
      .map((p) => [p.id, { client: p.client.name, server: p.server.name }]),
  ),
};

const checks = new Map<string, Promise<Checked>>();

/** The check for a pairing and case, run once. */
function checked(p: Pairing, c: Case, resume = false): Promise<Checked> {
  const key = `${p.id}/${caseLabel(c)}/${resume}`;
  let r = checks.get(key);
  if (!r) {
    r = check(p, c, resume);
    checks.set(key, r);
  }
  return r;
}

/**
 * Check every pairing for `c`, then time the ones that passed, and the `floors` (runs of the same primitives
 * alone), in interleaved rounds: `measure(p, checked)` gives one round's figure for a pairing.
 */
async function row(
  pairings: readonly Pairing[],
  c: Case,
  measure: (p: Pairing, ok: Checked & { ok: true }) => Promise<number>,
  resume = false,
  floors: readonly (() => Promise<number>)[] = [],
): Promise<{ cells: CellResult[]; floors: (number | undefined)[] }> {
  const verdicts: Checked[] = [];
  for (const p of pairings) verdicts.push(await checked(p, c, resume));
  const jobs = verdicts.map((v, i) => (v.ok ? () => measure(pairings[i]!, v) : undefined));
  const timed = await interleaved([...jobs.filter((j) => j !== undefined), ...floors], S.rounds);
  const cells = verdicts.map((v): CellResult => {
    if (!v.ok) return { value: null, note: v.reason };
    const t = timed.shift()!;
    if (typeof t === "string") return { value: null, note: t };
    return v.note ? { value: t, note: v.note } : { value: t };
  });
  return { cells, floors: timed.map((t) => (typeof t === "number" ? t : undefined)) };
}

/** A cell as the table shows it: the figure with its footnote marker, or "n/a" and the reason's marker. */
function show(r: CellResult, pairing: Pairing): Cell {
  const ref = r.note ? " " + notes.ref(`${pairing.header}: ${r.note}`) : "";
  return r.value === null ? `n/a${ref}` : `${figure(r.value)}${ref}`;
}

const val = (r: CellResult | undefined): number | undefined => r?.value ?? undefined;

/** A row of the main tables: the cells, airlock↔airlock's ratio to node:tls and to each floor, the floors. */
function figureRow(
  label: string,
  cells: readonly CellResult[],
  floors: readonly (number | undefined)[],
): Cell[] {
  const air = val(cells[0]);
  return [
    label,
    ...cells.map((r, i) => show(r, PAIRINGS[i]!)),
    ratio(air, val(cells[1])),
    ...floors.map((f) => ratio(air, f)),
    ...floors,
  ];
}
const progress = (what: string) => process.stderr.write(`  ${what}\n`);

// ---- sections ------------------------------------------------------------------------------------

async function floorSection(): Promise<Map<string, PrimitiveTiming>> {
  progress("timing primitives");
  const t = await measurePrimitives(S.primitiveMs, S.primitiveRounds);
  printTable(
    "Primitives, µs per operation (noble: what airlock uses; WebCrypto: the runtime's native code; " +
      "airlock: its AEAD wrapper)",
    ["primitive", "noble", "WebCrypto", "airlock", ""],
    [...t.values()].map((p) => [p.name, p.noble, p.webcrypto, p.airlock, p.note ? notes.ref(p.note) : ""]),
  );
  report.primitives = [...t.values()];
  return t;
}

async function handshakeSection(prims: Map<string, PrimitiveTiming> | undefined): Promise<void> {
  const rows: Cell[][] = [];
  const json: unknown[] = [];
  const cases = handshakeCases().map((c) => ({ c, resumed: false }));
  cases.push(
    { c: BASE13, resumed: true },
    { c: { ...BASE13, group: "X25519MLKEM768", defaultGroups: true }, resumed: true },
    { c: BASE12, resumed: true },
  );
  for (const { c, resumed } of cases) {
    const label = `${caseLabel(c)}${resumed ? " resumed" : ""}`;
    progress(`handshakes: ${label}`);
    const recipe = handshakeRecipe(c, resumed);
    const floorJobs = prims
      ? (["noble", "best"] as const).map((kind) => {
        const run = recipeRunner(recipe, prims, kind);
        return () => ratePerSecond(S.handshakeMs, run);
      })
      : [];
    const { cells, floors } = await row(
      PAIRINGS,
      c,
      (p, ok) => handshakeRound(p, c, S.handshakeMs, resumed ? ok.session : undefined),
      resumed,
      floorJobs,
    );
    const floor = prims ? { noble: floors[0], best: floors[1] } : undefined;
    rows.push(figureRow(label, cells, [floor?.noble, floor?.best]));
    json.push({ case: c, label, resumed, cells: cellsJson(PAIRINGS, cells), floor, recipe });
  }
  printTable(
    "Handshakes/s (full, then resumed), in memory. air→node: airlock client, node:tls server. " +
      "×node: airlock/node:tls; ÷floor: airlock/primitive floor (noble; fastest of noble and WebCrypto)",
    ["case", ...PAIRINGS.map((p) => p.header), "×node", "÷noble", "÷best", "noble floor", "best floor"],
    rows,
  );
  report.handshakes = json;
}

async function bulkSection(prims: Map<string, PrimitiveTiming> | undefined): Promise<void> {
  const rows: Cell[][] = [];
  const json: unknown[] = [];
  let bulkFloor: Record<"noble" | "best" | "airlockAead", number | undefined> | undefined;
  for (const c of BULK_CASES) {
    for (const writeSize of [1024, 16384]) {
      for (const bothWays of [false, true]) {
        const label = `${caseLabel(c).replace(/ x25519 ecdsa-p256$/, "")} ${writeSize / 1024} KiB ${
          bothWays ? "both ways" : "one way"
        }`;
        progress(`bulk: ${label}`);
        // The AEAD floor is the same per byte both ways: timed with the one-way row, reused for the other.
        const kinds = ["noble", "best", "airlock"] as const;
        const floorJobs = prims && !bothWays
          ? kinds.map((kind) => {
            const run = recipeRunner(recordRecipe(c, writeSize), prims, kind);
            return async () =>
              (await ratePerSecond(S.bulkMs, async () => {
                await run();
                return writeSize;
              })) / 1e6;
          })
          : [];
        const { cells, floors } = await row(
          PAIRINGS,
          c,
          (p) => bulkRound(p, c, writeSize, bothWays, S.bulkMs),
          false,
          floorJobs,
        );
        if (!bothWays) bulkFloor = { noble: floors[0], best: floors[1], airlockAead: floors[2] };
        const floor = bulkFloor;
        rows.push(figureRow(label, cells, [floor?.noble, floor?.best, floor?.airlockAead]));
        json.push({ case: c, label, writeSize, bothWays, cells: cellsJson(PAIRINGS, cells), floor });
      }
    }
  }
  printTable(
    "Bulk MB/s (both ways: the sum of the two directions). AEAD floor: one seal and one open per record " +
      "(noble; fastest of noble and WebCrypto; airlock's own AEAD wrapper)",
    [
      "case",
      ...PAIRINGS.map((p) => p.header),
      "×node",
      "÷noble",
      "÷best",
      "÷aead",
      "noble AEAD",
      "best AEAD",
      "airlock AEAD",
    ],
    rows,
  );
  report.bulk = json;
}

/** How many rounds' time each adapter cell runs untimed before its row is timed. */
const WARM_UP_ROUNDS = 5;

/**
 * Bulk one way through the adapters, the path applications take: airlock's sides write to `connectTls`'s
 * plaintext writable without awaiting each write, honouring `writer.ready` (so that small writes queue and the
 * adapter joins them into records), and read its readable; node:tls's sides `socket.write()` honouring
 * 'drain' and read 'data', as in the other rows.
 */
async function bulkAdaptersSection(): Promise<void> {
  const rows: Cell[][] = [];
  const json: unknown[] = [];
  const c = BASE13;
  for (const writeSize of [1024, 16384]) {
    const label = `bulk MB/s, ${writeSize / 1024} KiB writes one way, through the adapters`;
    progress(`bulk: ${label}`);
    const round = (p: Pairing, ms: number) => bulkRound(p, c, writeSize, false, ms);
    // Nothing before this section runs the web streams' code or connectTls's pump, and in a first round of
    // S.bulkMs they are far from warm (on Node and Deno, airlock's figure then more than doubles over the
    // next few rounds): one untimed round of WARM_UP_ROUNDS × S.bulkMs per cell first, so that the medians
    // measure warm code, as the engine's cells are warmed by the rows before them.
    for (const p of ADAPTER_PAIRINGS) {
      if ((await checked(p, c)).ok) await round(p, WARM_UP_ROUNDS * S.bulkMs).catch(() => {});
    }
    const { cells } = await row(ADAPTER_PAIRINGS, c, (p) => round(p, S.bulkMs));
    rows.push([
      label,
      ...cells.map((r, i) => show(r, ADAPTER_PAIRINGS[i]!)),
      ratio(val(cells[0]), val(cells[1])),
    ]);
    json.push({
      case: c,
      label,
      writeSize,
      bothWays: false,
      warmUpMs: WARM_UP_ROUNDS * S.bulkMs,
      cells: cellsJson(ADAPTER_PAIRINGS, cells),
    });
  }
  printTable(
    `Bulk MB/s through the adapters (${caseLabel(c)}): airlock on both ends through connectTls over two ` +
      "TransformStreams, writes queued on its writable (honouring writer.ready) and joined into records; " +
      "node:tls on both ends, socket.write() honouring 'drain'. ×node: airlock/node:tls",
    ["figure", ...ADAPTER_PAIRINGS.map((p) => p.header), "×node"],
    rows,
  );
  report.bulkAdapters = json;
}

async function latencySection(): Promise<void> {
  const rows: Cell[][] = [];
  const json: unknown[] = [];
  for (const c of [BASE13, BASE12]) {
    progress(`latency: ${caseLabel(c)}`);
    const { cells } = await row(PAIRINGS, c, (p) => latencyRound(p, c, S.roundTrips));
    rows.push([
      caseLabel(c),
      ...cells.map((r, i) => show(r, PAIRINGS[i]!)),
      ratio(val(cells[0]), val(cells[1])),
    ]);
    json.push({ case: c, label: caseLabel(c), cells: cellsJson(PAIRINGS, cells) });
  }
  printTable(
    `Round trip of 100 bytes, µs (median of ${S.roundTrips}; client writes, server echoes)`,
    ["case", ...PAIRINGS.map((p) => p.header), "air/node"],
    rows,
  );
  report.latency = json;
}

/**
 * Heap per idle connection. Measured first and printed in its place: Bun's collector frees closed
 * connections late, so garbage from earlier sections would be freed during a reading and skew it; for the
 * same reason the largest run comes last.
 */
async function heapSection(): Promise<() => void> {
  const rows: Cell[][] = [];
  const json: Record<string, (HeapFigures & { connections: number }) | { error: string }> = {};
  // ChaCha20-Poly1305 beside AES-128-GCM (fewer connections): what airlock's per-key AES-GCM state (round
  // keys, GHASH table) costs.
  const chacha: Case = { ...BASE13, suite: "TLS_CHACHA20_POLY1305_SHA256" };
  const runs: { p: Pairing; c: Case; n: number }[] = [
    { p: PAIRINGS[1]!, c: BASE13, n: S.idle },
    { p: PAIRINGS[0]!, c: chacha, n: S.idle / 5 },
    { p: PAIRINGS[0]!, c: BASE13, n: S.idle },
  ];
  for (const { p, c, n } of runs) {
    const label = `${p.header}, ${caseLabel(c).split(" ")[1]}`;
    progress(`heap: ${n} idle ${label} connections`);
    const ok = await checked(p, c);
    try {
      if (!ok.ok) throw new Error(ok.reason);
      const h = await heapPerEnd(p, c, n);
      rows.push([
        label,
        `${n}`,
        h.heap,
        h.heapExternal,
        h.rss,
        h.gc ? "yes" : "no (figures include garbage)",
      ]);
      json[`${p.id}/${caseLabel(c)}`] = { connections: n, ...h };
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      rows.push([label, `${n}`, `n/a ${notes.ref(`${p.header}: ${reason}`)}`]);
      json[`${p.id}/${caseLabel(c)}`] = { error: reason };
    }
  }
  report.heap = json;
  return () =>
    printTable(
      "Bytes per end of an idle established connection (TLS 1.3 x25519 ecdsa-p256); " +
        "node:tls keeps its TLS state in native memory, seen only in rss",
      ["implementation", "connections", "heap", "heap+external", "rss", "gc before reading"],
      rows,
    );
}

async function forgeSection(): Promise<void> {
  progress("forge: handshakes and bulk");
  const hs =
    (await row(FORGE_PAIRINGS, FORGE_CASE, (p) => handshakeRound(p, FORGE_CASE, S.handshakeMs))).cells;
  const bulk =
    (await row(FORGE_PAIRINGS, FORGE_CASE, (p) => bulkRound(p, FORGE_CASE, 16384, false, S.bulkMs)))
      .cells;
  printTable(
    `node-forge (${caseLabel(FORGE_CASE)}: forge speaks nothing newer, airlock nothing older)`,
    ["figure", ...FORGE_PAIRINGS.map((p) => p.header), "forge/node"],
    [
      ["full handshakes/s", ...hs.map((r, i) => show(r, FORGE_PAIRINGS[i]!)), ratio(val(hs[0]), val(hs[3]))],
      [
        "bulk MB/s, 16 KiB one way",
        ...bulk.map((r, i) => show(r, FORGE_PAIRINGS[i]!)),
        ratio(val(bulk[0]), val(bulk[3])),
      ],
    ],
  );
  report.forge = {
    case: FORGE_CASE,
    handshakes: cellsJson(FORGE_PAIRINGS, hs),
    bulk16KiBOneWay: cellsJson(FORGE_PAIRINGS, bulk),
  };
}

/**
 * subtls and cadenas, clients only, each against node:tls in its one case: the peer's figures, airlock's
 * client's (default provider, noble) and node:tls's client's against the same server, and how many times
 * better airlock's figure is than the peer's.
 */
async function peersSection(): Promise<void> {
  const rows: Cell[][] = [];
  const json: unknown[] = [];
  /** How many times better `a` is than `b`: a / b for rates, b / a for times. */
  const better = (a: number | undefined, b: number | undefined, lowerIsBetter: boolean) =>
    lowerIsBetter ? ratio(b, a) : ratio(a, b);
  for (const { peer, c, pairings } of PEERS) {
    rows.push([`${peer.name} → node:tls, ${caseLabel(c)}`]);
    const figures: {
      label: string;
      key: string;
      lowerIsBetter?: boolean;
      measure: (p: Pairing) => Promise<number>;
    }[] = [
      { label: "full handshakes/s", key: "handshakes", measure: (p) => handshakeRound(p, c, S.handshakeMs) },
      ...[
        { size: 16384, bothWays: false },
        { size: 16384, bothWays: true },
        { size: 1024, bothWays: false },
      ].map(({ size, bothWays }) => ({
        label: `bulk MB/s, ${size / 1024} KiB ${bothWays ? "both ways" : "one way"}`,
        key: `bulk${size / 1024}KiB${bothWays ? "BothWays" : "OneWay"}`,
        measure: (p: Pairing) => bulkRound(p, c, size, bothWays, S.bulkMs),
      })),
      {
        label: "round trip of 100 bytes, µs",
        key: "latencyMicros",
        lowerIsBetter: true,
        measure: (p) => latencyRound(p, c, S.roundTrips),
      },
    ];
    const entry: Record<string, unknown> = { peer: peer.name, case: c, label: caseLabel(c) };
    for (const f of figures) {
      progress(`peers: ${peer.name}, ${f.label}`);
      const { cells } = await row(pairings, c, f.measure);
      const [theirs, ...airs] = cells.map(val);
      rows.push([
        `  ${f.label}`,
        ...cells.map((r, i) => show(r, pairings[i]!)),
        ...airs.slice(0, 2).map((air) => better(air, theirs, f.lowerIsBetter ?? false)),
      ]);
      entry[f.key] = cellsJson(pairings, cells);
    }
    json.push(entry);
  }
  printTable(
    `Pure-JS TLS clients against a node:tls server, in memory: the peer's client, airlock's (default ` +
      `provider, ${DEFAULT_PROVIDER}; noble), node:tls's. ×peer: how many times better airlock's figure is ` +
      `than the peer's (default; noble)`,
    ["figure", "peer→node", "air→node", "air(noble)→node", "node:tls", "×peer", "(noble)"],
    rows,
  );
  report.peers = json;
}

function cellsJson(pairings: readonly Pairing[], cells: readonly CellResult[]): Record<string, CellResult> {
  return Object.fromEntries(pairings.map((p, i) => [p.id, cells[i]!]));
}

// ---- run -----------------------------------------------------------------------------------------

const t0 = performance.now();
console.log(
  `airlock bench on ${runtime.name} ${runtime.version}${QUICK ? " (--quick)" : ""}, ` +
    `${
      new Date().toISOString().slice(0, 16)
    }: all peers in this process, in memory. airlock's rows without a ` +
    `provider run on its default here, ${DEFAULT_PROVIDER}; clients verify a CA → leaf chain unless a row ` +
    `says "no chain check"`,
);
const types = new Set<TestKeyType>([...CERTS]);
await prepareAirlock(types);
await prepareNode(types);
await prepareForge();
await prepareSubtls();
await prepareCadenas();

const printHeap = SECTIONS.has("heap") ? await heapSection() : undefined;
const prims = SECTIONS.has("floor") ? await floorSection() : undefined;
if (SECTIONS.has("handshakes")) await handshakeSection(prims);
if (SECTIONS.has("bulk")) {
  await bulkSection(prims);
  await bulkAdaptersSection();
}
if (SECTIONS.has("latency")) await latencySection();
printHeap?.();
if (SECTIONS.has("forge")) await forgeSection();
if (SECTIONS.has("peers")) await peersSection();

if (notes.all.length > 0) console.log(`\n${notes.all.join("\n")}`);
report.notes = notes.all;
const seconds = (performance.now() - t0) / 1000;
report.seconds = seconds;
mkdirSync(dirname(JSON_PATH), { recursive: true });
writeFileSync(JSON_PATH, JSON.stringify(report, null, 2) + "\n");
console.log(`\n${seconds.toFixed(0)} s; JSON written to ${JSON_PATH}`);
