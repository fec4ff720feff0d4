/**
 * OpenSSL's callbacks (issue #16): the server's client-hello callback (`onClientHello`,
 * SSL_CTX_set_client_hello_cb, WANT_CLIENT_HELLO_CB) and certificate callback (`selectCertificate`,
 * SSL_CTX_set_cert_cb, WANT_X509_LOOKUP), and the client's late certificate choice (`clientCertificate`
 * returning a promise, WANT_X509_LOOKUP): what each sees, what each may change, and the retry semantics,
 * synchronously and with a promise, in TLS 1.3 and 1.2.
 */
import assert from "node:assert/strict";
import { handshake, handshakeExpectingFailure, type Pair, transfer } from "../testing/pair.ts";
import { assertFailed, assertReceived } from "../testing/reject.ts";
import { generateChain, type TestChain } from "../testing/pki.ts";
import {
  type ClientConfig,
  type ClientHelloInfo,
  createBioPair,
  createClient,
  createServer,
  loadPrivateKey,
  type ServerConfig,
  SslError,
} from "../mod.ts";
import { ExtensionType as E } from "../engine/msgs/enums.ts";

interface World {
  readonly a: TestChain;
  readonly b: TestChain;
  readonly client: TestChain;
  certified(
    chain: TestChain,
  ): Promise<{ chain: Uint8Array[]; key: Awaited<ReturnType<typeof loadPrivateKey>> }>;
  pair(client: Partial<ClientConfig>, server: Partial<ServerConfig>): Promise<Pair>;
}

async function world(): Promise<World> {
  const a = await generateChain({ dnsNames: ["a.test"] });
  const b = await generateChain({ dnsNames: ["b.test"] });
  const client = await generateChain({ dnsNames: ["client.test"], eku: ["clientAuth"] });
  const certified = async (c: TestChain) => ({ chain: c.chain, key: await loadPrivateKey(c.keyPkcs8) });
  const base = await certified(a);
  return {
    a,
    b,
    client,
    certified,
    // deno-lint-ignore require-await
    async pair(clientOpts, serverOpts) {
      const c = createBioPair(), s = createBioPair();
      return {
        client: createClient(
          { serverName: "a.test", trustAnchors: [a.rootPem, b.rootPem], ...clientOpts },
          c.engine,
        ),
        server: createServer({ certificates: [base], ...serverOpts }, s.engine),
        c,
        s,
      };
    },
  };
}

/** Drive both handshakes (waiting out WANT_ASYNC) until `side` says `reason`; returns that call's result. */
async function untilNot(p: Pair, side: "client" | "server", reason: number): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const c = p.client.doHandshake();
    const s = p.server.doHandshake();
    transfer(p);
    const r = side === "client" ? c : s;
    const e = side === "client" ? p.client : p.server;
    if (e.getError(r) === reason) return r;
    if (p.client.getError(c) === SslError.WANT_ASYNC) await p.client.asyncWait();
    if (p.server.getError(s) === SslError.WANT_ASYNC) await p.server.asyncWait();
  }
  throw new Error(`the ${side} never said ${reason}`);
}

Deno.test("onClientHello() sees the parsed ClientHello before anything is chosen", async () => {
  const w = await world();
  let seen: ClientHelloInfo | undefined;
  const p = await w.pair(
    {
      alpnProtocols: ["h2", "http/1.1"],
      groups: ["x25519", "secp256r1"],
    },
    { alpnProtocols: ["http/1.1"], onClientHello: (h) => void (seen = h) },
  );
  await handshake(p);
  assert.ok(seen);
  assert.equal(seen.serverName, "a.test");
  assert.deepEqual(seen.alpnProtocols, ["h2", "http/1.1"]);
  assert.deepEqual(seen.versions, [0x0304, 0x0303]);
  assert.ok(seen.cipherSuites.includes(0x1302) && seen.cipherSuites.includes(0xc02b));
  assert.deepEqual(seen.groups, [0x001d, 0x0017]);
  assert.deepEqual(seen.keyShareGroups, [0x001d]);
  assert.ok(seen.signatureSchemes.includes(0x0403));
  assert.equal(seen.extensions[0]!.type, E.serverName, "extensions in the order sent");
  assert.equal(seen.random.length, 32);
  assert.equal(p.server.handshakeInfo?.alpn, "http/1.1");
});

Deno.test("onClientHello() may serve a connection with another certificate, ALPN and version", async () => {
  const w = await world();
  const bKey = await w.certified(w.b);
  const p = await w.pair({ serverName: "b.test", alpnProtocols: ["x", "y"] }, {
    alpnProtocols: ["x"],
    onClientHello: (h) =>
      h.serverName === "b.test"
        ? { config: { certificates: [bKey], alpnProtocols: ["y"], maxVersion: "TLSv1.2" } }
        : undefined,
  });
  await handshake(p);
  assert.deepEqual(p.client.peerCertificates[0], w.b.chain[0]);
  assert.equal(p.client.handshakeInfo?.alpn, "y");
  assert.equal(p.client.handshakeInfo?.version, "TLSv1.2");
  // Another connection on the same config is not affected.
  const q = await w.pair({ alpnProtocols: ["x", "y"] }, {
    alpnProtocols: ["x"],
    onClientHello: () => undefined,
  });
  await handshake(q);
  assert.equal(q.client.handshakeInfo?.alpn, "x");
  assert.equal(q.client.handshakeInfo?.version, "TLSv1.3");
});

Deno.test("onClientHello() may ask for a client certificate on this connection only", async () => {
  const w = await world();
  const mine = await w.certified(w.client);
  const p = await w.pair({ clientCertificate: mine }, {
    onClientHello: () => ({ config: { clientAuth: { required: true, trustAnchors: [w.client.rootPem] } } }),
  });
  await handshake(p);
  assert.deepEqual(p.server.handshakeInfo?.peerCertificates[0], w.client.chain[0]);
  const q = await w.pair({}, {
    onClientHello: () => ({ config: { clientAuth: { required: true, trustAnchors: [w.client.rootPem] } } }),
  });
  await handshakeExpectingFailure(q);
  assertFailed(q.server, "certificate_required", "certificate.required");
});

Deno.test("onClientHello() refuses with the alert it names", async () => {
  const w = await world();
  for (const maxVersion of ["TLSv1.3", "TLSv1.2"] as const) {
    const p = await w.pair({ maxVersion }, { onClientHello: () => ({ refuse: "unrecognized_name" }) });
    await handshakeExpectingFailure(p);
    assertFailed(p.server, "unrecognized_name", "policy.client_hello_refused");
    assertReceived(p.client, "unrecognized_name");
  }
});

Deno.test("onClientHello() returning a promise: WANT_CLIENT_HELLO_CB until it settles, then the handshake goes on", async () => {
  const w = await world();
  let decide!: (d: undefined) => void;
  const calls: number[] = [];
  const p = await w.pair({}, {
    onClientHello: () => (calls.push(1), new Promise<undefined>((resolve) => (decide = resolve))),
  });
  const r = await untilNot(p, "server", SslError.WANT_CLIENT_HELLO_CB);
  assert.equal(r, -1);
  // Still waiting: every call says so, the callback is not called again, nothing is sent.
  for (let i = 0; i < 3; i++) {
    assert.equal(p.server.getError(p.server.doHandshake()), SslError.WANT_CLIENT_HELLO_CB);
  }
  assert.equal(p.s.network.pending(), 0);
  assert.deepEqual(calls, [1]);
  decide(undefined);
  await p.server.asyncWait();
  await handshake(p);
  assert.equal(p.server.handshakeInfo?.version, "TLSv1.3");
});

Deno.test("onClientHello() that throws or rejects ends the handshake with internal_error", async () => {
  const w = await world();
  for (
    const onClientHello of [
      () => {
        throw new Error("boom");
      },
      () => Promise.reject(new Error("boom")),
    ]
  ) {
    const p = await w.pair({}, { onClientHello });
    await handshakeExpectingFailure(p);
    assertFailed(p.server, "internal_error", "local.internal");
    assert.ok(!p.server.error!.message.includes("boom"), "the callback's message stays out of the error");
  }
});

Deno.test("selectCertificate() chooses the chain late, with the version; a promise is WANT_X509_LOOKUP", async (t) => {
  const w = await world();
  const bKey = await w.certified(w.b);
  for (const maxVersion of ["TLSv1.3", "TLSv1.2"] as const) {
    await t.step(maxVersion, async () => {
      const seen: string[] = [];
      const sync = await w.pair({ serverName: "b.test", maxVersion }, {
        selectCertificate: (info) => (seen.push(`${info.serverName} ${info.version}`), [bKey]),
      });
      await handshake(sync);
      assert.deepEqual(sync.client.peerCertificates[0], w.b.chain[0]);
      assert.deepEqual(seen, [`b.test ${maxVersion}`]);

      let resolve!: (c: typeof bKey[]) => void;
      const late = await w.pair({ serverName: "b.test", maxVersion }, {
        selectCertificate: () => new Promise((r) => (resolve = r)),
      });
      assert.equal(await untilNot(late, "server", SslError.WANT_X509_LOOKUP), -1);
      assert.equal(late.server.getError(late.server.doHandshake()), SslError.WANT_X509_LOOKUP);
      resolve([bKey]);
      await late.server.asyncWait();
      await handshake(late);
      assert.deepEqual(late.client.peerCertificates[0], w.b.chain[0]);

      // undefined keeps the configured certificates.
      const keep = await w.pair({ maxVersion }, { selectCertificate: () => Promise.resolve(undefined) });
      await handshake(keep);
      assert.deepEqual(keep.client.peerCertificates[0], w.a.chain[0]);
    });
  }
});

Deno.test("clientCertificate() returning a promise: WANT_X509_LOOKUP until it settles (was internal_error)", async (t) => {
  const w = await world();
  const mine = await w.certified(w.client);
  for (const maxVersion of ["TLSv1.3", "TLSv1.2"] as const) {
    await t.step(maxVersion, async () => {
      let resolve!: (c: typeof mine) => void;
      const p = await w.pair({ maxVersion, clientCertificate: () => new Promise((r) => (resolve = r)) }, {
        clientAuth: { required: true, trustAnchors: [w.client.rootPem] },
      });
      assert.equal(await untilNot(p, "client", SslError.WANT_X509_LOOKUP), -1);
      assert.equal(p.client.getError(p.client.doHandshake()), SslError.WANT_X509_LOOKUP);
      resolve(mine);
      await p.client.asyncWait();
      await handshake(p);
      assert.deepEqual(p.server.handshakeInfo?.peerCertificates[0], w.client.chain[0]);
    });
  }
});
