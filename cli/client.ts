/**
 * `airlock client`: connect, handshake, report what was negotiated on stderr, then copy stdin → TLS and
 * TLS → stdout until both ends are done; close with close_notify. Exit 0 only on a clean close.
 * @module
 */

import net from "node:net";
import process from "node:process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { type ClientConfig, createBioPair, createClient, on, TlsError, TlsSession } from "../mod.ts";
import { connectTls } from "../adapters/stream.ts";
import { nodeSocketStreams } from "../adapters/node.ts";
import { type FlagSpec, parseFlags, splitList, UsageError } from "./_args.ts";
import { describePeer, rawpkFlags, rawpkVersions, readPinnedKeys, readRawKey } from "./_rawpk.ts";
import {
  compressionOptions,
  hostPort,
  keyLogTo,
  parseGroups,
  PROTOCOL_FLAGS,
  readCertificates,
  readCertifiedKey,
  readPassphrase,
  suiteOptions,
  systemTrustAnchors,
  traceTo,
  versionOptions,
} from "./_common.ts";
import { describePsk, PSK_FLAGS, pskOptions } from "./_psk.ts";
import { describeEch, describeEchRejection, ECH_CLIENT_FLAGS, echClientOptions } from "./_ech.ts";

/** Flags of `airlock client`. */
export const CLIENT_FLAGS: Record<string, FlagSpec> = {
  ...PROTOCOL_FLAGS,
  connect: { kind: "string", help: "HOST:PORT to connect to (required)" },
  servername: { kind: "string", help: "name to send as SNI and to verify (default: HOST)" },
  cafile: {
    kind: "string",
    help: "PEM file of trust anchors to verify the server against (default: the system's)",
  },
  insecure: { kind: "boolean", help: "do not verify the server's certificate (tests only)" },
  cert: { kind: "string", help: "client certificate chain (PEM), for mTLS" },
  key: { kind: "string", help: "client private key (PEM), for mTLS" },
  alpn: { kind: "string", help: "ALPN protocols to offer, comma-separated" },
  session: { kind: "string", help: "resume the session saved in this file, and save the newest one there" },
  "connect-timeout": { kind: "string", help: "seconds for connect + handshake (default 15)" },
  ...PSK_FLAGS,
  ...rawpkFlags(
    "take the server's raw public key (RFC 7250, TLS 1.3); with --key and no --cert, authenticate with a raw key",
    "PEM PUBLIC KEY file of server keys to accept with --rawpk (repeatable)",
  ),
  ...ECH_CLIENT_FLAGS,
};

/** Run `airlock client`; resolves to the exit code. */
export async function runClient(argv: readonly string[]): Promise<number> {
  const f = parseFlags(argv, CLIENT_FLAGS);
  if (f.positional.length > 0) throw new UsageError(`unexpected argument "${f.positional[0]}"`);
  const versions = versionOptions(f.booleans);
  const target = f.strings.get("connect");
  if (!target) throw new UsageError("--connect HOST:PORT is required");
  const { host, port } = hostPort(target, "--connect");
  const serverName = f.strings.get("servername") ?? host;
  const cafile = f.strings.get("cafile");
  const insecure = f.booleans.has("insecure");
  if (cafile && insecure) throw new UsageError("--insecure and --cafile exclude each other");
  const certPath = f.strings.get("cert"), keyPath = f.strings.get("key");
  const rawpk = f.booleans.has("rawpk");
  if (rawpk !== f.lists.has("pin-key")) throw new UsageError("--rawpk and --pin-key go together");
  if ((certPath === undefined) !== (keyPath === undefined) && !(rawpk && certPath === undefined)) {
    throw new UsageError("--cert and --key go together");
  }
  const timeoutMs = Number(f.strings.get("connect-timeout") ?? "15") * 1000;
  if (!(timeoutMs > 0)) throw new UsageError("--connect-timeout expects a positive number of seconds");

  // Without --cafile (and without --insecure), the system's trust store, as curl does; with --psk alone, the PSK
  // is the only way the server may authenticate. With --rawpk, a chain is taken only as a fallback, when
  // --cafile or --insecure says how.
  const psk = pskOptions(f);
  const system = !cafile && !insecure && !rawpk && !psk.psks ? systemTrustAnchors() : undefined;
  const passphrase = readPassphrase(f.strings.get("pass"));
  const config: ClientConfig = {
    serverName,
    ...(cafile ? { trustAnchors: readCertificates(cafile, "CA file") } : {}),
    ...(system ? { trustAnchors: system.anchors } : {}),
    ...(insecure ? { dangerouslyDisableCertificateVerification: true } : {}),
    ...(certPath && keyPath
      ? {
        clientCertificate: await readCertifiedKey(certPath, keyPath, passphrase),
      }
      : {}),
    ...(f.strings.has("alpn") ? { alpnProtocols: splitList(f.strings.get("alpn")!) } : {}),
    ...versions,
    ...suiteOptions(f.strings),
    ...(f.strings.has("groups") ? { groups: parseGroups(f.strings.get("groups")!) } : {}),
    ...psk,
    ...(rawpk
      ? {
        ...rawpkVersions(f),
        rawPublicKeys: {
          serverTypes: cafile || insecure
            ? ["RawPublicKey" as const, "X509" as const]
            : ["RawPublicKey" as const],
          pinnedKeys: readPinnedKeys(f.lists.get("pin-key")!),
          ...(keyPath ? { clientKey: await readRawKey(keyPath, passphrase) } : {}),
        },
      }
      : {}),
    ...compressionOptions(f.strings.get("compress-cert")),
    ...echClientOptions(f),
  };
  const sessionFile = f.strings.get("session");
  const saved = sessionFile ? loadSession(sessionFile) : undefined;
  const { engine, network } = createBioPair();
  let client;
  try {
    client = createClient(saved ? { ...config, session: saved } : config, engine);
  } catch (e) {
    if (e instanceof TypeError || e instanceof RangeError) throw new UsageError(e.message);
    throw e;
  }
  keyLogTo(client, f.strings.get("keylogfile"));
  traceTo(client, f.booleans.has("trace"));
  if (sessionFile) on(client, "session", (s) => writeFileSync(sessionFile, s.toBytes(), { mode: 0o600 }));

  const socket = net.connect({ host, port, allowHalfOpen: true });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve).once("error", reject);
      setTimeout(() => reject(new Error("timed out")), timeoutMs).unref?.();
    });
  } catch (e) {
    socket.destroy();
    process.stderr.write(
      `airlock: cannot connect to ${target}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`,
    );
    return 1;
  }
  let tls;
  try {
    tls = await connectTls(client, network, nodeSocketStreams(socket), { handshakeTimeoutMs: timeoutMs });
  } catch (e) {
    process.stderr.write(`airlock: handshake with ${target} failed: ${describeError(e)}\n`);
    const ech = describeEchRejection(e);
    if (ech) process.stderr.write(`${ech}\n`);
    return 1;
  }
  const info = tls.info;
  const pskUsed = describePsk(info);
  const verification = pskUsed
    ? `OK (external PSK ${pskUsed})`
    : info.peerRawPublicKey
    ? "OK (raw public key pinned by --pin-key)"
    : insecure
    ? "NOT VERIFIED (--insecure)"
    : `OK (chain and name "${serverName}" verified against ${cafile ?? system!.source})`;
  process.stderr.write(
    [
      `Protocol: ${info.version}`,
      `Cipher suite: ${info.cipherSuite}`,
      `Group: ${info.group}${info.helloRetry ? " (after HelloRetryRequest)" : ""}`,
      `Signature scheme: ${info.signatureScheme ?? (pskUsed ? "(none: external PSK)" : "(none: resumed)")}`,
      ...(psk.psks ? [`External PSK: ${pskUsed ?? "not used"}`] : []),
      `ALPN: ${info.alpn ?? "(none)"}`,
      `ECH: ${describeEch(info)}`,
      `Peer certificate: ${describePeer(info)}`,
      `Resumed: ${info.resumed ? "yes" : saved ? "no (the saved session was not accepted)" : "no"}`,
      `Verification: ${verification}`,
      "",
    ].join("\n"),
  );

  // stdin → TLS (close_notify at stdin's end), TLS → stdout until the server's close_notify.
  const upstream = (async () => {
    const writer = tls.writable.getWriter();
    for await (const chunk of process.stdin) await writer.write(chunk as Uint8Array);
    await writer.close();
  })();
  const downstream = (async () => {
    for await (const chunk of tls.readable) {
      if (!process.stdout.write(chunk)) await new Promise((r) => process.stdout.once("drain", r));
    }
  })();
  try {
    await Promise.all([downstream, upstream]);
    await tls.close();
    return 0;
  } catch (e) {
    process.stderr.write(`airlock: connection to ${target} failed: ${describeError(e)}\n`);
    return 1;
  }
}

/** One line for an error. */
export function describeError(e: unknown): string {
  if (e instanceof TlsError) return `${e.message} [${e.code}]`;
  return e instanceof Error ? e.message : String(e);
}

/** A saved session, or undefined when the file does not exist yet. */
function loadSession(path: string): TlsSession | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return TlsSession.fromBytes(readFileSync(path));
  } catch (e) {
    throw new UsageError(`cannot load session ${path}: ${(e as Error).message}`);
  }
}
