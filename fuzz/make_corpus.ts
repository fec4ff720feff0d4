// Copyright 2026 the airlock authors. MIT license.

/**
 * Write the seed corpus, fuzz/corpus/TARGET/NAME, from real in-memory handshakes (fuzz/transcript.ts): the
 * peer flights of every scenario, raw and as an empty mutation program, for the engine targets; the records,
 * handshake messages, extension bodies and the certificate they carry, for the decoder targets.
 *
 *   deno run -A fuzz/make_corpus.ts        (or: npx tsx fuzz/make_corpus.ts)
 *
 * The files are deterministic (but for a few extra certificates with random keys, written only when missing):
 * run it again after a wire change and commit what changed.
 * @module
 */

import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ContentType as CT, ExtensionType as E, HandshakeType as H } from "../engine/msgs/enums.ts";
import { type ChainOptions, generateChain } from "../testing/pki.ts";
import { fixture } from "./_fixture.ts";
import { MESSAGE_TYPES } from "./decoders.ts";
import { programSeed, rawSeed } from "./mutate.ts";
import { recordScenario, SCENARIOS, type Side, wireBytes } from "./transcript.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "corpus");
// The order of fuzz/decoders.ts EXTENSIONS.
const EXTENSION_DECODERS: Record<number, number> = {
  [E.serverName]: 0,
  [E.supportedGroups]: 1,
  [E.signatureAlgorithms]: 1,
  [E.alpn]: 2,
  [E.supportedVersions]: 3,
  [E.recordSizeLimit]: 5,
  [E.keyShare]: 7,
  [E.pskKeyExchangeModes]: 9,
  [E.cookie]: 10,
  [E.certificateAuthorities]: 12,
  [E.preSharedKey]: 13,
  [E.compressCertificate]: 17,
  [E.encryptedClientHello]: 18,
};

/** RFC 7250's extensions: a list in ClientHello (decoder 15), one type in EncryptedExtensions (16). */
const CERTIFICATE_TYPES: ReadonlySet<number> = new Set([E.clientCertificateType, E.serverCertificateType]);

function put(target: string, name: string, bytes: Uint8Array): void {
  mkdirSync(join(root, target), { recursive: true });
  writeFileSync(join(root, target, name), bytes);
}

/** Some structured programs worth starting from: one of each operation on the first records. */
const PROGRAMS: readonly (readonly number[])[] = [
  [],
  [11, 0, 0, 0, 0xff, 0x01, 4, 1, 2, 3, 4], // add an extension to the first message
  [11, 2, 2, 0], // duplicate an extension in the second record
  [6, 3, 1, 90], // user_canceled before the fourth record
  [12, 5, 1], // a KeyUpdate (update_requested) after the handshake
  [8, 2, 0, 7], // split the third record
  [5, 0, 0, 5], // a message length off by 5
  [14, 3, 0, 9, 0x40], // a broken ciphertext
  [12, 4, 6], // a HelloRequest after the handshake (renegotiation, refused in TLS 1.2)
  [12, 4, 7], // the peer's first hello again after the handshake
];

let files = 0;
for (let s = 0; s < SCENARIOS.length; s++) {
  const name = SCENARIOS[s]!;
  const t = await recordScenario(name);
  for (const role of ["client", "server"] as const) {
    const peer: Side = role === "client" ? t.server : t.client;
    put(role, `${name}-raw`, rawSeed(peer, s));
    put(role, `${name}-raw-chunked`, rawSeed(peer, s, 1, 0x0a));
    PROGRAMS.forEach((p, i) =>
      put(role, `${name}-program-${i}`, programSeed(s, p, 0x80, i === 0 ? 0x38 : 0))
    );
    files += 2 + PROGRAMS.length;
  }
  for (const side of [t.client, t.server]) {
    const who = side === t.client ? "client" : "server";
    put("record", `${name}-${who}`, Uint8Array.of(0, ...wireBytes(side)));
    side.records.forEach((r, i) => {
      const content = r.key === undefined ? r.body : r.content;
      const type = r.innerType ?? r.type;
      if (!content || type !== CT.handshake) return;
      let at = 0;
      let n = 0;
      while (at + 4 <= content.length) {
        const len = (content[at + 1]! << 16) | (content[at + 2]! << 8) | content[at + 3]!;
        const sel = MESSAGE_TYPES.indexOf(content[at]!);
        const body = content.subarray(at + 4, at + 4 + len);
        if (sel >= 0) {
          put("message", `${name}-${who}-${i}-${n}`, Uint8Array.of(sel, ...body));
          files++;
          for (const [type, data] of extensionsOf(content[at]!, body)) {
            const d = CERTIFICATE_TYPES.has(type)
              ? (content[at] === H.clientHello ? 15 : 16)
              : EXTENSION_DECODERS[type];
            if (d !== undefined) put("extension", `${name}-${who}-${type}`, Uint8Array.of(d, ...data));
          }
        }
        at += 4 + len;
        n++;
      }
    });
  }
}
put("certificate", "fixture-ed25519", (await fixture()).certDer);
// More shapes of certificate (random keys, so written only when missing: the committed ones stay put).
const shapes: [string, ChainOptions][] = [
  ["rsa-intermediate", { keyType: "rsa-2048", intermediate: true }],
  ["p384-ip-eku", {
    keyType: "ecdsa-p384",
    ipAddresses: ["127.0.0.1", "::1"],
    eku: ["serverAuth", "clientAuth"],
  }],
  ["p256-names", { dnsNames: ["a.example", "*.b.example", "xn--bcher-kva.example"], commonName: "x" }],
];
for (const [name, opts] of shapes) {
  if (existsSync(join(root, "certificate", `${name}-leaf`))) continue;
  const c = await generateChain(opts);
  put("certificate", `${name}-leaf`, c.chain[0]!);
  put("certificate", `${name}-root`, c.rootDer);
  if (c.chain[1]) put("certificate", `${name}-intermediate`, c.chain[1]);
}
console.log(`wrote the seed corpus (${files}+ files) under fuzz/corpus/`);

function extensionsOf(type: number, body: Uint8Array): [number, Uint8Array][] {
  let at: number;
  if (type === H.clientHello) {
    at = 34;
    at += 1 + body[at]!;
    at += 2 + ((body[at]! << 8) | body[at + 1]!);
    at += 1 + body[at]!;
  } else if (type === H.serverHello) at = 34 + 1 + body[34]! + 3;
  else if (type === H.encryptedExtensions) at = 0;
  else return [];
  const out: [number, Uint8Array][] = [];
  let o = at + 2;
  while (o + 4 <= body.length) {
    const len = (body[o + 2]! << 8) | body[o + 3]!;
    out.push([(body[o]! << 8) | body[o + 1]!, body.subarray(o + 4, o + 4 + len)]);
    o += 4 + len;
  }
  put("extension", `list-${type}-${out.length}`, Uint8Array.of(14, ...body.subarray(at)));
  return out;
}
