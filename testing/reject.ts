/**
 * Assertions for bad-input tests: a side failed with the exact alert and code, stays failed, and its peer
 * received the alert; plus small ClientHello/ServerHello rewriters.
 * @module
 */
import assert from "node:assert/strict";
import { type AlertName, SslError, type TlsEngine, TlsError, type TlsErrorCode } from "../mod.ts";
import {
  type Filter,
  handshakeExpectingFailure,
  makePair,
  type Pair,
  type PairOptions,
  seededRandom,
  settled,
  transfer,
} from "./pair.ts";
import { editPlain } from "./tamper.ts";
import { HandshakeType as H } from "../engine/msgs/enums.ts";
import {
  type ClientHello,
  decodeClientHello,
  decodeServerHello,
  encodeClientHello,
  encodeServerHello,
  type ServerHello,
} from "../engine/msgs/handshake.ts";
import type { Extension } from "../engine/msgs/extensions.ts";

/** A pair with seeded randoms, so every run sends the same bytes (the certificate is per process). */
export function seededPair(opts: PairOptions = {}): Promise<Pair> {
  return makePair({
    ...opts,
    client: { random: seededRandom(1), ...opts.client },
    server: { random: seededRandom(2), ...opts.server },
  });
}

/** `e` failed with this alert and code, and stays failed: every call gives -1, SSL and the same error. */
export function assertFailed(e: TlsEngine, alert: AlertName, code: TlsErrorCode): void {
  const err = e.error;
  assert.ok(err instanceof TlsError, `expected a TlsError, got ${err}`);
  assert.equal(err.code, code, err.message);
  assert.equal(err.alert, alert, err.message);
  const calls = [
    () => e.doHandshake(),
    () => e.read(new Uint8Array(8)),
    () => e.write(Uint8Array.of(1)),
    () => e.keyUpdate(),
    () => e.shutdown(),
  ];
  for (const call of calls) {
    const r = call();
    assert.equal(r, -1);
    assert.equal(e.getError(r), SslError.SSL);
    assert.equal(e.error, err);
  }
}

/** `e` received the fatal alert `alert` (reading first, if its handshake had already finished). */
export function assertReceived(e: TlsEngine, alert: AlertName): void {
  if (!e.error) e.read(new Uint8Array(8));
  assert.equal(e.error?.code, `alert_received.${alert}`, e.error?.message);
  assert.equal(e.error?.alert, alert);
}

/** Run the handshake through `filter`; `who` must fail with `alert`/`code`, and its peer must receive it. */
export async function rejects(
  p: Pair,
  who: "client" | "server",
  alert: AlertName,
  code: TlsErrorCode,
  filter?: Filter,
): Promise<void> {
  await handshakeExpectingFailure(p, filter);
  const [me, peer] = who === "client" ? [p.client, p.server] : [p.server, p.client];
  assertFailed(me, alert, code);
  assertReceived(peer, alert);
}

/**
 * After a completed handshake: pump once, let `who` read (waiting out WANT_ASYNC while a native AEAD opens);
 * it must fail, and its peer must receive the alert.
 */
export async function rejectsAfter(
  p: Pair,
  who: "client" | "server",
  alert: AlertName,
  code: TlsErrorCode,
  filter?: Filter,
): Promise<void> {
  transfer(p, filter);
  const [me, peer] = who === "client" ? [p.client, p.server] : [p.server, p.client];
  const r = await settled(me, () => me.read(new Uint8Array(64)));
  assert.equal(r, -1);
  assert.equal(me.getError(r), SslError.SSL, me.error?.message);
  assertFailed(me, alert, code);
  transfer(p, filter);
  assertReceived(peer, alert);
}

export const withExt = (type: number, data: Uint8Array) => (exts: Extension[]) => [...exts, { type, data }];
export const without = (type: number) => (exts: Extension[]) => exts.filter((e) => e.type !== type);
export const replace = (type: number, data: Uint8Array) => (exts: Extension[]) =>
  exts.map((e) => (e.type === type ? { type, data } : e));

/** Rewrite the client's ClientHello(s) through the codec. */
export function editClientHello(fn: (ch: ClientHello) => ClientHello): Filter {
  return editPlain("client", H.clientHello, (b) => encodeClientHello(fn(decodeClientHello(b))).subarray(4));
}

/** Rewrite the server's ServerHello (and HelloRetryRequest) through the codec. */
export function editServerHello(fn: (sh: ServerHello) => ServerHello): Filter {
  return editPlain("server", H.serverHello, (b) => encodeServerHello(fn(decodeServerHello(b))).subarray(4));
}
