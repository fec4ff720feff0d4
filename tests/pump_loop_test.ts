/**
 * The README's pump loop, as written there, against an airlock server over an in-memory transport with small
 * BIOs: the handshake, a request larger than the BIO (all or nothing: the loop must send all of it), the
 * answer read until close_notify, and a transport cut short, which the loop must report, not take for the end.
 */
import assert from "node:assert/strict";
import {
  type BioPair,
  createBioPair,
  createClient,
  createServer,
  loadPrivateKey,
  SslError,
  type TlsEngine,
} from "../mod.ts";
import { generateTestCertificate } from "../testing/pki.ts";

/** Two byte queues between the client's network half and a server that runs on its own, in memory. */
function transportTo(s: BioPair, serve: () => Promise<void>) {
  return {
    async send(bytes: Uint8Array): Promise<void> {
      assert.equal(s.network.write(bytes), bytes.length, "the server's BIO takes what the client sends");
      await serve();
    },
    async receive(): Promise<Uint8Array> {
      await serve();
      return s.network.read();
    },
  };
}

async function readmeClient(
  capacity: number,
  request: Uint8Array,
  server: { engine: TlsEngine; pair: BioPair; serve: () => Promise<void> },
): Promise<{ tls: TlsEngine; answer: Uint8Array }> {
  const transport = transportTo(server.pair, server.serve);
  // ---- from the README, unchanged but for the options ----
  const { engine, network } = createBioPair({ capacity });
  const tls = createClient(
    { serverName: "localhost", dangerouslyDisableCertificateVerification: true },
    engine,
  );
  async function pump(ret: number): Promise<void> {
    switch (tls.getError(ret)) {
      case SslError.WANT_ASYNC:
      case SslError.WANT_X509_LOOKUP:
        return tls.asyncWait();
      case SslError.WANT_WRITE:
      case SslError.WANT_READ: {
        if (network.pending() > 0) await transport.send(network.read());
        if (tls.getError(ret) === SslError.WANT_READ) {
          const bytes = await transport.receive();
          if (bytes.length === 0) network.shutdownWrite();
          else network.write(bytes);
        }
        return;
      }
      default:
        throw tls.error;
    }
  }
  for (let r = tls.doHandshake(); r !== 1; r = tls.doHandshake()) await pump(r);
  if (network.pending() > 0) await transport.send(network.read());
  let writes = 0;
  for (let r = tls.write(request); r <= 0; r = tls.write(request)) await pump(r), writes++;
  if (network.pending() > 0) await transport.send(network.read());
  const parts: Uint8Array[] = [];
  const buf = new Uint8Array(16384);
  for (;;) {
    const n = tls.read(buf);
    if (n > 0) parts.push(buf.slice(0, n));
    else if (n === 0 && tls.getError(n) === SslError.ZERO_RETURN) break;
    else await pump(n);
  }
  // ---- end of the README's loop ----
  assert.ok(writes > 0, "the request did not fit the BIO in one call");
  const answer = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) answer.set(p, at), at += p.length;
  return { tls, answer };
}

/** A server that answers `expect` bytes with their sum mod 256 and three more, then close_notify (or just ends). */
async function server(expect: number, cut: boolean) {
  const cert = await generateTestCertificate("ecdsa-p256");
  const pair = createBioPair({ capacity: 1 << 20 });
  const engine = createServer({
    certificates: [{ chain: cert.chain, key: await loadPrivateKey(cert.keyPkcs8) }],
  }, pair.engine);
  let got = 0, sum = 0, done = false;
  const buf = new Uint8Array(65536);
  /** Run the server as far as the bytes that came allow, waiting out its own crypto (WANT_ASYNC). */
  const serve = async () => {
    for (let i = 0; i < 1000 && !done; i++) {
      const handshaking = !engine.isHandshakeDone;
      const r = handshaking ? engine.doHandshake() : engine.read(buf);
      if (r > 0 && !handshaking) {
        got += r;
        for (let j = 0; j < r; j++) sum = (sum + buf[j]!) & 0xff;
      } else if (r <= 0 && engine.getError(r) === SslError.WANT_ASYNC) await engine.asyncWait();
      else if (r <= 0) break;
    }
    if (got < expect || done) return;
    done = true;
    const answer = Uint8Array.of(sum, 1, 2, 3);
    for (let r = engine.write(answer); r !== 4; r = engine.write(answer)) {
      assert.equal(engine.getError(r), SslError.WANT_ASYNC);
      await engine.asyncWait();
    }
    // Cut: nothing more, so the client's next receive() is the end of the stream, with no close_notify.
    if (!cut) assert.equal(engine.shutdown(), 0);
  };
  return { engine, pair, serve };
}

Deno.test("README pump loop: a write larger than the BIO is sent whole, and the answer read to close_notify", async () => {
  const request = new Uint8Array(40_000).map((_, i) => i * 31);
  const sum = request.reduce((a, b) => (a + b) & 0xff, 0);
  const { answer, tls } = await readmeClient(4096, request, await server(request.length, false));
  assert.deepEqual(answer, Uint8Array.of(sum, 1, 2, 3));
  assert.equal(tls.error, undefined);
});

Deno.test("README pump loop: a transport that ends without close_notify is thrown as truncated, not read as the end", async () => {
  const request = new Uint8Array(20_000).fill(7);
  await assert.rejects(
    readmeClient(4096, request, await server(request.length, true)),
    (e: unknown) => (e as { code?: string }).code === "truncated",
  );
});
