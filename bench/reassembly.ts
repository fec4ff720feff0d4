/**
 * Handshake reassembly through the engine (issue #15, finding 2): a server takes one 64 KiB ClientHello sent
 * in 1-byte records, and the same ClientHello in 16 KiB records, and answers it. Each figure is the one
 * `doHandshake()` call that reads every record, joins the message and sends the server's flight (the same
 * crypto in both). Reassembly is linear when the ratio stays small (target: within 3×); it was quadratic
 * before, and then the 1-byte case cost far more. Never part of the tests.
 *
 *   deno task bench:reassembly                (deno run -A bench/reassembly.ts)
 *   node --import tsx bench/reassembly.ts     (or: npm run bench:reassembly)
 *   npx bun bench/reassembly.ts
 *
 * Flags: `--rounds N` (default 7; the figures are medians, the two cases interleaved).
 * @module
 */

import { createBioPair, createServer, loadPrivateKey, nobleProvider, SslError } from "../mod.ts";
import { generateTestCertificate } from "../testing/pki.ts";
import { handshakeRecords, paddedClientHello } from "../testing/pair.ts";
import { median, runtime } from "./_common.ts";

const SIZE = 64 * 1024;
const args = process.argv.slice(2);
const at = args.indexOf("--rounds");
const rounds = at >= 0 ? Number(args[at + 1]) : 7;

const cert = await generateTestCertificate("ecdsa-p256");
const key = await loadPrivateKey(cert.keyPkcs8);
const hello = await paddedClientHello(SIZE);
const cases = [
  { name: "1-byte records", wire: handshakeRecords(hello, 1), ms: [] as number[] },
  { name: "16 KiB records", wire: handshakeRecords(hello, 16384), ms: [] as number[] },
];

/** Milliseconds a fresh server takes to read `wire` (the whole ClientHello) and answer it. */
function serve(wire: Uint8Array): number {
  const { engine, network } = createBioPair({ capacity: wire.length + 65536 });
  const server = createServer(
    { certificates: [{ chain: cert.chain, key }], provider: nobleProvider },
    engine,
  );
  network.write(wire);
  const t = performance.now();
  const r = server.doHandshake();
  const ms = performance.now() - t;
  if (server.getError(r) !== SslError.WANT_READ) {
    throw new Error(`The server failed: ${server.error?.message}`);
  }
  return ms;
}

for (const c of cases) serve(c.wire); // warm-up
for (let i = 0; i < rounds; i++) for (const c of cases) c.ms.push(serve(c.wire));

console.log(
  `ClientHello of ${SIZE} bytes to a server (${runtime.name} ${runtime.version}, median of ${rounds}):`,
);
for (const c of cases) {
  console.log(
    `  ${c.name.padEnd(15)} ${median(c.ms).toFixed(1).padStart(8)} ms  (${c.wire.length} bytes on the wire)`,
  );
}
const ratio = median(cases[0]!.ms) / median(cases[1]!.ms);
console.log(`  ratio           ${ratio.toFixed(2).padStart(8)} ×  (target: within 3×)`);
