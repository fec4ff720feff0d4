// Copyright 2026 the airlock authors. MIT license.

/**
 * Bun's TCP sockets (`Bun.listen`, `Bun.connect`) as the web stream pair that `connectTls` drives. Bun
 * calls one set of handlers per listener (`open`, `data`, `drain`, `end`, `close`, `error`) rather than
 * exposing streams, so each socket gets a {@linkcode SocketStreams} in its `data` slot and the handlers in
 * {@linkcode socketHandlers} forward to it.
 *
 * Back-pressure holds both ways: the socket is paused while the readable's queue is full, and a write
 * resolves only once Bun took every byte (after `drain` when `socket.write` took fewer). Closing the
 * writable sends FIN (`socket.end()`); aborting it resets the connection. Open sockets with
 * `allowHalfOpen: true`, so that the peer's FIN after its close_notify does not end our side before ours.
 *
 * @module
 */

import type { ByteStreamTransport } from "../../adapters/mod.ts";

/** The part of a Bun socket used here (the full types are in `@types/bun`). */
export interface BunSocket {
  data: SocketStreams | undefined;
  write(bytes: Uint8Array): number;
  end(): void;
  terminate(): void;
  pause(): void;
  resume(): void;
  readonly remoteAddress: string;
  readonly remotePort: number;
}

/** One socket's readable and writable, fed by the listener's handlers. */
export class SocketStreams implements ByteStreamTransport {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  #readCtl!: ReadableStreamDefaultController<Uint8Array>;
  #writeCtl!: WritableStreamDefaultController;
  #readEnded = false;
  #drained: (() => void) | undefined;

  constructor(readonly socket: BunSocket) {
    this.readable = new ReadableStream<Uint8Array>({
      start: (c) => void (this.#readCtl = c),
      pull: () => socket.resume(),
      cancel: () => {
        this.#readEnded = true;
        socket.end(); // after our own FIN this closes the socket; unsent bytes still leave
      },
    }, new ByteLengthQueuingStrategy({ highWaterMark: 65536 }));
    this.writable = new WritableStream<Uint8Array>({
      start: (c) => void (this.#writeCtl = c),
      write: async (chunk) => {
        for (let rest = chunk; rest.length > 0;) {
          const n = socket.write(rest);
          if (n < 0) throw new Error("Cannot write to the socket: it is closed");
          rest = rest.subarray(n);
          if (rest.length > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
        }
      },
      close: () => socket.end(),
      abort: () => socket.terminate(),
    });
  }

  /** Bytes arrived (Bun may reuse its buffer, so they are copied). */
  onData(bytes: Uint8Array): void {
    if (this.#readEnded) return;
    this.#readCtl.enqueue(bytes.slice());
    if ((this.#readCtl.desiredSize ?? 0) <= 0) this.socket.pause();
  }

  /** The socket can take more bytes. */
  onDrain(): void {
    const wake = this.#drained;
    this.#drained = undefined;
    wake?.();
  }

  /** The peer's FIN, or the socket's close: the end of the byte stream (TLS itself tells a truncation). */
  onEnd(): void {
    if (this.#readEnded) return;
    this.#readEnded = true;
    this.#readCtl.close();
  }

  /** The socket closed: with an error, both streams fail with it; a write waiting for `drain` goes on. */
  onClose(error?: Error): void {
    if (error) {
      if (!this.#readEnded) this.#readCtl.error(error);
      this.#readEnded = true;
      this.#writeCtl.error(error);
    } else this.onEnd();
    this.onDrain(); // the next socket.write() says the socket is closed
  }
}

/**
 * Handlers for `Bun.listen` or `Bun.connect`: each new socket gets its streams and `onOpen` is called with
 * them.
 *
 * @param onOpen Called once per connected socket.
 * @returns The `socket` option for Bun.
 */
export function socketHandlers(onOpen: (streams: SocketStreams) => void) {
  return {
    open(socket: BunSocket) {
      socket.data = new SocketStreams(socket);
      onOpen(socket.data);
    },
    data: (socket: BunSocket, bytes: Uint8Array) => socket.data?.onData(bytes),
    drain: (socket: BunSocket) => socket.data?.onDrain(),
    end: (socket: BunSocket) => socket.data?.onEnd(),
    close: (socket: BunSocket, error?: Error) => socket.data?.onClose(error),
    error: (socket: BunSocket, error: Error) => socket.data?.onClose(error),
  };
}

/** The `Bun` global, typed for what these examples use. */
export const Bun = (globalThis as unknown as { Bun: BunApi }).Bun;

/** `Bun.listen` and `Bun.connect` as used here. */
export interface BunApi {
  listen(options: {
    hostname: string;
    port: number;
    allowHalfOpen: boolean;
    socket: ReturnType<typeof socketHandlers>;
  }): { readonly port: number; stop(): void };
  connect(options: {
    hostname: string;
    port: number;
    allowHalfOpen: boolean;
    socket: ReturnType<typeof socketHandlers>;
  }): Promise<BunSocket>;
  readonly stdin: { stream(): ReadableStream<Uint8Array> };
}
