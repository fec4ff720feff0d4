/**
 * `airlock server`: accept TLS connections on a TCP port and either echo what each client sends
 * (`--echo`) or answer an HTTP/1.x GET with a page describing the connection (`--www`, like
 * `openssl s_server -www`). Prints `ACCEPT HOST:PORT` once listening, and one line per connection.
 * @module
 */

import net from "node:net";
import process from "node:process";
import { type CertifiedKey, createBioPair, createServer, type ServerConfig } from "../mod.ts";
import { connectTls, type TlsStream } from "../adapters/stream.ts";
import { nodeSocketStreams } from "../adapters/node.ts";
import { type FlagSpec, parseFlags, splitList, UsageError } from "./_args.ts";
import { describePeer, rawpkFlags, rawpkVersions, readPinnedKeys, readRawKey } from "./_rawpk.ts";
import {
  compressionOptions,
  keyLogTo,
  parseGroups,
  portNumber,
  PROTOCOL_FLAGS,
  readCertificates,
  readCertifiedKey,
  readPassphrase,
  suiteOptions,
  traceTo,
  versionOptions,
} from "./_common.ts";
import { describeError } from "./client.ts";
import { describePsk, PSK_FLAGS, pskOptions } from "./_psk.ts";
import { ECH_SERVER_FLAGS, echServerOptions } from "./_ech.ts";

/** Flags of `airlock server`. */
export const SERVER_FLAGS: Record<string, FlagSpec> = {
  ...PROTOCOL_FLAGS,
  accept: { kind: "string", help: "TCP port to listen on (0: any free port)" },
  host: { kind: "string", help: "address to listen on (default 127.0.0.1)" },
  cert: { kind: "list", help: "certificate chain (PEM); repeat with --key for several" },
  key: { kind: "list", help: "private key (PEM) for the --cert at the same position" },
  cafile: { kind: "string", help: "PEM trust anchors for client certificates" },
  "verify-client": { kind: "boolean", help: "require a client certificate valid under --cafile" },
  alpn: { kind: "string", help: "ALPN protocols accepted, in preference order" },
  echo: { kind: "boolean", help: "echo application data back" },
  www: { kind: "boolean", help: "answer HTTP GET with a page about the connection" },
  naccept: { kind: "string", help: "exit after this many connections" },
  serverpref: { kind: "boolean", help: "pick the cipher suite in our order, not the client's" },
  ...PSK_FLAGS,
  ...rawpkFlags(
    "present the first --key as a raw public key to clients that take one (RFC 7250, TLS 1.3); --cert optional",
    "PEM PUBLIC KEY file of client raw keys to accept (repeatable); with --verify-client, required",
  ),
  ...ECH_SERVER_FLAGS,
};

const HANDSHAKE_TIMEOUT_MS = 10_000;
const MAX_REQUEST = 16 * 1024;

/** Run `airlock server`; resolves to the exit code when the server stops. */
export async function runServer(argv: readonly string[]): Promise<number> {
  const f = parseFlags(argv, SERVER_FLAGS);
  if (f.positional.length > 0) throw new UsageError(`unexpected argument "${f.positional[0]}"`);
  const versions = versionOptions(f.booleans);
  const acceptFlag = f.strings.get("accept");
  if (acceptFlag === undefined) throw new UsageError("--accept PORT is required");
  const port = portNumber(acceptFlag, "--accept");
  const host = f.strings.get("host") ?? "127.0.0.1";
  const echo = f.booleans.has("echo"), www = f.booleans.has("www");
  if (echo === www) throw new UsageError("pass exactly one of --echo and --www");
  const certs = f.lists.get("cert") ?? [], keys = f.lists.get("key") ?? [];
  const psk = pskOptions(f);
  const rawpk = f.booleans.has("rawpk");
  const rawOnly = rawpk && certs.length === 0 && keys.length === 1;
  if (certs.length === 0 && !psk.psks && !rawOnly) {
    throw new UsageError("--cert PEM --key PEM (or --psk HEX, or --rawpk --key PEM) is required");
  }
  if (certs.length !== keys.length && !rawOnly) throw new UsageError("each --cert needs its --key");
  const certificates: CertifiedKey[] = [];
  const passphrase = readPassphrase(f.strings.get("pass"));
  for (const [i, c] of certs.entries()) certificates.push(await readCertifiedKey(c, keys[i]!, passphrase));
  const cafile = f.strings.get("cafile");
  const pins = f.lists.has("pin-key") ? readPinnedKeys(f.lists.get("pin-key")!) : undefined;
  const verifyClient = f.booleans.has("verify-client");
  if (verifyClient && !cafile && !pins) throw new UsageError("--verify-client needs --cafile or --pin-key");
  const naccept = f.strings.has("naccept") ? Number(f.strings.get("naccept")) : Infinity;
  if (!(naccept > 0)) throw new UsageError("--naccept expects a positive number");

  // One config object for every connection: its ticket keys are shared, so clients can resume.
  const config: ServerConfig = {
    certificates,
    ...(cafile || pins
      ? {
        clientAuth: {
          required: verifyClient,
          ...(cafile ? { trustAnchors: readCertificates(cafile, "CA file") } : {}),
          ...(pins ? { rawPublicKeys: { pinnedKeys: pins } } : {}),
        },
      }
      : {}),
    ...(rawpk
      ? { rawPublicKey: { key: certificates[0]?.key ?? await readRawKey(keys[0]!, passphrase) } }
      : {}),
    ...(rawOnly ? rawpkVersions(f) : {}),
    ...(f.strings.has("alpn") ? { alpnProtocols: splitList(f.strings.get("alpn")!) } : {}),
    ...versions,
    ...suiteOptions(f.strings),
    ...(f.strings.has("groups") ? { groups: parseGroups(f.strings.get("groups")!) } : {}),
    ...(f.booleans.has("serverpref") ? { cipherSuitePreference: "server" as const } : {}),
    ...psk,
    ...compressionOptions(f.strings.get("compress-cert")),
    ...echServerOptions(f),
  };
  // The configuration is checked once before listening (a key that is not its certificate's, say): exit 2 now,
  // not an alert on the first connection.
  try {
    createServer(config, createBioPair().engine);
  } catch (e) {
    if (e instanceof TypeError || e instanceof RangeError) throw new UsageError(e.message);
    throw e;
  }
  const keylog = f.strings.get("keylogfile");
  const trace = f.booleans.has("trace");

  let served = 0, failures = 0;
  const server = net.createServer({ allowHalfOpen: true });
  const done = new Promise<void>((resolve) => server.once("close", resolve));
  const active = new Set<Promise<void>>();
  server.on("connection", (socket) => {
    const id = ++served;
    if (served >= naccept) server.close();
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    const job: Promise<void> = handle(socket, config, keylog, www, trace ? `[${id}] ` : undefined).then(
      (summary) => void process.stderr.write(`[${id}] ${peer}: ${summary}\n`),
      (e) => {
        failures++;
        process.stderr.write(`[${id}] ${peer}: failed: ${describeError(e)}\n`);
      },
    );
    active.add(job);
    job.finally(() => active.delete(job));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
  } catch (e) {
    process.stderr.write(
      `airlock: cannot listen on ${host}:${port}: ${(e as NodeJS.ErrnoException).code ?? e}\n`,
    );
    return 1;
  }
  const addr = server.address() as net.AddressInfo;
  process.stdout.write(`ACCEPT ${addr.address}:${addr.port}\n`);
  const stop = () => server.close();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  await done;
  await Promise.all([...active]);
  process.off("SIGINT", stop);
  process.off("SIGTERM", stop);
  return failures > 0 && Number.isFinite(naccept) ? 1 : 0;
}

async function handle(
  socket: net.Socket,
  config: ServerConfig,
  keylog: string | undefined,
  www: boolean,
  trace: string | undefined,
): Promise<string> {
  const { engine, network } = createBioPair();
  const tls = createServer(config, engine);
  keyLogTo(tls, keylog);
  traceTo(tls, trace !== undefined, trace);
  const conn = await connectTls(tls, network, nodeSocketStreams(socket), {
    handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
  });
  const i = conn.info;
  const summary =
    `${i.version} ${i.cipherSuite} ${i.group} alpn=${i.alpn ?? "-"} sni=${i.serverName ?? "-"}` +
    ` resumed=${i.resumed ? "yes" : "no"} client-cert=${describePeer(i)}` +
    (i.externalPsk ? ` psk=${describePsk(i)}` : "") + (i.ech ? ` ech=${i.ech}` : "");
  if (www) await serveWww(conn);
  else await serveEcho(conn);
  return summary;
}

async function serveEcho(conn: TlsStream): Promise<void> {
  // Echo until the client's close_notify, then close ours.
  await conn.readable.pipeTo(conn.writable);
  await conn.closed;
}

/** The end of an HTTP request head: a blank line, with CRLF or bare LF line ends (RFC 9112 §2.2 allows LF). */
const HEAD_END = /\r?\n\r?\n/;

async function serveWww(conn: TlsStream): Promise<void> {
  const reader = conn.readable.getReader();
  let request = "", ended = false;
  const decoder = new TextDecoder();
  while (!HEAD_END.test(request) && request.length < MAX_REQUEST) {
    const { value, done } = await reader.read();
    if (done) {
      ended = true;
      break;
    }
    request += decoder.decode(value, { stream: true });
  }
  reader.releaseLock();
  // A client that closes before a whole request gets our close_notify and nothing else (as `s_server -www`).
  if (ended && !HEAD_END.test(request)) return await conn.close();
  const line = request.split(/\r?\n/, 1)[0] ?? "";
  const i = conn.info;
  const ok = /^GET \S+ HTTP\/1\.[01]$/.test(line);
  const body = ok
    ? [
      "<!doctype html><title>airlock</title><pre>",
      `Protocol:         ${i.version}`,
      `Cipher suite:     ${i.cipherSuite}`,
      `Group:            ${i.group}${i.helloRetry ? " (after HelloRetryRequest)" : ""}`,
      `Signature scheme: ${
        i.signatureScheme ?? (i.externalPsk ? "(none: external PSK)" : "(none: resumed)")
      }`,
      `Resumed:          ${i.resumed ? "yes" : "no"}`,
      `External PSK:     ${describePsk(i) ?? "(none)"}`,
      `ALPN:             ${i.alpn ?? "(none)"}`,
      `SNI:              ${i.serverName ?? "(none)"}`,
      `Client cert:      ${describePeer(i)}`,
      "</pre>",
      "",
    ].join("\n")
    : "Bad request\n";
  const status = ok ? "200 OK" : "400 Bad Request";
  const head = `HTTP/1.0 ${status}\r\nContent-Type: ${ok ? "text/html" : "text/plain"}; charset=utf-8\r\n` +
    `Content-Length: ${new TextEncoder().encode(body).length}\r\nConnection: close\r\n\r\n`;
  const writer = conn.writable.getWriter();
  await writer.write(new TextEncoder().encode(head + body));
  writer.releaseLock();
  await conn.close();
}
