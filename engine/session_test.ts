/** TicketKeys from shared secrets: what lets servers of a fleet open each other's tickets. */
import assert from "node:assert/strict";
import { TicketKeys } from "./session.ts";
import { CHACHA20_POLY1305 } from "../suites/aead.ts";
import { nobleProvider, webCryptoProvider } from "../suites/provider.ts";
import { nodeCryptoProvider } from "../suites/node_crypto.ts";
import { seededRandom } from "../testing/pair.ts";
import { inspect } from "node:util";

const random = seededRandom(3);
const secret = (fill: number) => new Uint8Array(32).fill(fill);
const state = Uint8Array.of(1, 2, 3, 4);

Deno.test("TicketKeys.fromSecrets() opens tickets sealed by another instance with the same secrets", () => {
  const a = TicketKeys.fromSecrets([secret(1)]), b = TicketKeys.fromSecrets([secret(1)]);
  assert.deepEqual(b.redeem(a.issue(state, random)), state);
  assert.equal(TicketKeys.fromSecrets([secret(2)]).redeem(a.issue(state, random)), undefined);
});

Deno.test("TicketKeys.setSecrets() seals under the first secret and opens under any, until it is dropped", () => {
  const old = TicketKeys.fromSecrets([secret(1)]);
  const ticket = old.issue(state, random);
  // Rotated: a new secret first, the old one still redeemed (and renewed in TLS 1.2).
  const keys = TicketKeys.fromSecrets([secret(2), secret(1)]);
  assert.deepEqual(keys.redeem(ticket), state);
  assert.equal(keys.renews(ticket), true);
  const fresh = keys.issue(state, random);
  assert.equal(keys.renews(fresh), false);
  assert.equal(old.redeem(fresh), undefined, "sealed under the new secret");
  keys.setSecrets([secret(3), secret(2)]);
  assert.equal(keys.redeem(ticket), undefined, "the oldest secret was dropped");
  assert.deepEqual(keys.redeem(fresh), state);
});

Deno.test("TicketKeys.setSecrets() refuses an empty list, too many secrets, and secrets not of 32 bytes", () => {
  const keys = new TicketKeys(random);
  assert.throws(() => keys.setSecrets([]), RangeError);
  assert.throws(() => keys.setSecrets(Array.from({ length: 17 }, () => secret(1))), RangeError);
  assert.throws(() => keys.setSecrets([secret(1), new Uint8Array(16)]), /secret 1 has 16 bytes, expected 32/);
  // The keys in place stay as they were.
  assert.deepEqual(keys.redeem(keys.issue(state, random)), state);
});

Deno.test("TicketKeys never shows its keys", () => {
  const keys = TicketKeys.fromSecrets([secret(0xab), secret(0xcd)]);
  assert.equal(String(keys), "TicketKeys(2 keys)");
  assert.equal(JSON.stringify(keys), "{}");
  assert.ok(!inspect(keys, { showHidden: true, depth: 5 }).includes("Uint8Array"));
});

Deno.test("TicketKeys seals with any provider's AES-256-GCM, to the same bytes, and refuses another AEAD", () => {
  const sealed = [nobleProvider, webCryptoProvider, nodeCryptoProvider].map((p) => {
    const keys = TicketKeys.fromSecrets([secret(9)], p.aead("AES-256-GCM"));
    return keys.issue(state, () => new Uint8Array(12).fill(5)); // the same nonce: the same ticket
  });
  assert.deepEqual(sealed[1], sealed[0]);
  assert.deepEqual(sealed[2], sealed[0]);
  assert.deepEqual(TicketKeys.fromSecrets([secret(9)]).redeem(sealed[2]!), state);
  assert.throws(() => new TicketKeys(random, CHACHA20_POLY1305), /takes an AES-256-GCM implementation/);
});
