/**
 * Conformance against x509-limbo (C2SP), a corpus of 9,780 path-validation cases: each case's trust anchors,
 * intermediates, leaf, validation time, purpose and peer name go to verifyCertificateChain(), and the outcome
 * is compared with the expected SUCCESS or FAILURE.
 *
 * The cases we get "wrong" are listed, each with its reason, in tests/vectors/limbo_known_failures.json, and
 * the test asserts that the disagreements are exactly that list: a regression fails it, and so does an
 * improvement until the list is updated. A case needing a feature airlock lacks (CRLs, policy constraints,
 * a public suffix list) is listed as `unsupported:`; a case where airlock deliberately follows another
 * reading (mostly rustls-webpki's) as `deliberate:`.
 *
 * The corpus lives outside the repository, at ../shared/vectors/x509-limbo/limbo.json.gz; without it the
 * test is skipped and says so.
 *
 * @module
 */

import assert from "node:assert/strict";
import { readFile, stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { verifyCertificateChain, type VerifyOptions, type VerifyResult } from "../verify/mod.ts";
import { defaultProvider } from "../suites/default_provider.ts";

/** The fewest correct results accepted; the exact known-failure list below is the sharper check. */
const FLOOR = 9_730;

const CORPUS = new URL("../../shared/vectors/x509-limbo/limbo.json.gz", import.meta.url);
const KNOWN = new URL("./vectors/limbo_known_failures.json", import.meta.url);

interface PeerName {
  readonly kind: "DNS" | "IP" | "RFC822";
  readonly value: string;
}

/** The fields of a limbo testcase used here (see limbo-schema.json). */
interface Testcase {
  readonly id: string;
  readonly features: readonly string[];
  readonly validation_kind: "SERVER" | "CLIENT";
  readonly trusted_certs: readonly string[];
  readonly untrusted_intermediates: readonly string[];
  readonly peer_certificate: string;
  readonly validation_time: string | null;
  readonly expected_result: "SUCCESS" | "FAILURE";
  readonly expected_peer_name: PeerName | null;
  readonly max_chain_depth: number | null;
}

const corpusPath = fileURLToPath(CORPUS);
const present = await stat(corpusPath).then(() => true, () => false);
if (!present) console.log(`x509-limbo corpus not found at ${corpusPath}: conformance test skipped`);

async function loadCorpus(): Promise<Testcase[]> {
  const gz = await readFile(corpusPath);
  const stream = new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip"));
  const { testcases } = JSON.parse(await new Response(stream).text()) as { testcases: Testcase[] };
  return testcases;
}

/**
 * The options for one case. The peer name is checked for SERVER cases only (a client certificate's names
 * are the application's business); the case's signature_algorithms, key_usage and extended_key_usage fields
 * are only ever the defaults verifyCertificateChain() applies anyway (serverAuth/clientAuth by purpose,
 * digitalSignature on the leaf).
 */
function optionsFor(tc: Testcase): VerifyOptions {
  const server = tc.validation_kind === "SERVER";
  const peer = server ? tc.expected_peer_name : null;
  return {
    leaf: tc.peer_certificate,
    intermediates: tc.untrusted_intermediates,
    trustAnchors: tc.trusted_certs,
    purpose: server ? "server" : "client",
    peerName: peer?.kind === "DNS" || peer?.kind === "IP" ? peer.value : undefined,
    time: tc.validation_time === null ? undefined : new Date(tc.validation_time),
    maxDepth: tc.max_chain_depth === null ? undefined : Math.min(tc.max_chain_depth, 64),
    // The installed provider's checks: with AIRLOCK_PROVIDER=webcrypto the corpus runs on WebCrypto's.
    verifySignature: defaultProvider().verifyX509,
  };
}

function describe(result: VerifyResult): string {
  return result.ok ? "SUCCESS" : `FAILURE ${result.code}: ${result.reason}`;
}

Deno.test({
  name: "verifyCertificateChain() conforms to x509-limbo",
  ignore: !present,
  async fn() {
    const started = performance.now();
    const testcases = await loadCorpus();
    const known = JSON.parse(await readFile(fileURLToPath(KNOWN), "utf8")) as {
      cases: Record<string, string>;
    };

    let correct = 0;
    const wrong = new Map<string, string>();
    for (const tc of testcases) {
      const result = await verifyCertificateChain(optionsFor(tc));
      if ((result.ok ? "SUCCESS" : "FAILURE") === tc.expected_result) correct++;
      else wrong.set(tc.id, `expected ${tc.expected_result}, got ${describe(result)}`);
    }
    const seconds = (performance.now() - started) / 1000;

    const reasons = Object.values(known.cases);
    const unsupported = reasons.filter((r) => r.startsWith("unsupported:")).length;
    console.log(
      `x509-limbo: ${correct}/${testcases.length} correct (${
        (100 * correct / testcases.length).toFixed(2)
      }%); ` +
        `${wrong.size} known deviations (${unsupported} unsupported, ${
          reasons.length - unsupported
        } deliberate); ` +
        `${seconds.toFixed(1)} s`,
    );

    const newlyWrong = [...wrong.keys()].filter((id) => !(id in known.cases));
    const nowRight = Object.keys(known.cases).filter((id) => !wrong.has(id));
    assert.ok(
      newlyWrong.length === 0 && nowRight.length === 0,
      [
        ...newlyWrong.map((id) => `newly wrong: ${id}: ${wrong.get(id)}`),
        ...nowRight.map((id) => `now right (remove it from limbo_known_failures.json): ${id}`),
      ].join("\n"),
    );
    assert.ok(correct >= FLOOR, `only ${correct} correct, expected at least ${FLOOR}`);
  },
});
