/**
 * OpenSSL's rules for retrying `SSL_write` (ssl3_write_bytes, ssl3_write_pending), which `write()` follows:
 * after WANT_WRITE (or WANT_ASYNC) the caller passes the very same array again, never fewer bytes than were
 * taken, and until that write is done nothing else may jump the queue (a shutdown, say). Each breach is fatal,
 * as in OpenSSL.
 * @module
 */

import { localFault } from "./errors.ts";

/** A write() that returned WANT_WRITE: the array it passed, and the bytes of it already taken. */
export interface PendingWrite {
  readonly buffer: ArrayBufferLike;
  readonly offset: number;
  readonly taken: number;
}

/** What a write of `data` leaves pending once `taken` of its bytes are sealed. */
export function pendingWrite(data: Uint8Array, taken: number): PendingWrite {
  return { buffer: data.buffer, offset: data.byteOffset, taken };
}

/**
 * The bytes of `data` already taken, when it retries `pending` (0 for a fresh write); throws `bad_length` for
 * fewer bytes than were taken, and `bad_write_retry` for another array unless `moving` allows it
 * (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER).
 */
export function retriedBytes(pending: PendingWrite | undefined, data: Uint8Array, moving: boolean): number {
  if (!pending) return 0;
  if (data.length < pending.taken) {
    throw localFault(
      "bad_length",
      `Cannot write: the retry passes ${data.length} bytes, fewer than the ${pending.taken} already taken`,
    );
  }
  if (!moving && (data.buffer !== pending.buffer || data.byteOffset !== pending.offset)) {
    throw localFault(
      "bad_write_retry",
      "Cannot write: the retry after WANT_WRITE passes another array (set acceptMovingWriteBuffer to allow it)",
    );
  }
  return pending.taken;
}

/** A shutdown while part of a record of a pending write still waits for the BIO: the close cannot jump it. */
export function refuseWhileWriting(pending: PendingWrite | undefined, waitsForBio: boolean): void {
  if (pending && waitsForBio) {
    throw localFault(
      "bad_write_retry",
      "Cannot shut down: a write() that returned WANT_WRITE is not finished",
    );
  }
}
