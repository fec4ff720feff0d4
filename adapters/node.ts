// Copyright 2026 the airlock authors. MIT license.

/**
 * The `node:net` edge: a `net.Socket` (Node, and the `node:net` of Deno and Bun) as the web stream pair
 * that {@linkcode connectTls} drives. Deno needs no adapter: a `Deno.Conn` already has `readable` and
 * `writable`.
 *
 * The bridge is written by hand rather than with `Duplex.toWeb`: up to Node 26.3, `toWeb`'s readable
 * ends only once the socket's writable side has finished too, so a peer's FIN never shows while our side
 * is still open, which is exactly the TLS 1.3 half-close (nodejs/node#64160 describes the change).
 *
 * @module
 */

import type { Socket } from "node:net";
import type { ByteStreamTransport } from "./stream.ts";
import { directPorts, notByteStreams, type TransportPort } from "./_transport.ts";

/** Options for {@linkcode nodeSocketStreams}. */
export interface NodeSocketStreamsOptions {
  /**
   * Received bytes queued in the readable before the socket is paused.
   *
   * @default {65536}
   */
  readonly readableHighWaterMark?: number | undefined;
}

/**
 * Present a `node:net` socket as a web stream pair, for {@linkcode connectTls}.
 *
 * It turns `allowHalfOpen` on: the peer may end its side after its close_notify while ours is still
 * writing (a TLS 1.3 half-close); the pump ends our side itself once our close_notify has gone. The
 * readable ends at the peer's FIN and pauses the socket while nothing reads it; a socket error errors it
 * only after the bytes received before the error were read. A write resolves once the socket took the
 * bytes, after `'drain'` if its buffer was full. Closing the writable ends the socket (FIN); aborting it, or
 * cancelling the readable, destroys the socket.
 *
 * The streams are made when first asked for. {@linkcode connectTls} does not ask: it drives the socket
 * directly, by the same rules, and the streams then read as locked (Node's web streams cost a server about
 * 5 kB of heap and a few percent of its CPU time per connection). A transport whose `readable` or `writable`
 * was read before `connectTls` took it goes through its streams.
 *
 * @example A client over node:net (on Deno, pass the `Deno.Conn` itself instead)
 * ```ts ignore
 * import net from "node:net";
 * import { createBioPair, createClient } from "@airlock/tls";
 * import { connectTls } from "@airlock/tls/adapters";
 * import { nodeSocketStreams } from "@airlock/tls/adapters/node";
 *
 * const socket = net.connect({ host: "example.com", port: 443 });
 * await new Promise((resolve, reject) => socket.once("connect", resolve).once("error", reject));
 * const { engine, network } = createBioPair();
 * const client = createClient({ serverName: "example.com", verifyPeer: ({ chain }) => pinned(chain) }, engine);
 * const tls = await connectTls(client, network, nodeSocketStreams(socket), { handshakeTimeoutMs: 10_000 });
 * // With Deno: const tls = await connectTls(client, network, await Deno.connect({ hostname, port: 443 }));
 * ```
 *
 * @param socket A socket, connected or connecting.
 * @param options The readable's buffer size.
 * @returns Its readable and writable sides as web streams.
 * @throws {RangeError} If `readableHighWaterMark` is not a positive number.
 */
export function nodeSocketStreams(
  socket: Socket,
  options: NodeSocketStreamsOptions = {},
): ByteStreamTransport {
  const highWaterMark = options.readableHighWaterMark ?? 65536;
  if (!(highWaterMark > 0)) {
    throw new RangeError(`Cannot use readableHighWaterMark ${highWaterMark}: expected a positive number`);
  }
  socket.allowHalfOpen = true;
  // The streams are made when first asked for; connectTls asks for neither, and drives the socket through
  // a port instead (socketPort). Until one of the two is made, a socket 'error' (which would throw with no
  // listener) or 'close' is kept for it.
  const early: { error?: { error: unknown }; closed?: boolean } = {};
  const onEarlyError = (error: Error) => void (early.error ??= { error });
  const onEarlyClose = () => void (early.closed = true);
  socket.on("error", onEarlyError);
  socket.on("close", onEarlyClose);
  const settle = () => {
    socket.off("error", onEarlyError);
    socket.off("close", onEarlyClose);
  };
  let streams: ByteStreamTransport | undefined;
  let port: TransportPort | undefined;
  const made = (): ByteStreamTransport => {
    if (streams) return streams;
    if (port) {
      // connectTls has the socket: as before, its streams are locked.
      const taken = {
        readable: new ReadableStream<Uint8Array>(),
        writable: new WritableStream<Uint8Array>(),
      };
      taken.readable.getReader();
      taken.writable.getWriter();
      return streams = taken;
    }
    settle();
    return streams = socketStreams(socket, highWaterMark, early);
  };
  const transport: ByteStreamTransport = {
    get readable() {
      return made().readable;
    },
    get writable() {
      return made().writable;
    },
  };
  // The port goes to the first connectTls only: a second finds the streams locked, as it would have.
  directPorts.set(transport, () => {
    if (streams || port) return undefined;
    settle();
    return port = socketPort(socket, highWaterMark, early);
  });
  return transport;
}

/** What happened to a socket before its streams or port were made. */
interface Early {
  readonly error?: { readonly error: unknown };
  readonly closed?: boolean;
}

/** The message of a socket that closed without the peer's FIN. */
const CLOSED_BEFORE_END = "Cannot read from the socket: it closed before its end";

/** The socket's error, or its close before the peer's FIN, if either came before it was taken. */
function earlyEnd(socket: Socket, early: Early): { error: unknown } | undefined {
  if (early.error) return early.error;
  if (early.closed || socket.destroyed) return { error: new Error(CLOSED_BEFORE_END) };
  return undefined;
}

/**
 * The socket as a web stream pair (nodeSocketStreams's streams, when asked for), over the same port connectTls
 * drives: the port buffers and pauses the socket, the readable hands on what it reads (a high-water mark of
 * 0: nothing is read ahead), the writable what it is given. A socket error errors the writable at once.
 */
function socketStreams(socket: Socket, highWaterMark: number, early: Early): ByteStreamTransport {
  const port = socketPort(socket, highWaterMark, early);
  const readable = new ReadableStream<Uint8Array>({
    pull: async (c) => {
      const r = await port.read(); // its rejection errors the stream
      if (r.done) c.close();
      else c.enqueue(r.value);
    },
    cancel: (reason) => port.cancel(reason),
  }, { highWaterMark: 0 });
  notByteStreams.add(readable); // connectTls need not try a BYOB reader first
  const writable = new WritableStream<Uint8Array>({
    start: (c) => {
      const fail = (error: unknown) => {
        try {
          c.error(error);
        } catch {
          // Already closed.
        }
      };
      socket.on("error", fail);
      const ended = earlyEnd(socket, early);
      if (ended) fail(ended.error);
    },
    write: (chunk) => port.write(chunk),
    close: () => port.close(),
    abort: (reason) => port.abort(reason),
  });
  return { readable, writable };
}

/**
 * The socket as the port connectTls drives, and under the streams of socketStreams. Reading pauses
 * the socket while `highWaterMark` bytes wait unread; the peer's FIN is the end; a socket error, or a close
 * without FIN, fails a read only after the bytes received before it were read. A write resolves once the
 * socket took the bytes, after 'drain' if its buffer was full; close ends the socket (FIN) and resolves once
 * the bytes left; abort and cancel destroy it.
 */
function socketPort(socket: Socket, highWaterMark: number, early: Early): TransportPort {
  const chunks: Uint8Array[] = [];
  let queued = 0;
  let ended = false;
  let failure = earlyEnd(socket, early);
  let cancelled = false;
  let waiters: (() => void)[] = [];
  const notify = () => {
    const woken = waiters;
    waiters = [];
    for (const wake of woken) wake();
  };
  let drain: Promise<void> | undefined;
  socket.on("data", (chunk: Uint8Array) => {
    if (cancelled || ended || failure) return;
    chunks.push(chunk);
    queued += chunk.length;
    if (queued >= highWaterMark) socket.pause();
    notify();
  });
  socket.on("end", () => {
    if (!failure) ended = true;
    notify();
  });
  socket.on("close", () => {
    if (!ended) failure ??= { error: new Error(CLOSED_BEFORE_END) };
    notify();
  });
  socket.on("error", (error: Error) => {
    if (!ended) failure ??= { error };
    notify();
  });
  if (failure) socket.pause();
  return {
    async read() {
      for (;;) {
        const value = chunks.shift();
        if (value) {
          queued -= value.length;
          if (queued < highWaterMark && !ended && !failure) socket.resume();
          return { done: false, value };
        }
        if (cancelled || ended) return { done: true, value: undefined };
        if (failure) throw failure.error;
        socket.resume();
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
    cancel() {
      cancelled = true;
      chunks.length = 0;
      queued = 0;
      socket.destroy();
      notify();
      return Promise.resolve();
    },
    get ready() {
      return drain ?? Promise.resolve();
    },
    write(bytes) {
      if (socket.destroyed) return Promise.reject(new Error("Cannot write to the socket: it is closed"));
      if (socket.write(bytes)) return drain ?? Promise.resolve();
      drain ??= settleOn(socket, "drain", "Cannot write to the socket: it closed while its buffer was full")
        .finally(() => drain = undefined);
      return drain;
    },
    close: () => endSocket(socket),
    abort(reason) {
      socket.destroy(reason instanceof Error ? reason : undefined);
      return Promise.resolve();
    },
  };
}

/** End the socket (FIN) once the bytes written have left; resolves when they have. */
function endSocket(socket: Socket): Promise<void> {
  if (socket.writableFinished) return Promise.resolve();
  if (socket.destroyed) return Promise.reject(new Error("Cannot end the socket: it is closed"));
  const finished = settleOn(socket, "finish", "Cannot end the socket: it closed before its last bytes left");
  if (!socket.writableEnded) socket.end();
  return finished;
}

/** Resolve on the socket's `event`; reject on 'error', or on 'close' if that comes first. */
function settleOn(socket: Socket, event: "drain" | "finish", closedMessage: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = () => {
      socket.off(event, onEvent);
      socket.off("error", onError);
      socket.off("close", onClose);
    };
    const onEvent = () => {
      done();
      resolve();
    };
    const onError = (error: Error) => {
      done();
      reject(error);
    };
    const onClose = () => {
      done();
      reject(new Error(closedMessage));
    };
    socket.on(event, onEvent);
    socket.on("error", onError);
    socket.on("close", onClose);
  });
}

export { nodeCryptoProvider } from "../suites/node_crypto.ts";
