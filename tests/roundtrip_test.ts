import assert from "node:assert/strict";
import { drain, handshake, makePair, transfer } from "./_helpers.ts";

Deno.test("handshake() completes in memory and data flows both ways", async () => {
  const p = await makePair();
  await handshake(p);
  assert.equal(p.client.handshakeInfo?.version, "TLSv1.3");
  assert.equal(p.client.handshakeInfo?.cipherSuite, "TLS_AES_128_GCM_SHA256");
  assert.equal(p.server.handshakeInfo?.group, "x25519");
  const msg = new TextEncoder().encode("hello server");
  assert.equal(p.client.write(msg), msg.length);
  transfer(p);
  assert.deepEqual(drain(p.server), msg);
  const reply = new TextEncoder().encode("hello client");
  assert.equal(p.server.write(reply), reply.length);
  transfer(p);
  assert.deepEqual(drain(p.client), reply);
});
