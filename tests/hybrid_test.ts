/**
 * X25519MLKEM768 (draft-ietf-tls-ecdhe-mlkem) in memory: the default offer (hybrid first, an x25519 share
 * beside it), HelloRetryRequest to and from the hybrid, and bad shares from either side.
 */
import assert from "node:assert/strict";
import {
  drain,
  handshake,
  handshakeExpectingFailure,
  makePair,
  type Pair,
  seededRandom,
  transfer,
  writeAll,
} from "../testing/pair.ts";
import { editPlain } from "../testing/tamper.ts";
import { ExtensionType as E, HandshakeType as H } from "../engine/msgs/enums.ts";
import {
  decodeClientShares,
  decodeServerShare,
  decodeU16List,
  encodeClientShares,
  encodeServerShare,
  type Extension,
  findExtension,
} from "../engine/msgs/extensions.ts";
import { decodeClientHello, decodeServerHello, encodeServerHello } from "../engine/msgs/handshake.ts";
import { X25519MLKEM768 } from "../suites/kx.ts";
import { nobleProvider } from "../suites/provider.ts";

const HYBRID = 0x11ec;
const X25519_ID = 0x001d;
const enc = new TextEncoder();

/** The ClientHellos the client sent, decoded from the plaintext handshake records. */
function recordHellos(): {
  filter: (b: Uint8Array, from: "client" | "server") => Uint8Array;
  hellos: Uint8Array[];
} {
  const hellos: Uint8Array[] = [];
  const filter = editPlain("client", H.clientHello, (body) => (hellos.push(body), body));
  return { filter, hellos };
}

function offered(body: Uint8Array): { groups: number[]; shares: { group: number; length: number }[] } {
  const ch = decodeClientHello(body);
  const groups = decodeU16List(findExtension(ch.extensions, E.supportedGroups)!, "g", "named_group_list");
  const shares = decodeClientShares(findExtension(ch.extensions, E.keyShare)!, "ks")
    .map((s) => ({ group: s.group, length: s.keyExchange.length }));
  return { groups, shares };
}

async function exchange(p: Pair): Promise<void> {
  assert.equal(await writeAll(p.client, enc.encode("ping")), 4);
  assert.equal(await writeAll(p.server, enc.encode("pong")), 4);
  transfer(p);
  assert.deepEqual(await drain(p.server), enc.encode("ping"));
  assert.deepEqual(await drain(p.client), enc.encode("pong"));
}

Deno.test("default client offers X25519MLKEM768 first with an x25519 share beside it, and gets the hybrid", async () => {
  const p = await makePair();
  const { filter, hellos } = recordHellos();
  await handshake(p, filter);
  assert.equal(hellos.length, 1);
  const { groups, shares } = offered(hellos[0]!);
  assert.deepEqual(groups, [HYBRID, X25519_ID, 0x0017, 0x0018]);
  assert.deepEqual(shares, [{ group: HYBRID, length: 1216 }, { group: X25519_ID, length: 32 }]);
  // The ClientHello grows by the 1216-byte share: about 1.5 KB, still one record.
  assert.ok(
    hellos[0]!.length > 1300 && hellos[0]!.length < 2048,
    `ClientHello of ${hellos[0]!.length} bytes`,
  );
  for (const e of [p.client, p.server]) {
    assert.equal(e.handshakeInfo?.group, "X25519MLKEM768");
    assert.equal(e.handshakeInfo?.helloRetry, false);
  }
  await exchange(p);
});

Deno.test("keyShareCount still decides: one share, or the defaults' one share for a classical first group", async () => {
  for (
    const [client, expect] of [
      [{ keyShareCount: 1 }, [HYBRID]],
      [{ keyShareCount: 3 }, [HYBRID, X25519_ID, 0x0017]],
      [{ groups: ["x25519", "X25519MLKEM768"] as const }, [X25519_ID]],
      [{ groups: ["X25519MLKEM768"] as const }, [HYBRID]],
    ] as const
  ) {
    const p = await makePair({ client: client });
    const { filter, hellos } = recordHellos();
    await handshake(p, filter);
    assert.deepEqual(offered(hellos[0]!).shares.map((s) => s.group), expect, JSON.stringify(client));
  }
});

Deno.test("HelloRetryRequest to X25519MLKEM768: the client sent only x25519, the server takes only the hybrid", async (t) => {
  for (const cookie of [true, false]) {
    await t.step(`cookie=${cookie}`, async () => {
      const p = await makePair({
        client: { groups: ["x25519", "X25519MLKEM768"] },
        server: { groups: ["X25519MLKEM768"], helloRetryCookie: cookie },
      });
      const { filter, hellos } = recordHellos();
      await handshake(p, filter);
      assert.equal(hellos.length, 2);
      assert.deepEqual(offered(hellos[0]!).shares.map((s) => s.group), [X25519_ID]);
      assert.deepEqual(offered(hellos[1]!).shares, [{ group: HYBRID, length: 1216 }]);
      for (const e of [p.client, p.server]) {
        assert.equal(e.handshakeInfo?.group, "X25519MLKEM768");
        assert.equal(e.handshakeInfo?.helloRetry, true);
      }
      await exchange(p);
    });
  }
});

Deno.test("HelloRetryRequest from X25519MLKEM768: the client sent only the hybrid, the server takes x25519", async () => {
  const p = await makePair({
    client: { groups: ["X25519MLKEM768", "x25519"], keyShareCount: 1 },
    server: { groups: ["x25519"] },
  });
  const { filter, hellos } = recordHellos();
  await handshake(p, filter);
  assert.deepEqual(offered(hellos[0]!).shares.map((s) => s.group), [HYBRID]);
  assert.deepEqual(offered(hellos[1]!).shares, [{ group: X25519_ID, length: 32 }]);
  assert.equal(p.client.handshakeInfo?.group, "x25519");
  assert.equal(p.server.handshakeInfo?.helloRetry, true);
  await exchange(p);
});

Deno.test("default client against a classical-only server retries with that server's group", async () => {
  const p = await makePair({ server: { groups: ["secp384r1"] } });
  await handshake(p);
  assert.equal(p.client.handshakeInfo?.group, "secp384r1");
  assert.equal(p.client.handshakeInfo?.helloRetry, true);
});

Deno.test("a default server prefers the hybrid share over x25519 when the client sent both", async () => {
  const p = await makePair({ client: { groups: ["x25519", "X25519MLKEM768"], keyShareCount: 2 } });
  await handshake(p);
  assert.equal(p.server.handshakeInfo?.group, "X25519MLKEM768");
  assert.equal(p.server.handshakeInfo?.helloRetry, false);
});

Deno.test("X25519MLKEM768 connections are reproducible byte for byte with seeded randomness and clock", async () => {
  const run = async () => {
    const p = await makePair({
      keyType: "ed25519",
      client: { random: seededRandom(21), now: () => 1_700_000_000_000, provider: nobleProvider },
      server: { random: seededRandom(22), now: () => 1_700_000_000_000, provider: nobleProvider },
    });
    const wire: number[] = [];
    await handshake(p, (bytes) => (wire.push(...bytes), bytes));
    assert.equal(p.client.handshakeInfo?.group, "X25519MLKEM768");
    return wire;
  };
  assert.deepEqual(await run(), await run());
});

/** Replace the client's key_share with `shares` (the hook changes what is sent, not the client's view). */
function withShares(
  shares: { group: number; keyExchange: Uint8Array }[],
): (exts: Extension[]) => Extension[] {
  return (exts) =>
    exts.map((e) => (e.type === E.keyShare ? { type: e.type, data: encodeClientShares(shares) } : e));
}

Deno.test("server: a bad X25519MLKEM768 client share is illegal_parameter", async (t) => {
  const good = X25519MLKEM768.generate(seededRandom(5)).publicKey;
  const modulus = good.slice();
  modulus[0] = 0xff; // a 12-bit coefficient of 4095 ≥ q: FIPS 203 §7.2 modulus check
  modulus[1]! |= 0x0f;
  const lowOrder = good.slice();
  lowOrder.fill(0, 1184); // X25519 part: all-zero shared secret
  const cases: [string, Uint8Array][] = [
    ["one byte short", good.subarray(0, 1215)],
    ["one byte long", Uint8Array.of(...good, 0)],
    ["only the X25519 part", good.subarray(1184)],
    ["encapsulation key fails the modulus check", modulus],
    ["X25519 part has low order", lowOrder],
  ];
  for (const [name, share] of cases) {
    await t.step(name, async () => {
      const p = await makePair({
        client: {
          groups: ["X25519MLKEM768"],
          helloExtensions: withShares([{ group: HYBRID, keyExchange: share }]),
        },
      });
      await handshakeExpectingFailure(p);
      assert.equal(p.server.error?.alert, "illegal_parameter");
      assert.equal(p.server.error?.code, "peer_misbehaved.bad_key_share");
      assert.equal(p.client.error?.code, "alert_received.illegal_parameter");
    });
  }
});

/** Rewrite the server's key_share in its ServerHello. */
function editServerShare(fn: (share: Uint8Array) => Uint8Array) {
  return editPlain("server", H.serverHello, (body) => {
    const sh = decodeServerHello(body);
    const extensions = sh.extensions.map((e) => {
      if (e.type !== E.keyShare) return e;
      const ks = decodeServerShare(e.data, "ks");
      return { type: e.type, data: encodeServerShare({ group: ks.group, keyExchange: fn(ks.keyExchange) }) };
    });
    return encodeServerHello({ ...sh, extensions }).subarray(4);
  });
}

Deno.test("client: a bad X25519MLKEM768 server share is illegal_parameter", async (t) => {
  const cases: [string, (s: Uint8Array) => Uint8Array][] = [
    ["one byte short", (s) => s.subarray(0, 1119)],
    ["one byte long", (s) => Uint8Array.of(...s, 0)],
    ["a client-sized share", (s) => Uint8Array.of(...s, ...new Uint8Array(96))],
    ["X25519 part has low order", (s) => Uint8Array.of(...s.subarray(0, 1088), ...new Uint8Array(32))],
  ];
  for (const [name, fn] of cases) {
    await t.step(name, async () => {
      const p = await makePair();
      await handshakeExpectingFailure(p, editServerShare(fn));
      assert.equal(p.client.error?.alert, "illegal_parameter");
      assert.equal(p.client.error?.code, "peer_misbehaved.bad_key_share");
    });
  }
});

Deno.test("client: a changed ciphertext is rejected implicitly: other keys, so bad_record_mac", async () => {
  const p = await makePair();
  await handshakeExpectingFailure(
    p,
    editServerShare((s) => {
      const c = s.slice();
      c[100]! ^= 0x01;
      return c;
    }),
  );
  assert.equal(p.client.error?.alert, "bad_record_mac");
  assert.equal(p.client.error?.code, "decrypt");
});
