// Copyright 2026 the airlock authors. MIT license.

/**
 * External PSKs (RFC 8446 §2.2) against OpenSSL and GnuTLS on 127.0.0.1, both roles, no certificates
 * anywhere: `openssl s_server -psk -nocert` and `gnutls-serv --pskpasswd` ↔ the airlock client, `openssl
 * s_client -psk` and `gnutls-cli --pskusername --pskkey` ↔ the airlock server, in psk_dhe_ke and in psk_ke
 * (OpenSSL: `-allow_no_dhe_kex`; GnuTLS: the `+PSK` key exchange, where `+ECDHE-PSK` is psk_dhe_ke), through
 * a HelloRetryRequest, and with the wrong key (our server's binder check fails: decrypt_error; OpenSSL's
 * answers illegal_parameter). Against s_server, the key log of each session is compared with OpenSSL's: every
 * secret of the PSK key schedule is a known answer.
 *
 * Peer habits: OpenSSL's `-psk` is a SHA-256 PSK (its callbacks tie it to TLS_AES_128_GCM_SHA256, and any
 * SHA-256 suite works), `s_client` prints "Reused" for a PSK handshake; GnuTLS's report says "PSK
 * authentication. Connected as 'ID'".
 * @module
 */

import assert from "node:assert/strict";
import {
  type ClientConfig,
  createBioPair,
  createClient,
  type ExternalPsk,
  type HandshakeInfo,
  on,
  type PskMode,
  type ServerConfig,
} from "../../mod.ts";
import {
  acceptServer,
  expectTlsError,
  LineReader,
  type Peer,
  pumpSocket,
  readKeyLogFile,
  requireGnutls,
  requireOpenssl,
  scoped,
  startGnutlsServ,
  stopGnutlsServ,
} from "../../testing/peers.ts";

const HEX = "00112233445566778899aabbccddeeff0123456789abcdef0011223344556677";
const IDENTITY = "airlock-client";
const key = Uint8Array.from(HEX.match(/../g)!, (h) => parseInt(h, 16));
const psk: ExternalPsk = { identity: IDENTITY, key };
const wrongKey = key.map((b) => b ^ 1);
const utf8 = (s: string) => new TextEncoder().encode(s);

/** GnuTLS priorities for TLS 1.3 with PSK: ECDHE-PSK offers psk_dhe_ke, PSK offers psk_ke. */
const GNUTLS_PRIORITY = {
  psk_dhe_ke: "NORMAL:-VERS-ALL:+VERS-TLS1.3:-KX-ALL:+ECDHE-PSK",
  psk_ke: "NORMAL:-VERS-ALL:+VERS-TLS1.3:-KX-ALL:+PSK",
} as const;

function assertPsk(info: HandshakeInfo, mode: PskMode): void {
  assert.equal(info.version, "TLSv1.3");
  assert.deepEqual(info.externalPsk, { identity: utf8(IDENTITY), mode });
  assert.deepEqual(info.peerCertificates, []);
  assert.equal(info.signatureScheme, undefined);
  if (mode === "psk_ke") assert.equal(info.group, "none");
  else assert.notEqual(info.group, "none");
}

/** Connect the airlock client (PSK only, no way to verify a certificate) to `port`, send a line, read one. */
async function clientTo(
  scope: Parameters<Parameters<typeof scoped>[0]>[0],
  port: number,
  config: Partial<ClientConfig>,
  line: string,
): Promise<
  { info: HandshakeInfo; reply: string | null; keylog: string[]; tickets: number; sessions: number }
> {
  const socket = await scope.connect(port);
  const { engine, network } = createBioPair();
  const client = createClient({ psks: [psk], ...config }, engine);
  const keylog: string[] = [];
  on(client, "keylog", (line) => keylog.push(line));
  let tickets = 0, sessions = 0;
  on(client, "ticket", () => tickets++);
  on(client, "session", () => sessions++);
  const tls = pumpSocket(client, network, socket);
  const info = await tls.handshake();
  await tls.write(utf8(`${line}\n`));
  const reply = await new LineReader(tls).next();
  await tls.close();
  return { info, reply, keylog, tickets, sessions };
}

// ---- airlock client ↔ openssl s_server ----------------------------------------------------------------

function opensslServer(scope: Parameters<Parameters<typeof scoped>[0]>[0], args: readonly string[]): Peer {
  return scope.spawn("openssl", [
    "s_server",
    "-tls1_3",
    "-nocert",
    "-naccept",
    "1",
    "-accept",
    "127.0.0.1:0",
    "-psk",
    HEX,
    "-psk_identity",
    IDENTITY,
    "-rev",
    ...args,
  ]);
}

for (
  const c of [
    { name: "psk_dhe_ke", mode: "psk_dhe_ke", client: {}, args: [] },
    { name: "psk_ke", mode: "psk_ke", client: { pskModes: ["psk_ke"] }, args: ["-allow_no_dhe_kex"] },
    {
      name: "psk_dhe_ke through a HelloRetryRequest",
      mode: "psk_dhe_ke",
      client: {},
      args: ["-groups", "P-384"],
    },
  ] as const
) {
  Deno.test(`PSK: openssl s_server -psk -nocert ↔ airlock client, ${c.name}`, async () => {
    requireOpenssl();
    await scoped(async (scope) => {
      const path = scope.writeFiles({});
      const server = opensslServer(scope, [...c.args, "-keylogfile", path("keys.log")]);
      const [, port] = await server.waitFor(/^ACCEPT 127\.0\.0\.1:(\d+)$/m);
      const { info, reply, keylog, tickets, sessions } = await clientTo(
        scope,
        Number(port),
        c.client,
        "psk works",
      );
      assertPsk(info, c.mode);
      assert.equal(info.helloRetry, (c.args as readonly string[]).includes("-groups"));
      assert.equal(reply, "skrow ksp", server.output);
      assert.equal((await server.exited).code, 0, server.output);
      // Known answers from OpenSSL: every secret of the key schedule, from the external PSK's early secret on,
      // is the one OpenSSL derived for the same session.
      assert.deepEqual(readKeyLogFile(path("keys.log")).sort(), [...keylog].sort());
      assert.equal(keylog.length, 5);
      // OpenSSL sends tickets after a PSK handshake; the client keeps no session from one.
      assert.ok(tickets > 0);
      assert.equal(sessions, 0);
    });
  });
}

// OpenSSL 3.0 answers a binder that does not verify with illegal_parameter (tls_psk_do_binder), where RFC 8446
// §4.2.11 says decrypt_error (which our server sends, see below): the handshake fails either way.
Deno.test("PSK: openssl s_server refuses the airlock client's wrong key (illegal_parameter, its choice)", async () => {
  requireOpenssl();
  await scoped(async (scope) => {
    const server = opensslServer(scope, []);
    const [, port] = await server.waitFor(/^ACCEPT 127\.0\.0\.1:(\d+)$/m);
    const socket = await scope.connect(Number(port));
    const { engine, network } = createBioPair();
    const client = createClient({ psks: [{ identity: IDENTITY, key: wrongKey }] }, engine);
    await expectTlsError(pumpSocket(client, network, socket).handshake(), "alert_received.illegal_parameter");
  });
});

// ---- openssl s_client -psk ↔ airlock server -----------------------------------------------------------

/**
 * `program` (openssl s_client or gnutls-cli, with `args`) against the airlock server: a line each way, then
 * close_notify. Returns our handshake info and the peer (exited, with its output).
 */
async function peerClientTo(program: string, args: readonly string[], server: Partial<ServerConfig>) {
  return await scoped(async (scope) => {
    const listener = await scope.listen();
    const client = scope.spawn(program, args.map((a) => a.replace("PORT", String(listener.port))));
    const w = await acceptServer(program, listener, client, { psks: [psk], ...server });
    const info = await w.tls.handshake();
    client.send("hello over psk\n");
    assert.equal(await w.lines.next(), "hello over psk");
    await w.tls.write(utf8("bye\n"));
    await client.waitFor(/^bye$/m);
    await w.tls.close();
    await client.exited;
    return { info, client };
  });
}

function sClient(args: readonly string[], hex = HEX): string[] {
  requireOpenssl();
  return [
    "s_client",
    "-tls1_3",
    "-connect",
    "127.0.0.1:PORT",
    "-psk",
    hex,
    "-psk_identity",
    IDENTITY,
    ...args,
  ];
}

for (
  const c of [
    { mode: "psk_dhe_ke", server: {}, args: [] },
    { mode: "psk_ke", server: { pskModes: ["psk_ke"] }, args: ["-allow_no_dhe_kex"] },
    { mode: "psk_dhe_ke", server: { pskModes: ["psk_dhe_ke", "psk_ke"] }, args: ["-allow_no_dhe_kex"] },
  ] as const
) {
  const modes = "pskModes" in c.server ? ` (server modes ${c.server.pskModes.join(", ")})` : "";
  Deno.test(`PSK: openssl s_client -psk ${c.args.join(" ")}↔ airlock server${modes}: ${c.mode}`, async () => {
    const { info, client } = await peerClientTo("openssl", sClient(c.args), c.server);
    assertPsk(info, c.mode);
    assert.match(client.stdout, /^Reused, TLSv1\.3, Cipher is TLS_\w+_SHA256$/m, client.output);
  });
}

const wrongHex = [...wrongKey].map((b) => b.toString(16).padStart(2, "0")).join("");

Deno.test("PSK: the airlock server refuses openssl s_client's wrong key (decrypt_error)", async () => {
  await expectTlsError(
    peerClientTo("openssl", sClient([], wrongHex), {}),
    "peer_misbehaved.bad_psk_binder",
    "decrypt_error",
  );
});

// ---- airlock client ↔ gnutls-serv --pskpasswd ---------------------------------------------------------

for (const mode of ["psk_dhe_ke", "psk_ke"] as const) {
  Deno.test(`PSK: gnutls-serv --pskpasswd ↔ airlock client, ${mode}`, async () => {
    requireGnutls();
    await scoped(async (scope) => {
      const path = scope.writeFiles({ "psk.passwd": `${IDENTITY}:${HEX}\n` });
      const { server, port } = await startGnutlsServ(scope, [
        "--echo",
        "--pskpasswd",
        path("psk.passwd"),
        "--priority",
        GNUTLS_PRIORITY[mode],
      ]);
      const { info, reply } = await clientTo(scope, port, { pskModes: [mode] }, "psk works");
      assertPsk(info, mode);
      assert.equal(reply, "psk works");
      await stopGnutlsServ(server);
      assert.match(
        server.stdout,
        new RegExp(`PSK authentication\\. Connected as '${IDENTITY}'`),
        server.output,
      );
    });
  });
}

// ---- gnutls-cli --pskusername --pskkey ↔ airlock server -----------------------------------------------

function gnutlsCli(mode: PskMode, hex = HEX): string[] {
  requireGnutls();
  return [
    "-p",
    "PORT",
    "127.0.0.1",
    "--pskusername",
    IDENTITY,
    "--pskkey",
    hex,
    "--priority",
    GNUTLS_PRIORITY[mode],
  ];
}

for (const mode of ["psk_dhe_ke", "psk_ke"] as const) {
  Deno.test(`PSK: gnutls-cli --pskusername --pskkey ↔ airlock server, ${mode}`, async () => {
    const { info, client } = await peerClientTo("gnutls-cli", gnutlsCli(mode), { pskModes: [mode] });
    assertPsk(info, mode);
    assert.match(
      client.output,
      new RegExp(`PSK authentication\\. Connected as '${IDENTITY}'`),
      client.output,
    );
  });
}

Deno.test("PSK: gnutls-cli offering psk_ke only ↔ airlock server taking psk_dhe_ke only: handshake_failure", async () => {
  await expectTlsError(
    peerClientTo("gnutls-cli", gnutlsCli("psk_ke"), {}),
    "peer_incompatible.psk_required",
    "handshake_failure",
  );
});

Deno.test("PSK: the airlock server refuses gnutls-cli's wrong key (decrypt_error)", async () => {
  await expectTlsError(
    peerClientTo("gnutls-cli", gnutlsCli("psk_dhe_ke", wrongHex), {}),
    "peer_misbehaved.bad_psk_binder",
    "decrypt_error",
  );
});
