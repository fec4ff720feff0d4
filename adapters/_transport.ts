// Copyright 2026 the airlock authors. MIT license.
// This module is browser compatible.

/**
 * How `connectTls` reaches its transport (private): a web stream pair's reader and writer, or, for a
 * transport that says how to reach it directly (`nodeSocketStreams`'s, through {@linkcode directPorts}), the
 * same few calls without the streams.
 *
 * @module
 */

/** The transport calls the pump makes: a web stream reader's and writer's, by the same names. */
export interface TransportPort {
  /** The next chunk from the peer, or `done` at the transport's end; rejects when the transport failed. */
  read(): Promise<ReadableStreamReadResult<Uint8Array>>;
  /** Stop reading, and end the transport's reading side. */
  cancel(reason: unknown): Promise<void>;
  /** Resolves when the transport takes more bytes without queueing them (a writer's `ready`). */
  readonly ready: Promise<void>;
  /** Hand bytes over, in order; resolves once the transport took them. */
  write(bytes: Uint8Array): Promise<void>;
  /** Close the writing side once the bytes written have left (a TCP FIN). */
  close(): Promise<void>;
  /** Drop what is queued and tear the transport down. */
  abort(reason: unknown): Promise<void>;
}

/**
 * Transports that `connectTls` may drive without their web streams: the port for a transport, or undefined
 * once its streams were made (someone read `readable` or `writable` first, and those then carry the bytes).
 * `nodeSocketStreams` registers its transports here, so that a server's connection costs no web streams on
 * the socket side (on Node they took about 5 kB of heap and a few percent of a server's CPU time per
 * connection).
 */
export const directPorts: WeakMap<object, () => TransportPort | undefined> = new WeakMap();

/**
 * Readables known not to be byte streams: `connectTls` takes a default reader from them at once. For any
 * other readable it first asks for a BYOB reader, and a stream that is not a byte stream refuses with a
 * TypeError: on Node that error formats the whole stream into its message, 3% of a server's CPU time per
 * connection under load.
 */
export const notByteStreams: WeakSet<ReadableStream<Uint8Array>> = new WeakSet();
