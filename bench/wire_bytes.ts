/**
 * Bytes on the wire for one complete TLS 1.3 handshake, both directions, record headers included: airlock
 * against airlock, OpenSSL against OpenSSL and GnuTLS against GnuTLS, for the same choices. Never part of the
 * tests (it is a measurement); it fails loudly if a handshake does not complete.
 *
 *   npm run bench:bytes                               (node --import tsx bench/wire_bytes.ts)
 *   deno task bench:bytes                             (deno run -A bench/wire_bytes.ts)
 *
 * Every handshake makes the same choices, those a small link would make: TLS 1.3 only,
 * TLS_AES_128_GCM_SHA256, x25519, an ECDSA P-256 leaf for "localhost" issued by an intermediate (the server
 * sends leaf and intermediate; the client trusts the root and checks the chain and the name), SNI, no session
 * tickets, no middlebox compatibility mode (no legacy session id, no ChangeCipherSpec). The rows vary how the
 * server authenticates: the chain, the chain compressed (RFC 8879), a raw public key (RFC 7250), an external
 * PSK with x25519 (RFC 8446 `psk_dhe_ke`), and the chain with Encrypted Client Hello accepted (airlock only:
 * neither C tool has ECH; elsewhere airlock sends no GREASE ECH, as they do not); then all of them again with records of at most 512 bytes, and at
 * most 64 (RFC 8449 record_size_limit on both sides; OpenSSL, which has no record_size_limit, asks for
 * 512-byte fragments with max_fragment_length, RFC 6066; neither C tool goes below 512).
 *
 * How it counts. airlock's pair runs in memory, and the bytes each engine hands to the other until both
 * handshakes are done are the count. The C peers run as processes (`openssl s_server`/`s_client`,
 * `gnutls-serv`/`gnutls-cli`) through a TCP relay on 127.0.0.1 that keeps every byte of each direction; the
 * client is closed once its handshake is done, so each direction ends with the close_notify it sends, and
 * nothing else: tickets are off. The count is every record up to those trailing alerts (a TLS 1.3 alert
 * record under AES-128-GCM is 24 bytes: header, 2 bytes of alert, the content type and a 16-byte tag).
 * A cell is "—" where the stack cannot make that choice (OpenSSL 3.0 has no RFC 7250, 8879 or 8449).
 *
 * `--json PATH` writes the figures (default bench/results/wire-bytes.json).
 * @module
 */

import type net from "node:net";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import {
  certCompressors,
  type ClientConfig,
  createBioPair,
  createClient,
  createServer,
  encodeEchConfigList,
  generateEchKey,
  loadPrivateKey,
  nobleProvider,
  type ServerConfig,
  SslError,
  type TlsEngine,
} from "../mod.ts";
import { concat } from "../suites/bytes.ts";
import { pemEncode } from "../suites/pem.ts";
import { publicKeyFromCertificate } from "../verify/mod.ts";
import { generateChain, type TestChain } from "../testing/pki.ts";
import {
  freePort,
  requireGnutls,
  requireOpenssl,
  type Scope,
  scoped,
  startGnutlsServ,
} from "../testing/peers.ts";

/** How the server authenticates in a row. */
export type Auth =
  | "chain"
  | "chain, zlib"
  | "chain, brotli"
  | "raw public key"
  | "external PSK"
  | "ECH, chain"
  | "GREASE ECH, chain";

/** One row: an authentication and a record_size_limit (none: the protocol's 16385). */
export interface Row {
  readonly auth: Auth;
  readonly recordSizeLimit?: number;
}

/** The bytes of one handshake: client to server, server to client. */
export interface Count {
  readonly toServer: number;
  readonly toClient: number;
}

/** A stack's cell: its count, or why it cannot make the row's choice. */
type Cell = Count | { readonly unsupported: string };

/** What every stack's row setup needs: the chain and its files, and the external PSK. */
interface Material {
  readonly pki: TestChain;
  /** The leaf's SubjectPublicKeyInfo, DER and PEM (for raw public keys). */
  readonly spki: Uint8Array;
  readonly spkiPem: string;
  readonly psk: { readonly identity: string; readonly key: Uint8Array };
}

/** The ECH key of the "ECH, chain" rows (a fresh X25519 key per run: sizes do not depend on it). */
const ECH_KEY = generateEchKey(
  { publicName: "public.example", configId: 1, maximumNameLength: 32 },
  nobleProvider,
  (n) => crypto.getRandomValues(new Uint8Array(n)),
);

const AUTHS: readonly Auth[] = [
  "chain",
  "chain, zlib",
  "chain, brotli",
  "raw public key",
  "external PSK",
  "ECH, chain",
  "GREASE ECH, chain",
];
/** No limit, the smallest limit the C peers' tools take (512), and 64, the smallest RFC 8449 allows. */
const LIMITS = [undefined, 512, 64] as const;
const ROWS: readonly Row[] = LIMITS.flatMap((limit) =>
  AUTHS.map((auth) => (limit ? { auth, recordSizeLimit: limit } : { auth }))
);

// ---- counting records --------------------------------------------------------------------------------

/** A record's content type and length, as its header gives them. */
interface RecordHead {
  readonly type: number;
  readonly length: number;
}

/** Split a direction's bytes into records; throws if they do not end on a record boundary. */
function records(bytes: Uint8Array): RecordHead[] {
  const out: RecordHead[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 5 > bytes.length) throw new Error(`A record header is cut off at byte ${at}`);
    const length = (bytes[at + 3]! << 8) | bytes[at + 4]!;
    if (at + 5 + length > bytes.length) throw new Error(`A record is cut off at byte ${at}`);
    out.push({ type: bytes[at]!, length });
    at += 5 + length;
  }
  return out;
}

/** A TLS 1.3 alert under AES-128-GCM: 2 bytes of alert, 1 of content type, a 16-byte tag. */
const PROTECTED_ALERT = 2 + 1 + 16;
const ALERT = 21;
const APPLICATION_DATA = 23;

/** The bytes of a direction's handshake: every record but the alerts it ends with (the close_notify). */
function handshakeBytes(bytes: Uint8Array): number {
  const rs = records(bytes);
  let end = rs.length;
  while (
    end > 0 &&
    (rs[end - 1]!.type === ALERT ||
      (rs[end - 1]!.type === APPLICATION_DATA && rs[end - 1]!.length === PROTECTED_ALERT))
  ) end--;
  return rs.slice(0, end).reduce((sum, r) => sum + 5 + r.length, 0);
}

/** A relay from a port on 127.0.0.1 to `target` that keeps what each direction carried. */
async function relay(scope: Scope, target: number): Promise<{ port: number; done: Promise<Count> }> {
  const listener = await scope.listen();
  const done = (async () => {
    const client = await listener.accepted;
    const server = await scope.connect(target);
    const carried = (from: net.Socket, to: net.Socket) =>
      new Promise<Uint8Array>((resolve) => {
        const chunks: Uint8Array[] = [];
        from.on("data", (chunk: Uint8Array) => {
          chunks.push(new Uint8Array(chunk));
          to.write(chunk);
        });
        from.on("end", () => {
          to.end();
          resolve(concat(...chunks));
        });
        from.on("error", () => resolve(concat(...chunks)));
      });
    const [up, down] = await Promise.all([carried(client, server), carried(server, client)]);
    return { toServer: handshakeBytes(up), toClient: handshakeBytes(down) };
  })();
  return { port: listener.port, done };
}

// ---- airlock -------------------------------------------------------------------------------------

/** The client and server configs of a row, or why airlock cannot make its choice. */
async function airlockConfigs(
  row: Row,
  m: Material,
): Promise<{ client: ClientConfig; server: ServerConfig } | { unsupported: string }> {
  const common = {
    minVersion: "TLSv1.3",
    cipherSuites: ["TLS_AES_128_GCM_SHA256"],
    groups: ["x25519"],
    ...(row.recordSizeLimit ? { recordSizeLimit: row.recordSizeLimit } : {}),
  } as const;
  const client: ClientConfig = {
    ...common,
    serverName: "localhost",
    trustAnchors: [m.pki.rootDer],
    middleboxCompat: false,
    // No GREASE ECH (the C tools send none): the "ECH, chain" row is where ECH is counted.
    ech: { grease: false },
  };
  const server: ServerConfig = {
    ...common,
    certificates: [{ chain: m.pki.chain, key: await loadPrivateKey(m.pki.keyPkcs8) }],
    tickets: false,
  };
  if (row.auth === "chain") return { client, server };
  if (row.auth === "chain, zlib" || row.auth === "chain, brotli") {
    const certificateCompression = certCompressors([row.auth === "chain, zlib" ? "zlib" : "brotli"]);
    if (certificateCompression.length === 0) return { unsupported: "this runtime has no brotli" };
    return { client: { ...client, certificateCompression }, server: { ...server, certificateCompression } };
  }
  if (row.auth === "external PSK") {
    const psks = [{ identity: m.psk.identity, key: m.psk.key }];
    const { trustAnchors: _, ...unverified } = client;
    return { client: { ...unverified, psks }, server: { ...common, psks, tickets: false } };
  }
  if (row.auth === "ECH, chain") {
    // Encrypted Client Hello accepted: the inner hello (localhost, padded) sealed inside an outer one.
    const configList = encodeEchConfigList([ECH_KEY.config]);
    return { client: { ...client, ech: { configList } }, server: { ...server, echKeys: [ECH_KEY] } };
  }
  if (row.auth === "GREASE ECH, chain") {
    // The client's default: GREASE ECH (a random outer extension) when it has no ECH configuration.
    const { ech: _, ...greasing } = client;
    return { client: greasing, server };
  }
  if (row.auth === "raw public key") {
    const { trustAnchors: _, ...unverified } = client;
    return {
      client: { ...unverified, rawPublicKeys: { pinnedKeys: [m.spki] } },
      server: { ...server, certificates: [], rawPublicKey: { key: server.certificates![0]!.key } },
    };
  }
  throw new Error(`No airlock configuration for ${label(row)}`);
}

/** Run an airlock pair in memory and count what each engine hands the other. */
async function airlockCount(row: Row, m: Material): Promise<Cell> {
  const configs = await airlockConfigs(row, m);
  if ("unsupported" in configs) return configs;
  const c = createBioPair(), s = createBioPair();
  const client = createClient(configs.client, c.engine);
  const server = createServer(configs.server, s.engine);
  let toServer = 0, toClient = 0;
  for (let i = 0; i < 200; i++) {
    const rc = client.doHandshake(), rs = server.doHandshake();
    const up = c.network.read(), down = s.network.read();
    s.network.write(up);
    c.network.write(down);
    toServer += up.length;
    toClient += down.length;
    if (rc === 1 && rs === 1 && up.length === 0 && down.length === 0) return { toServer, toClient };
    await settle(client, rc);
    await settle(server, rs);
  }
  throw new Error(`airlock's handshake for ${label(row)} did not finish`);
}

async function settle(e: TlsEngine, ret: number): Promise<void> {
  if (ret === 1) return;
  const why = e.getError(ret);
  if (why === SslError.WANT_ASYNC) await e.asyncWait();
  else if (why !== SslError.WANT_READ && why !== SslError.WANT_WRITE) {
    throw e.error ?? new Error(`error ${why}`);
  }
}

// ---- OpenSSL -------------------------------------------------------------------------------------

const OPENSSL_COMMON = [
  "-tls1_3",
  "-ciphersuites",
  "TLS_AES_128_GCM_SHA256",
  "-groups",
  "X25519",
  "-no_middlebox",
];

async function opensslCount(row: Row, m: Material): Promise<Cell> {
  if (row.recordSizeLimit && row.recordSizeLimit < 512) {
    return {
      unsupported:
        "OpenSSL 3.0 has no record_size_limit (RFC 8449): its max_fragment_length goes down to 512",
    };
  }
  if (row.auth.startsWith("chain, ")) {
    return { unsupported: "OpenSSL 3.0 has no certificate compression (RFC 8879)" };
  }
  if (row.auth === "raw public key") return { unsupported: "OpenSSL 3.0 has no raw public keys (RFC 7250)" };
  if (row.auth === "ECH, chain" || row.auth === "GREASE ECH, chain") {
    return { unsupported: "OpenSSL 3.0 has no ECH (it comes in 4.0)" };
  }
  requireOpenssl();
  return await scoped(async (scope) => {
    const file = files(scope, m);
    const port = await freePort();
    const auth = row.auth === "external PSK"
      ? ["-nocert", "-psk", hex(m.psk.key), "-psk_identity", m.psk.identity]
      : ["-cert", file("leaf.pem"), "-cert_chain", file("intermediate.pem"), "-key", file("key.pem")];
    const server = scope.spawn("openssl", [
      "s_server",
      "-accept",
      `127.0.0.1:${port}`,
      "-naccept",
      "1",
      "-num_tickets",
      "0",
      ...OPENSSL_COMMON,
      ...auth,
    ]);
    await server.waitFor(/^ACCEPT$/m);
    const { port: via, done } = await relay(scope, port);
    const client = scope.spawn("openssl", [
      "s_client",
      "-connect",
      `127.0.0.1:${via}`,
      "-servername",
      "localhost",
      ...OPENSSL_COMMON,
      ...(row.recordSizeLimit ? ["-maxfraglen", String(row.recordSizeLimit)] : []),
      ...(row.auth === "external PSK"
        ? ["-psk", hex(m.psk.key), "-psk_identity", m.psk.identity]
        : ["-CAfile", file("root.pem"), "-verify_return_error", "-verify_hostname", "localhost"]),
    ]);
    // "Reused" for a PSK handshake: OpenSSL keeps an external PSK as a session.
    await client.waitFor(/^(New|Reused), TLSv1\.3, Cipher is TLS_AES_128_GCM_SHA256$/m);
    if (row.auth !== "external PSK") await client.waitFor(/Verify return code: 0 \(ok\)/);
    client.child.stdin!.end(); // s_client sends close_notify and quits at the end of its input
    return await done;
  });
}

// ---- GnuTLS --------------------------------------------------------------------------------------

function gnutlsPriority(row: Row): string {
  const kx = row.auth === "external PSK" ? ":-KX-ALL:+ECDHE-PSK" : "";
  const ctype = row.auth === "raw public key" ? ":+CTYPE-SRV-RAWPK" : "";
  return "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:-GROUP-ALL:+GROUP-X25519" + kx + ctype +
    ":%DISABLE_TLS13_COMPAT_MODE";
}

async function gnutlsCount(row: Row, m: Material): Promise<Cell> {
  if (row.recordSizeLimit && row.recordSizeLimit < 512) {
    return { unsupported: "gnutls-cli's --recordsize takes 512, 1024, 2048 or 4096 only" };
  }
  if (row.auth === "ECH, chain" || row.auth === "GREASE ECH, chain") {
    return { unsupported: "GnuTLS 3.7 has no ECH" };
  }
  requireGnutls();
  return await scoped(async (scope) => {
    const file = files(scope, m);
    const priority = `--priority=${gnutlsPriority(row)}`;
    const limit = row.recordSizeLimit ? [`--recordsize=${row.recordSizeLimit}`] : [];
    const compress = row.auth.startsWith("chain, ") ? [`--compress-cert=${row.auth.slice(7)}`] : [];
    const serverAuth = row.auth === "external PSK"
      ? [`--pskpasswd=${file("psk.passwd")}`]
      : row.auth === "raw public key"
      ? [`--rawpkfile=${file("spki.pem")}`, `--rawpkkeyfile=${file("key.pem")}`]
      : [`--x509certfile=${file("chain.pem")}`, `--x509keyfile=${file("key.pem")}`];
    const { port } = await startGnutlsServ(scope, [
      priority,
      "--noticket",
      ...limit,
      ...compress,
      ...serverAuth,
    ]);
    const { port: via, done } = await relay(scope, port);
    const clientAuth = row.auth === "external PSK"
      ? [`--pskusername=${m.psk.identity}`, `--pskkey=${hex(m.psk.key)}`]
      : row.auth === "raw public key"
      ? ["--insecure"] // gnutls-cli has no way to pin a raw key; the count is the same either way
      : [`--x509cafile=${file("root.pem")}`, "--verify-hostname=localhost"];
    const client = scope.spawn("gnutls-cli", [
      "-p",
      String(via),
      "127.0.0.1",
      "--sni-hostname=localhost",
      priority,
      "--noticket",
      ...limit,
      ...compress,
      ...clientAuth,
    ]);
    await client.waitFor(/- Handshake was completed/);
    client.child.stdin!.end(); // gnutls-cli says goodbye (close_notify) at the end of its input
    return await done;
  });
}

/**
 * GnuTLS as built here: a build without zlib and brotli (Debian 12's 3.7.9) takes `--compress-cert` and
 * ignores it, so a compressed row whose ClientHello is no longer than the plain one's offered nothing.
 */
async function gnutlsCompressing(row: Row, m: Material, plain: Cell | undefined): Promise<Cell> {
  const cell = await gnutlsCount(row, m);
  if (row.auth.startsWith("chain, ") && plain && !("unsupported" in plain) && !("unsupported" in cell)) {
    if (cell.toServer <= plain.toServer) {
      return { unsupported: "this GnuTLS build ignores --compress-cert (built without zlib and brotli)" };
    }
  }
  return cell;
}

// ---- the run -------------------------------------------------------------------------------------

function files(scope: Scope, m: Material): (name: string) => string {
  const [leaf, inter] = m.pki.chain.map((der) => pemEncode(der, "CERTIFICATE"));
  return scope.writeFiles({
    "root.pem": m.pki.rootPem,
    "leaf.pem": leaf!,
    "intermediate.pem": inter!,
    "chain.pem": m.pki.chainPem,
    "key.pem": m.pki.keyPem,
    "spki.pem": m.spkiPem,
    "psk.passwd": `${m.psk.identity}:${hex(m.psk.key)}\n`,
  });
}

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

function label(row: Row): string {
  return row.recordSizeLimit ? `${row.auth}, record_size_limit ${row.recordSizeLimit}` : row.auth;
}

function show(cell: Cell): string {
  if ("unsupported" in cell) return "—";
  return `${cell.toServer} + ${cell.toClient} = ${cell.toServer + cell.toClient}`;
}

async function material(): Promise<Material> {
  const pki = await generateChain({ intermediate: true, keyType: "ecdsa-p256" });
  const spki = publicKeyFromCertificate(pki.chain[0]!).spki;
  return {
    pki,
    spki,
    spkiPem: pemEncode(spki, "PUBLIC KEY"),
    psk: { identity: "airlock-bench", key: crypto.getRandomValues(new Uint8Array(32)) },
  };
}

async function main(): Promise<void> {
  const m = await material();
  const stacks = [
    ["airlock", airlockCount],
    ["OpenSSL", opensslCount],
    ["GnuTLS", gnutlsCompressing],
  ] as const;
  const results: { row: string; cells: Record<string, Cell> }[] = [];
  console.log(`Bytes on the wire for one TLS 1.3 handshake, client→server + server→client = total`);
  console.log(`(${requireOpenssl()}; ${requireGnutls()}; x25519, TLS_AES_128_GCM_SHA256, ECDSA P-256)\n`);
  console.log(`| Server authenticates with | ${stacks.map(([name]) => name).join(" | ")} |`);
  console.log(`|---|${stacks.map(() => "---").join("|")}|`);
  const plain = new Map<number | undefined, Record<string, Cell>>(); // the chain rows, by record_size_limit
  for (const row of ROWS) {
    const cells: Record<string, Cell> = {};
    for (const [name, count] of stacks) {
      cells[name] = await count(row, m, plain.get(row.recordSizeLimit)?.[name]);
    }
    if (row.auth === "chain") plain.set(row.recordSizeLimit, cells);
    results.push({ row: label(row), cells });
    console.log(`| ${label(row)} | ${stacks.map(([name]) => show(cells[name]!)).join(" | ")} |`);
  }
  const notes = new Set(
    results.flatMap((r) => Object.values(r.cells).flatMap((c) => "unsupported" in c ? [c.unsupported] : [])),
  );
  for (const note of notes) console.log(`— ${note}`);
  const here = dirname(fileURLToPath(import.meta.url));
  const path = process.argv.includes("--json")
    ? process.argv[process.argv.indexOf("--json") + 1]!
    : join(here, "results", "wire-bytes.json");
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify({ date: new Date().toISOString(), results }, null, 2) + "\n");
}

await main();
