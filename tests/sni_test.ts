/**
 * The client's server_name on the wire (RFC 6066 §3) and the server's use of it: A-labels for internationalized
 * names, no trailing dot, never an IP address literal, names compared without regard to case, and invalid
 * names refused when the client is created. Finding 7 of the security review (issue #15).
 */
import assert from "node:assert/strict";
import { type ClientConfig, createBioPair, createClient, createServer, loadPrivateKey } from "../mod.ts";
import { ExtensionType as E, HandshakeType as H } from "../engine/msgs/enums.ts";
import { decodeServerNameList, encodeServerNameList, findExtension } from "../engine/msgs/extensions.ts";
import { decodeClientHello } from "../engine/msgs/handshake.ts";
import { handshake, handshakeExpectingFailure, type Pair } from "../testing/pair.ts";
import { assertFailed } from "../testing/reject.ts";
import { onPlainMessages } from "../testing/tamper.ts";
import { generateChain, type TestChain } from "../testing/pki.ts";

/** Pairs whose server holds `chains`, in that order; the client gets `config`. */
async function serverWith(chains: TestChain[]): Promise<(config: ClientConfig) => Pair> {
  const certificates = await Promise.all(
    chains.map(async (c) => ({ chain: c.chain, key: await loadPrivateKey(c.keyPkcs8) })),
  );
  return (config) => {
    const c = createBioPair(), s = createBioPair();
    return { client: createClient(config, c.engine), server: createServer({ certificates }, s.engine), c, s };
  };
}

/** A server's default chain, for other.test: sent when no other chain names the client's server_name. */
const fallback = () => generateChain({ dnsNames: ["other.test"] });

/** Run the handshake, recording the server_name of each ClientHello ("absent" when there is none). */
async function sniOnTheWire(p: Pair, ok = true): Promise<string[]> {
  const seen: string[] = [];
  const filter = onPlainMessages("client", (m) => {
    if (m.type === H.clientHello) {
      const sn = findExtension(decodeClientHello(m.body).extensions, E.serverName);
      seen.push(sn === undefined ? "absent" : rawHostName(sn));
    }
    return m;
  });
  if (ok) await handshake(p, filter);
  else await handshakeExpectingFailure(p, filter);
  return seen;
}

/** The host_name bytes of a server_name body, as Latin-1 (so raw UTF-8 shows as such). */
function rawHostName(body: Uint8Array): string {
  // server_name_list length (2), name_type (1), HostName length (2), HostName.
  return String.fromCharCode(...body.subarray(5));
}

for (const version of ["TLSv1.3", "TLSv1.2"] as const) {
  Deno.test(`security: serverName bücher.example is sent as xn--bcher-kva.example and selects the server's certificate (${version})`, async () => {
    const idn = await generateChain({ dnsNames: ["xn--bcher-kva.example"] });
    const p = (await serverWith([await fallback(), idn]))({
      serverName: "bücher.example",
      trustAnchors: [idn.rootPem],
      maxVersion: version,
    });
    assert.deepEqual(await sniOnTheWire(p), ["xn--bcher-kva.example"]);
    assert.deepEqual(
      p.client.peerCertificates[0],
      idn.chain[0],
      "the server chose the chain for the A-label",
    );
    assert.equal(p.server.handshakeInfo?.serverName, "xn--bcher-kva.example");
    assert.equal(p.client.handshakeInfo?.serverName, "xn--bcher-kva.example");
  });
}

Deno.test("security: serverName example.com. is sent without its trailing dot", async () => {
  const named = await generateChain({ dnsNames: ["example.com"] });
  const p = (await serverWith([await fallback(), named]))({
    serverName: "Example.COM.",
    trustAnchors: [named.rootPem],
  });
  assert.deepEqual(await sniOnTheWire(p), ["example.com"]);
  assert.equal(p.server.handshakeInfo?.serverName, "example.com");
  assert.deepEqual(p.client.peerCertificates[0], named.chain[0]);
});

Deno.test("security: an IP address is never sent as SNI, and the certificate is checked against it", async (t) => {
  const named = await generateChain({ dnsNames: ["server.test"], ipAddresses: ["127.0.0.1", "::1"] });
  const withDefault = await serverWith([await fallback(), named]);
  for (const serverName of ["127.0.0.1", "::1", "[::1]", "0:0::1"]) {
    await t.step(serverName, async () => {
      const p = withDefault({ serverName, trustAnchors: [named.rootPem] });
      // The server falls back to its first chain (other.test), which does not name the address.
      assert.deepEqual(await sniOnTheWire(p, false), ["absent"]);
      assertFailed(p.client, "bad_certificate", "certificate.name_mismatch");
    });
  }
  // A server whose only chain names the addresses: they verify, and a third address does not.
  const onlyNamed = await serverWith([named]);
  for (const serverName of ["127.0.0.1", "[::1]"]) {
    const p = onlyNamed({ serverName, trustAnchors: [named.rootPem] });
    assert.deepEqual(await sniOnTheWire(p), ["absent"]);
    assert.equal(p.server.handshakeInfo?.serverName, undefined);
  }
  const p = onlyNamed({ serverName: "127.0.0.2", trustAnchors: [named.rootPem] });
  await handshakeExpectingFailure(p);
  assertFailed(p.client, "bad_certificate", "certificate.name_mismatch");
});

Deno.test("security: createClient refuses a serverName that is no host name", () => {
  const table: [string, typeof TypeError][] = [
    ["exa mple.com", TypeError],
    ["bücher .example", TypeError],
    ["a..b", TypeError],
    ["example.com..", TypeError],
    ["exa%41mple.com", TypeError],
    ["example.com/path", TypeError],
    ["*.example.com", TypeError],
    ["-bad.example", TypeError],
    ["1.2.3.256", TypeError],
    ["[127.0.0.1]", TypeError],
    ["xn--a.example", TypeError],
    ["", TypeError],
    [`${"a".repeat(64)}.example`, RangeError],
    [`${"a".repeat(63)}.`.repeat(4).slice(0, 254), RangeError],
  ];
  for (const [serverName, type] of table) {
    assert.throws(
      () => createClient({ serverName, verifyPeer: () => true }, createBioPair().engine),
      (e: unknown) => e instanceof type && /^Cannot use serverName "/.test((e as Error).message),
      JSON.stringify(serverName),
    );
  }
  // The longest names that are allowed.
  const max = `${"a".repeat(63)}.`.repeat(4).slice(0, 253);
  createClient({ serverName: max, verifyPeer: () => true }, createBioPair().engine);
  createClient({ serverName: `${max}.`, verifyPeer: () => true }, createBioPair().engine);
});

Deno.test("security: the server compares server_name on A-labels without regard to case", async () => {
  const idn = await generateChain({ dnsNames: ["xn--bcher-kva.example"] });
  const shout = (exts: { type: number; data: Uint8Array }[]) =>
    exts.map((e) =>
      e.type === E.serverName ? { ...e, data: encodeServerNameList("XN--BCHER-KVA.Example") } : e
    );
  const p = (await serverWith([await fallback(), idn]))({
    serverName: "bücher.example",
    verifyPeer: () => true,
    helloExtensions: shout,
  });
  assert.deepEqual(await sniOnTheWire(p), ["XN--BCHER-KVA.Example"]);
  assert.deepEqual(p.client.peerCertificates[0], idn.chain[0]);
  assert.equal(p.server.handshakeInfo?.serverName, "xn--bcher-kva.example");
  assert.equal(decodeServerNameList(encodeServerNameList("A.B"), "x"), "a.b");
});
