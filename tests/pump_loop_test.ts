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
  nobleProvider,
  SslError,
  type TlsEngine,
} from "../mod.ts";
import { generateTestCertificate } from "./_pki.ts";

/** Two byte queues between the client's network half and a server that runs on its own, in memory. */
function transportTo(s: BioPair, serve: () => void) {
  return {
    send(bytes: Uint8Array): Promise<void> {
      assert.equal(s.network.write(bytes), bytes.length, "the server's BIO takes what the client sends");
      serve();
      return Promise.resolve();
    },
    receive(): Promise<Uint8Array> {
      serve();
      return Promise.resolve(s.network.read());
    },
  };
}

async function readmeClient(
  capacity: number,
  request: Uint8Array,
  server: { engine: TlsEngine; pair: BioPair; serve: () => void },
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
  const serve = () => {
    if (engine.doHandshake() !== 1 || done) return;
    for (let n = engine.read(buf); n > 0; n = engine.read(buf)) {
      got += n;
      for (let i = 0; i < n; i++) sum = (sum + buf[i]!) & 0xff;
    }
    if (got < expect) return;
    done = true;
    assert.equal(engine.write(Uint8Array.of(sum, 1, 2, 3)), 4);
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
