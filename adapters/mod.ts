// Copyright 2026 the airlock authors. MIT license.
// This module is browser compatible.

/**
 * Transport adapters: one pump loop ({@linkcode connectTls}) that drives an airlock engine over a byte
 * stream given as a web `ReadableStream`/`WritableStream` pair, or over a message transport such as a
 * WebSocket ({@linkcode connectTlsOverMessages}), and gives the plaintext back as a web stream pair.
 *
 * This module is web-standard only. The `node:net` edge is `@airlock/tls/adapters/node`
 * (`nodeSocketStreams`); a `Deno.Conn` needs no adapter.
 *
 * @example Echo server over any byte stream transport
 * ```ts ignore
 * import { createBioPair, createServer } from "@airlock/tls";
 * import { connectTls } from "@airlock/tls/adapters";
 *
 * const { engine, network } = createBioPair();
 * const tls = await connectTls(createServer(config, engine), network, conn, { handshakeTimeoutMs: 10_000 });
 * await tls.readable.pipeTo(tls.writable); // echo until the client's close_notify, then send ours
 * await tls.closed;
 * ```
 *
 * @module
 */

export * from "./stream.ts";
export * from "./message.ts";
