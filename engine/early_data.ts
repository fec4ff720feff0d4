/**
 * 0-RTT early data through the API (RFC 8446 §4.2.10): the client's `writeEarlyData()` seals it under the
 * early key with the ClientHello, the server's `readEarlyData()` hands over what record/inbound.ts kept apart
 * from 1-RTT data. The driver (engine.ts) keeps the public calls and lends the few hooks these need.
 * @module
 */

import { SslError, type SslErrorCode } from "./codes.ts";
import type { Connection } from "./context.ts";
import type { LocalError } from "./errors.ts";
import { ContentType } from "./msgs/enums.ts";

/** What early data asks of the driver. */
export interface EarlyDriver {
  /** Run the first state's setup if it has not run (the client builds its ClientHello). */
  begin(): void;
  /** Run the handshake as far as it goes; `untilFlushed` false, as `read()` does. */
  handshake(untilFlushed: boolean): number;
  /** True while crypto or a callback is pending. */
  pending(): boolean;
  /** -1 with the reason `getError()` gives while pending. */
  wantPending(): number;
  /** Server: true while the first ClientHello is awaited. */
  waitsForClientHello(): boolean;
  /** Return `ret` (default -1), with `reason` for `getError()`. */
  want(reason: SslErrorCode, ret?: number): number;
  /** A local (API misuse) error: -1 with SSL. */
  refuse(code: keyof typeof LocalError, message: string): number;
}

/** Client: seal `data` as early data, up to what the ticket still allows; as `TlsEngine.writeEarlyData`. */
export function writeEarlyData(cx: Connection, d: EarlyDriver, data: Uint8Array): number {
  if (cx.role !== "client") {
    return d.refuse("early_data_role", "Cannot write early data: only a client sends it");
  }
  const out = cx.outbound;
  d.begin();
  if (d.pending()) return out.flush(), d.wantPending();
  if (cx.earlyWrite === undefined || cx.info) {
    out.flush();
    return d.want(SslError.NONE, 0);
  }
  const n = Math.min(data.length, cx.earlyWrite);
  for (let i = 0; i < n; i += out.maxFragment) {
    out.record(ContentType.applicationData, data.subarray(i, Math.min(n, i + out.maxFragment)));
  }
  cx.earlyWrite -= n;
  out.flush();
  return n > 0 ? n : d.want(SslError.NONE, 0);
}

/** Server: the next early data into `buf`, driving the handshake as needed; as `TlsEngine.readEarlyData`. */
export function readEarlyData(cx: Connection, d: EarlyDriver, buf: Uint8Array): number {
  const inbound = cx.inbound;
  for (;;) {
    const e = inbound.early;
    if (e && e.chunks.length > 0) {
      const head = e.chunks[0]!;
      const n = Math.min(buf.length, head.length);
      buf.set(head.subarray(0, n));
      if (n === head.length) e.chunks.shift();
      else e.chunks[0] = head.subarray(n);
      return n;
    }
    if (!e && cx.role === "server" && !cx.info && d.waitsForClientHello()) {
      // The ClientHello decides whether there is early data: run the handshake up to it.
      const r = d.handshake(false);
      if (inbound.early) continue;
      if (d.waitsForClientHello()) return r;
    }
    if (!e || !e.open || cx.info) return d.want(SslError.NONE, 0);
    const r = d.handshake(false);
    if (e.chunks.length > 0) continue;
    if (r === 1 || !e.open) return d.want(SslError.NONE, 0);
    return r;
  }
}
