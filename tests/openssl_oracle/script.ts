/**
 * The oracle's script language on airlock: the same steps `oracle.c` runs on OpenSSL (see its header), run on
 * a client and a server engine over BIO pairs, each reported the way the oracle reports it. The differential
 * test (`tests/openssl_semantics_test.ts`) compares the two step by step.
 *
 * A script line may end with `| airlock: RESULT (reason)` where airlock differs from OpenSSL on purpose: the
 * line then expects RESULT from airlock, whatever OpenSSL says, and the reason is part of the script.
 * @module
 */

import {
  type BioPair,
  type ClientConfig,
  createBioPair,
  createClient,
  createServer,
  nobleProvider,
  type ServerConfig,
  sslErrorName,
  type TlsEngine,
} from "../../mod.ts";

/** One parsed script line. */
export interface Step {
  /** 1-based line number in the script. */
  readonly line: number;
  /** The command as the oracle gets it (the annotation removed). */
  readonly command: string;
  /** Where airlock differs on purpose: what it gives, and why. */
  readonly deliberate: { readonly result: string; readonly reason: string } | undefined;
}

/** Parse a script: the steps, and the text to feed the oracle (same line numbers, annotations removed). */
export function parseScript(text: string): { steps: Step[]; oracleInput: string } {
  const steps: Step[] = [];
  const lines = text.split("\n").map((raw, i) => {
    const bar = raw.indexOf("| airlock:");
    const command = (bar >= 0 ? raw.slice(0, bar) : raw).trim();
    if (command === "" || command.startsWith("#")) return command;
    let deliberate: Step["deliberate"];
    if (bar >= 0) {
      const m = raw.slice(bar + "| airlock:".length).trim().match(/^(.*?)\s*\((.+)\)\s*$/);
      if (!m) throw new SyntaxError(`Cannot parse line ${i + 1}: an airlock annotation needs a (reason)`);
      deliberate = { result: m[1]!, reason: m[2]! };
    }
    steps.push({ line: i + 1, command, deliberate });
    return command;
  });
  return { steps, oracleInput: lines.join("\n") + "\n" };
}

/** The oracle's output: result text by line number. */
export function parseOracleOutput(output: string): Map<number, string> {
  const results = new Map<number, string>();
  for (const l of output.split("\n")) {
    const m = l.match(/^(\d+): .*? -> (.*)$/);
    if (m) results.set(Number(m[1]), m[2]!);
  }
  return results;
}

/** The part of a result the test compares: the return value and the error name (not OpenSSL's reason text). */
export function comparable(result: string): string {
  return result.replace(/\s+reason=.*$/, "").trim();
}

interface Side {
  engine: TlsEngine;
  pair: BioPair;
}

/** Run `steps` on airlock with the server certificate `certPem` / `keyPem`; results by line, as the oracle's. */
export async function runOnAirlock(
  steps: readonly Step[],
  certPem: string,
  keyPem: string,
): Promise<Map<number, string>> {
  const key = await nobleProvider.loadPrivateKey(keyPem); // synchronous signatures, as OpenSSL's
  const client: Record<string, unknown> = {
    dangerouslyDisableCertificateVerification: true,
    provider: nobleProvider,
  };
  const server: Record<string, unknown> = {
    certificates: [{ chain: certPem, key }],
    provider: nobleProvider,
  };
  const options = [client, server];
  let sides: [Side, Side] | undefined;
  // The same view for the same buffer and length: a retry passes the very same bytes, as a C caller would.
  const buffers = Array.from({ length: 4 }, () => {
    const b = new Uint8Array(1 << 20);
    for (let j = 0; j < b.length; j++) b[j] = (j * 7 + 1) & 0xff;
    return b;
  });
  const views = new Map<string, Uint8Array>();
  const scratch = new Uint8Array(1 << 20);
  const results = new Map<number, string>();
  const releases: ((v: undefined) => void)[] = [];
  const later = () => new Promise<undefined>((resolve) => releases.push(resolve));
  const side = (name: string | undefined): Side => {
    if (!sides) throw new Error("start first");
    if (name === "c") return sides[0];
    if (name === "s") return sides[1];
    throw new Error(`bad side ${name}`);
  };
  const report = (s: Side, ret: number): string => `ret=${ret} err=${sslErrorName(s.engine.getError(ret))}`;
  for (const step of steps) {
    for (const release of releases.splice(0)) release(undefined);
    await new Promise((resolve) => setTimeout(resolve, 0)); // what was released settles now
    const [cmd, a1, a2, a3] = step.command.split(/\s+/);
    let result: string;
    switch (cmd) {
      case "option": {
        const o = options[a1 === "c" ? 0 : 1]!;
        if (a2 === "partial") o.partialWrites = true;
        else if (a2 === "moving") o.acceptMovingWriteBuffer = true;
        else if (a2 === "ignore_eof") o.ignoreUnexpectedEof = true;
        else if (a2 === "no_tickets") o.tickets = false;
        else if (a2 === "tls12") Object.assign(o, { minVersion: "TLSv1.2", maxVersion: "TLSv1.2" });
        else if (a2 === "tls13") Object.assign(o, { minVersion: "TLSv1.3", maxVersion: "TLSv1.3" });
        // OpenSSL's callbacks ask to be called again once; airlock's answer with a promise, settled before the
        // next step, so each waits one call as OpenSSL's do.
        else if (a2 === "hello_cb") o.onClientHello = later;
        else if (a2 === "cert_cb") o.selectCertificate = later;
        else if (a2 === "retry_verify") o.retryVerify = true;
        else throw new Error(`unknown option ${a2}`);
        result = "ok";
        break;
      }
      case "start": {
        const capacity = Number(a1 ?? 17 * 1024);
        const cp = createBioPair({ capacity }), sp = createBioPair({ capacity });
        sides = [
          { engine: createClient(client as unknown as ClientConfig, cp.engine), pair: cp },
          { engine: createServer(server as unknown as ServerConfig, sp.engine), pair: sp },
        ];
        result = "ok";
        break;
      }
      case "hs": {
        const s = side(a1);
        result = report(s, s.engine.doHandshake());
        break;
      }
      case "read":
      case "peek": {
        const s = side(a1);
        const buf = scratch.subarray(0, Number(a2 ?? 16384));
        result = report(s, cmd === "read" ? s.engine.read(buf) : s.engine.peek(buf));
        break;
      }
      case "write": {
        const s = side(a1);
        const n = Number(a2 ?? 0), b = Number(a3 ?? 0);
        const k = `${b}:${n}`;
        let view = views.get(k);
        if (!view) views.set(k, view = buffers[b]!.subarray(0, n));
        result = report(s, s.engine.write(view));
        break;
      }
      case "shutdown": {
        const s = side(a1);
        result = report(s, s.engine.shutdown());
        break;
      }
      case "pending": {
        const s = side(a1);
        result = `pending=${s.engine.pending()} has=${s.engine.hasPending() ? 1 : 0}`;
        break;
      }
      case "move": {
        const from = side(a1), to = side(a1 === "c" ? "s" : "c");
        const limit = Math.min(Number(a2 ?? Infinity), to.pair.network.writeGuarantee());
        const bytes = from.pair.network.read(limit);
        if (to.pair.network.write(bytes) !== bytes.length) throw new Error("move: the peer's BIO is full");
        result = `moved=${bytes.length}`;
        break;
      }
      case "drop": {
        result = `moved=${side(a1).pair.network.read().length}`;
        break;
      }
      case "inject": {
        const hex = a2 ?? "";
        const bytes = new Uint8Array(hex.length / 2);
        for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
        result = `moved=${side(a1).pair.network.write(bytes)}`;
        break;
      }
      case "verdict": {
        const s = side(a1);
        result = s.engine.setVerifyResult(a2 === "1") === 1 ? "ok" : `failed: ${s.engine.error?.code}`;
        break;
      }
      case "eof": {
        side(a1).pair.network.shutdownWrite();
        result = "ok";
        break;
      }
      default:
        throw new Error(`line ${step.line}: unknown command ${cmd}`);
    }
    results.set(step.line, result);
  }
  return results;
}
