// Copyright 2026 the airlock authors. MIT license.
// This module is browser compatible.

/**
 * TLS over a message transport (a WebSocket, an RTCDataChannel, a serial port framing layer): anything
 * that sends byte messages and delivers received ones through a callback.
 *
 * TLS needs a byte stream, and message boundaries carry no meaning for it: a record may span several
 * messages and a message may hold several records. {@linkcode messageStreams} turns a
 * {@linkcode MessageTransport} into a web stream pair, and {@linkcode connectTlsOverMessages} hands that
 * pair to {@linkcode connectTls}, so the engine is driven by the same pump as over a byte stream.
 *
 * Message transports have no flow control towards the sender: received messages are queued until the TLS
 * pump reads them, up to `maxReceiveBuffer` bytes. On the sending side, a transport that reports its
 * `bufferedAmount` is not handed more while that is above `sendHighWaterMark`.
 *
 * @module
 */

import type { Bio } from "../bio/bio.ts";
import type { TlsEngine } from "../engine/engine.ts";
import { asBytes } from "./_bytes.ts";
import { type ByteStreamTransport, connectTls, type ConnectTlsOptions, type TlsStream } from "./stream.ts";

/** A transport that carries byte messages, such as a WebSocket or an RTCDataChannel. */
export interface MessageTransport {
  /**
   * Send one message. A returned promise is awaited before the next message is sent.
   *
   * @param bytes The message; the transport may keep the array (it is not reused).
   */
  send(bytes: Uint8Array): void | Promise<void>;
  /**
   * Register the one receiver of incoming messages.
   *
   * @param fn Called with each message, in order; the adapter keeps the array, so the transport must not
   *   reuse it.
   */
  onMessage(fn: (bytes: Uint8Array) => void): void;
  /**
   * Register the one listener for the transport's end.
   *
   * @param fn Called once when the transport closes: without an argument for a clean close (the end of
   *   the byte stream), with an error otherwise.
   */
  onClose(fn: (error?: unknown) => void): void;
  /** Close the transport; called once, when the TLS connection is over or aborted. */
  close(): void;
  /**
   * Bytes queued by `send` but not yet transmitted (`WebSocket.bufferedAmount`,
   * `RTCDataChannel.bufferedAmount`), for back-pressure. Without it, sends are never held back.
   */
  bufferedAmount?: () => number;
  /** The largest message the transport carries (e.g. an SCTP data channel's limit); longer ones are split. */
  readonly maxMessageSize?: number | undefined;
}

/** Options for {@linkcode messageStreams}. */
export interface MessageStreamOptions {
  /**
   * While `bufferedAmount()` is above this many bytes, a write waits before it resolves.
   *
   * @default {1048576}
   */
  readonly sendHighWaterMark?: number | undefined;
  /**
   * Received bytes that may wait for the reader; past this, the readable errors with a RangeError and the
   * transport is closed (a message transport cannot be paused).
   *
   * @default {16777216}
   */
  readonly maxReceiveBuffer?: number | undefined;
  /**
   * How often, in milliseconds, `bufferedAmount()` is looked at while a write waits for it to fall.
   *
   * @default {10}
   */
  readonly pollIntervalMs?: number | undefined;
}

const DEFAULT_SEND_HIGH_WATER_MARK = 1 << 20;
const DEFAULT_MAX_RECEIVE_BUFFER = 16 << 20;
const DEFAULT_POLL_INTERVAL_MS = 10;

/**
 * Present a message transport as a byte stream: a readable of the received messages and a writable whose
 * chunks are sent as messages (split at `maxMessageSize`).
 *
 * Closing the writable, aborting it or cancelling the readable closes the transport. The transport's clean
 * close ends the readable (EOF); a close with an error errors both streams.
 *
 * @example Stream pair over a message transport
 * ```ts
 * import assert from "node:assert/strict";
 * import { messageStreams } from "@airlock/tls/adapters";
 *
 * const sent: Uint8Array[] = [];
 * let deliver = (_: Uint8Array) => {};
 * let end = (_?: unknown) => {};
 * const { readable, writable } = messageStreams({
 *   send: (bytes) => void sent.push(bytes),
 *   onMessage: (fn) => (deliver = fn),
 *   onClose: (fn) => (end = fn),
 *   close: () => {},
 *   maxMessageSize: 2,
 * });
 * await writable.getWriter().write(new Uint8Array([1, 2, 3]));
 * assert.deepEqual(sent, [new Uint8Array([1, 2]), new Uint8Array([3])]);
 * deliver(new Uint8Array([4]));
 * end();
 * const reader = readable.getReader();
 * assert.deepEqual((await reader.read()).value, new Uint8Array([4]));
 * assert.equal((await reader.read()).done, true);
 * ```
 *
 * @param transport The message transport.
 * @param options Buffer limits.
 * @returns The byte stream pair.
 * @throws {RangeError} If `maxMessageSize` or an option is not a positive number.
 */
export function messageStreams(
  transport: MessageTransport,
  options: MessageStreamOptions = {},
): ByteStreamTransport {
  const maxMessage = positive(transport.maxMessageSize ?? Infinity, "maxMessageSize", true);
  const highWater = positive(options.sendHighWaterMark ?? DEFAULT_SEND_HIGH_WATER_MARK, "sendHighWaterMark");
  const maxReceive = positive(options.maxReceiveBuffer ?? DEFAULT_MAX_RECEIVE_BUFFER, "maxReceiveBuffer");
  const poll = positive(options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS, "pollIntervalMs");
  let ended = false; // The transport closed, or we closed it.
  let closeCalled = false;
  let readCtl: ReadableStreamDefaultController<Uint8Array> | undefined;
  let writeCtl: WritableStreamDefaultController | undefined;
  const closeTransport = () => {
    ended = true;
    if (closeCalled) return;
    closeCalled = true;
    try {
      transport.close();
    } catch {
      // Closing twice or a closed transport: nothing left to do.
    }
  };
  const fail = (error: unknown) => {
    try {
      readCtl?.error(error);
    } catch {
      // Already closed.
    }
    try {
      writeCtl?.error(error);
    } catch {
      // Already closed.
    }
  };
  const readable = new ReadableStream<Uint8Array>({
    start: (c) => {
      readCtl = c;
      transport.onMessage((bytes) => {
        if (ended || bytes.length === 0) return;
        c.enqueue(bytes);
        if ((c.desiredSize ?? 0) < -maxReceive) {
          fail(
            new RangeError(
              `Cannot buffer more than ${maxReceive} received bytes: the reader is not keeping up`,
            ),
          );
          closeTransport();
        }
      });
      transport.onClose((error) => {
        if (ended) return;
        ended = true;
        if (error !== undefined) fail(error);
        else {
          try {
            c.close();
          } catch {
            // Already closed.
          }
        }
      });
    },
    cancel: closeTransport,
  }, new ByteLengthQueuingStrategy({ highWaterMark: 0 }));
  const writable = new WritableStream<Uint8Array>({
    start: (c) => {
      writeCtl = c;
    },
    write: async (chunk) => {
      const bytes = asBytes(chunk, "Cannot send");
      for (let off = 0; off < bytes.length; off += maxMessage) {
        if (ended) throw new Error("Cannot send: the transport is closed");
        await transport.send(bytes.subarray(off, Math.min(bytes.length, off + maxMessage)));
      }
      while ((transport.bufferedAmount?.() ?? 0) > highWater) {
        if (ended) throw new Error("Cannot send: the transport is closed");
        await new Promise((resolve) => setTimeout(resolve, poll));
      }
    },
    close: closeTransport,
    abort: closeTransport,
  });
  return { readable, writable };
}

/**
 * Drive `engine` over a message transport: {@linkcode messageStreams} then {@linkcode connectTls}.
 *
 * @example A client over a WebSocket
 * ```ts ignore
 * import { createBioPair, createClient } from "@airlock/tls";
 * import { connectTlsOverMessages, webSocketTransport } from "@airlock/tls/adapters";
 *
 * const ws = new WebSocket("wss://relay.example/tunnel");
 * const { engine, network } = createBioPair();
 * const client = createClient({ serverName: "inner.example", verifyPeer: ({ chain }) => pinned(chain) }, engine);
 * const tls = await connectTlsOverMessages(client, network, webSocketTransport(ws), { handshakeTimeoutMs: 10_000 });
 * ```
 *
 * @param engine An engine from `createClient` or `createServer`, not yet driven.
 * @param network The `network` half of the engine's BIO pair.
 * @param transport The message transport.
 * @param options The options of both {@linkcode connectTls} and {@linkcode messageStreams}.
 * @returns The plaintext streams, once the handshake is done.
 */
export function connectTlsOverMessages(
  engine: TlsEngine,
  network: Bio,
  transport: MessageTransport,
  options: ConnectTlsOptions & MessageStreamOptions = {},
): Promise<TlsStream> {
  let streams: ByteStreamTransport;
  try {
    streams = messageStreams(transport, options);
  } catch (e) {
    return Promise.reject(e);
  }
  return connectTls(engine, network, streams, options);
}

/**
 * The part of a WebSocket that {@linkcode webSocketTransport} uses: the web `WebSocket` of browsers, Deno
 * and Bun, Node 22's global one, or the `ws` package's.
 */
export interface WebSocketLike {
  /** Set to "arraybuffer". */
  binaryType: string;
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** Bytes queued by `send` and not yet transmitted. */
  readonly bufferedAmount: number;
  /** Send one binary message. */
  send(data: ReturnType<Uint8Array["slice"]>): void;
  /** Start the closing handshake. */
  close(code?: number, reason?: string): void;
  /** Listen for "open", "message", "error" and "close". */
  addEventListener(type: string, listener: (event: Event) => void, options?: { once?: boolean }): void;
}

/** A Uint8Array over an ArrayBuffer (`Uint8Array<ArrayBuffer>` on TypeScript ≥ 5.7), as WebSocket.send takes. */
type Uint8Array_ = ReturnType<Uint8Array["slice"]>;

/**
 * Wrap a WebSocket as a {@linkcode MessageTransport}: binary messages carry the TLS bytes; a text message
 * is a protocol error (close code 1003); a clean close is the end of the byte stream; an unclean one is an
 * error. A socket still connecting is waited for before the first send.
 *
 * @example A client over a WebSocket
 * ```ts ignore
 * import { createBioPair, createClient } from "@airlock/tls";
 * import { connectTlsOverMessages, webSocketTransport } from "@airlock/tls/adapters";
 *
 * const { engine, network } = createBioPair();
 * const client = createClient({ serverName: "inner.example", verifyPeer: ({ chain }) => pinned(chain) }, engine);
 * const ws = new WebSocket("wss://relay.example/tunnel");
 * const tls = await connectTlsOverMessages(client, network, webSocketTransport(ws));
 * ```
 *
 * @param ws The WebSocket, connecting or open; its `binaryType` is set to "arraybuffer".
 * @returns The message transport.
 */
export function webSocketTransport(ws: WebSocketLike): MessageTransport {
  let sawError = false;
  ws.addEventListener("error", () => {
    sawError = true;
  });
  return eventTransport("WebSocket", ws, {
    state: () => (["connecting", "open", "closing", "closed"] as const)[ws.readyState] ?? "closed",
    closeError: (e) => {
      const event = e as Event & { code?: number; reason?: string; wasClean?: boolean };
      if (event.wasClean !== false && !sawError) return undefined;
      const why = event.reason ? `, ${JSON.stringify(event.reason)}` : "";
      return new Error(`The WebSocket closed abnormally (code ${event.code ?? "unknown"}${why})`);
    },
    refuse: () => ws.close(1003, "binary messages only"),
    close: () => ws.close(1000),
  });
}

/**
 * The part of an `RTCDataChannel` that {@linkcode dataChannelTransport} uses (browsers; werift and
 * node-datachannel have the same shape).
 */
export interface DataChannelLike {
  /** Set to "arraybuffer". */
  binaryType: string;
  /** "connecting", "open", "closing" or "closed". */
  readonly readyState: string;
  /** Bytes queued by `send` and not yet transmitted. */
  readonly bufferedAmount: number;
  /** Send one binary message. */
  send(data: ReturnType<Uint8Array["slice"]>): void;
  /** Close the channel. */
  close(): void;
  /** Listen for "open", "message", "error" and "close". */
  addEventListener(type: string, listener: (event: Event) => void, options?: { once?: boolean }): void;
}

/** Options for {@linkcode dataChannelTransport}. */
export interface DataChannelTransportOptions {
  /**
   * The largest message sent; longer writes are split. Browsers carry at least 16 KiB between any two of
   * them (RFC 8831 §6.6); `RTCPeerConnection.sctp.maxMessageSize` says what this connection allows.
   *
   * @default {16384}
   */
  readonly maxMessageSize?: number | undefined;
}

/**
 * Wrap an `RTCDataChannel` as a {@linkcode MessageTransport}: binary messages carry the TLS bytes; a text
 * message is a protocol error (the channel is closed); the channel's close is the end of the byte stream
 * (an "error" event before it makes it an error). A channel still connecting is waited for before the
 * first send. Use a reliable, ordered channel (the default of `createDataChannel`): TLS needs every byte,
 * in order.
 *
 * @example TLS over a data channel (the other peer runs the server over its end of the channel)
 * ```ts ignore
 * import { createBioPair, createClient } from "@airlock/tls";
 * import { connectTlsOverMessages, dataChannelTransport } from "@airlock/tls/adapters";
 *
 * const channel = peerConnection.createDataChannel("tls");
 * const { engine, network } = createBioPair();
 * const client = createClient({ serverName: "peer.example", verifyPeer: ({ chain }) => pinned(chain) }, engine);
 * const tls = await connectTlsOverMessages(client, network, dataChannelTransport(channel));
 * ```
 *
 * @param channel The data channel, connecting or open; its `binaryType` is set to "arraybuffer".
 * @param options The largest message to send.
 * @returns The message transport.
 */
export function dataChannelTransport(
  channel: DataChannelLike,
  options: DataChannelTransportOptions = {},
): MessageTransport {
  const maxMessageSize = positive(options.maxMessageSize ?? 16384, "maxMessageSize", true);
  let sawError: unknown;
  channel.addEventListener("error", (e) => {
    const error = (e as Event & { error?: unknown }).error;
    sawError = error ?? new Error("The data channel failed");
  });
  return {
    ...eventTransport("data channel", channel, {
      state: () => channel.readyState as ChannelState,
      closeError: () => sawError,
      refuse: () => channel.close(),
      close: () => channel.close(),
    }),
    maxMessageSize,
  };
}

/** A channel's state, named as RTCDataChannel names them. */
type ChannelState = "connecting" | "open" | "closing" | "closed";

/** What {@linkcode eventTransport} needs to know of a WebSocket or a data channel. */
interface ChannelOps {
  /** Where the channel is. */
  state(): ChannelState;
  /** The error a "close" event stands for, or undefined for the clean end of the stream. */
  closeError(event: Event): unknown;
  /** Close the channel after a text message. */
  refuse(): void;
  /** Close the channel normally. */
  close(): void;
}

/** The message transport over a web WebSocket or RTCDataChannel: their events and binary messages. */
function eventTransport(
  what: string,
  channel: WebSocketLike | DataChannelLike,
  ops: ChannelOps,
): MessageTransport {
  channel.binaryType = "arraybuffer";
  let closeListener: ((error?: unknown) => void) | undefined;
  let ended = false;
  const end = (error?: unknown) => {
    if (ended) return;
    ended = true;
    closeListener?.(error);
  };
  const opened = ops.state() !== "connecting" ? undefined : new Promise<void>((resolve, reject) => {
    channel.addEventListener("open", () => resolve(), { once: true });
    channel.addEventListener(
      "close",
      () => reject(new Error(`Cannot send: the ${what} closed before it opened`)),
      { once: true },
    );
  });
  opened?.catch(() => {}); // The close listener reports it too.
  channel.addEventListener("close", (event) => end(ops.closeError(event)));
  const sendNow = (bytes: Uint8Array) => {
    if (ops.state() !== "open") throw new Error(`Cannot send: the ${what} is not open (${ops.state()})`);
    // Bytes from the pump sit on an ArrayBuffer; anything else (a SharedArrayBuffer) is copied.
    channel.send(bytes.buffer instanceof ArrayBuffer ? bytes as Uint8Array_ : bytes.slice());
  };
  return {
    send: (bytes) =>
      ops.state() === "connecting" && opened ? opened.then(() => sendNow(bytes)) : sendNow(bytes),
    onMessage: (fn) => {
      channel.addEventListener("message", (event) => {
        if (ended) return;
        const data = (event as Event & { data?: unknown }).data;
        if (data instanceof ArrayBuffer) fn(new Uint8Array(data));
        else if (ArrayBuffer.isView(data)) fn(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        else {
          end(
            new TypeError(`Cannot accept a ${typeof data} ${what} message: TLS travels in binary messages`),
          );
          ops.refuse();
        }
      });
    },
    onClose: (fn) => {
      closeListener = fn;
      if (ops.state() === "closed") {
        queueMicrotask(() => end(new Error(`Cannot use the ${what}: it is closed`)));
      }
    },
    close: () => {
      if (ops.state() === "connecting" || ops.state() === "open") ops.close();
    },
    bufferedAmount: () => channel.bufferedAmount,
  };
}

/** Check an option: a positive number (with `integer`, a whole one or Infinity). */
function positive(value: number, name: string, integer = false): number {
  if (
    typeof value !== "number" || !(value > 0) || (integer && value !== Infinity && !Number.isInteger(value))
  ) {
    throw new RangeError(
      `Cannot use ${name} ${value}: expected a positive ${integer ? "integer" : "number"}`,
    );
  }
  return value;
}
