// Copyright 2026 the airlock authors. MIT license.

// connectTls() joins small writes queued on its writable into records of up to 16 KiB (issue #20), and a
// lone write still leaves at once. The records are counted on the wire, from their headers.

import assert from "node:assert/strict";
import { type ByteStreamTransport, connectTls, type TlsStream } from "./stream.ts";
import { connectTlsOverMessages, type MessageTransport } from "./message.ts";
import {
  breakLastByte,
  digest,
  makeEndpoints,
  memoryPair,
  messagePair,
  readAll,
  seededBytes,
  settle,
  sleep,
  state,
  withTimeout,
} from "../testing/adapters.ts";
import { on, TlsError } from "../mod.ts";

/** TLS 1.3 record overhead with the suites the tests negotiate: a 16-byte tag and the inner content type. */
const TLS13_OVERHEAD = 17;

/** The TLS records in a byte stream, from their 5-byte headers, however the stream is chunked. */
class RecordLog {
  /** Each record's content type and length (the header excluded), in order. */
  readonly records: { type: number; length: number }[] = [];
  /** Bytes seen. */
  bytes = 0;
  #head = new Uint8Array(5);
  #headFill = 0;
  #bodyLeft = 0;

  push(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    for (let i = 0; i < chunk.length;) {
      if (this.#bodyLeft > 0) {
        const n = Math.min(this.#bodyLeft, chunk.length - i);
        this.#bodyLeft -= n;
        i += n;
        continue;
      }
      this.#head[this.#headFill++] = chunk[i++]!;
      if (this.#headFill === 5) {
        this.#headFill = 0;
        const length = (this.#head[3]! << 8) | this.#head[4]!;
        this.records.push({ type: this.#head[0]!, length });
        this.#bodyLeft = length;
      }
    }
  }
}

/** `transport` with every byte handed to its writable logged first (synchronously, as the pump hands it). */
function logged(transport: ByteStreamTransport, log: RecordLog): ByteStreamTransport {
  const writer = transport.writable.getWriter();
  return {
    readable: transport.readable,
    writable: new WritableStream<Uint8Array>({
      write: (chunk) => {
        log.push(chunk);
        return writer.write(chunk);
      },
      close: () => writer.close(),
      abort: (reason) => writer.abort(reason),
    }),
  };
}

/** Handshake both ends in memory, logging the records the client hands to its transport. */
async function connectLogged(
  wrap: (t: ByteStreamTransport) => ByteStreamTransport = (t) => t,
): Promise<{ client: TlsStream; server: TlsStream; log: RecordLog; pipes: ReturnType<typeof memoryPair> }> {
  const { client, server } = await makeEndpoints();
  const pipes = memoryPair(16384);
  const log = new RecordLog();
  const [ct, st] = await Promise.all([
    connectTls(client.engine, client.network, logged(wrap(pipes.client), log)),
    connectTls(server.engine, server.network, pipes.server),
  ]);
  assert.equal(ct.info.version, "TLSv1.3");
  assert.doesNotMatch(ct.info.cipherSuite, /_8$/, "a suite with a 16-byte tag");
  return { client: ct, server: st, log, pipes };
}

/** Plaintext bytes of the records logged from index `from` on (TLS 1.3, no padding). */
function plaintexts(log: RecordLog, from: number): number[] {
  return log.records.slice(from).map((r) => r.length - TLS13_OVERHEAD);
}

/** Queue `count` writes of `size` bytes cut from `data` without waiting; each chunk is zeroed once its write resolves. */
function queueWrites(
  writer: WritableStreamDefaultWriter<Uint8Array>,
  data: Uint8Array,
  size: number,
): { promises: Promise<void>[]; resolved: boolean[] } {
  const promises: Promise<void>[] = [];
  const resolved: boolean[] = [];
  for (let i = 0; i * size < data.length; i++) {
    // A chunk of its own, scribbled over once its write resolved: the pump must have copied it by then.
    const chunk = data.slice(i * size, (i + 1) * size);
    resolved.push(false);
    promises.push(
      writer.write(chunk).then(() => {
        resolved[i] = true;
        chunk.fill(0);
      }),
    );
  }
  return { promises, resolved };
}

Deno.test("connectTls() joins 1,000 queued 1 KiB writes into records of up to 16 KiB, bytes in order", async () => {
  await withTimeout(
    (async () => {
      const { client, server, log } = await connectLogged();
      const from = log.records.length; // the handshake's records are behind us
      const data = seededBytes(1000 * 1024, 31);
      const writer = client.writable.getWriter();
      const reading = readAll(server.readable);
      const { promises } = queueWrites(writer, data, 1024);
      await Promise.all(promises);
      await writer.close();
      const got = await reading;
      assert.equal(got.length, data.length);
      assert.deepEqual(got.digest, digest(data));
      const sizes = plaintexts(log, from);
      assert.equal(sizes.pop(), 2, "close_notify comes last");
      assert.ok(log.records.slice(from).every((r) => r.type === 23), "application data records only");
      assert.equal(sizes.reduce((a, b) => a + b, 0), data.length, "every byte once, in these records");
      assert.ok(sizes.every((n) => n > 0 && n <= 16384), `no record above 16 KiB: ${Math.max(...sizes)}`);
      assert.ok(sizes.length <= 100, `1,000 writes joined into a few records, not ${sizes.length}`);
      assert.ok(sizes.filter((n) => n === 16384).length >= 50, "most records are full");
      await Promise.all([server.close(), client.close()]);
    })(),
    30_000,
    "1,000 writes",
  );
});

Deno.test("connectTls() joins small chunks piped into the writable (its queue holds 16 KiB)", async () => {
  await withTimeout(
    (async () => {
      const { client, server, log } = await connectLogged();
      const from = log.records.length;
      const data = seededBytes(1000 * 1024, 41);
      let i = 0;
      const source = new ReadableStream<Uint8Array>({
        pull: (c) => {
          if (i === 1000) c.close();
          else c.enqueue(data.slice(i * 1024, ++i * 1024));
        },
      });
      const [, got] = await Promise.all([source.pipeTo(client.writable), readAll(server.readable)]);
      assert.deepEqual(got.digest, digest(data));
      const sizes = plaintexts(log, from);
      assert.equal(sizes.pop(), 2, "close_notify comes last");
      // pipeTo() reads the source as the queue empties, so runs are shorter than 16 chunks (Node: about 8).
      assert.ok(sizes.length <= 250, `1,000 piped chunks joined into fewer records, not ${sizes.length}`);
      await Promise.all([server.close(), client.close()]);
    })(),
    30_000,
    "pipeTo",
  );
});

Deno.test("connectTls() sends a lone small write at once: 100 round trips of 1 byte", async () => {
  await withTimeout(
    (async () => {
      const { client, server, log } = await connectLogged();
      const cw = client.writable.getWriter(), cr = client.readable.getReader();
      const sw = server.writable.getWriter(), sr = server.readable.getReader();
      const echo = (async () => {
        for (let i = 0; i < 100; i++) {
          const { value } = await sr.read();
          assert.equal(value?.length, 1);
          await sw.write(value!.map((b) => b + 1));
        }
      })();
      const start = performance.now();
      for (let i = 0; i < 100; i++) {
        const before = log.records.length;
        await cw.write(Uint8Array.of(i));
        // Nothing else was queued, so nothing was waited for: the record is with the transport already.
        assert.deepEqual(
          plaintexts(log, before),
          [1],
          "the write's record was handed over before it resolved",
        );
        const { value } = await cr.read();
        assert.deepEqual(value, Uint8Array.of(i + 1));
      }
      const ms = performance.now() - start;
      await echo;
      assert.ok(ms < 15_000, `100 round trips took ${ms.toFixed(0)} ms`);
      await Promise.all([cw.close(), sw.close()]);
      await Promise.all([cr.read(), sr.read()]); // both see the other's close_notify
      await Promise.all([client.closed, server.closed]);
    })(),
    20_000,
    "ping-pong",
  );
});

Deno.test("connectTls() sends every queued write, then close_notify, when the writable closes", async () => {
  await withTimeout(
    (async () => {
      const { client, server, log } = await connectLogged();
      const from = log.records.length;
      const data = seededBytes(300 * 100, 32);
      const writer = client.writable.getWriter();
      const reading = readAll(server.readable);
      const { promises } = queueWrites(writer, data, 100);
      const closing = writer.close(); // queued behind the writes, not awaited before
      await Promise.all([...promises, closing]);
      const got = await reading; // ends at the client's close_notify
      assert.deepEqual(got.digest, digest(data));
      const sizes = plaintexts(log, from);
      assert.equal(sizes.pop(), 2, "close_notify after the data");
      assert.equal(sizes.reduce((a, b) => a + b, 0), data.length);
      assert.ok(sizes.length <= 10, `300 writes of 100 bytes in a few records, not ${sizes.length}`);
      await Promise.all([server.close(), client.close()]);
    })(),
    20_000,
    "close after queued writes",
  );
});

Deno.test("TlsStream.close() sends the bytes of every write that resolved, then close_notify; the rest fail", async () => {
  await withTimeout(
    (async () => {
      const { client, server } = await connectLogged();
      const data = seededBytes(50 * 100, 33);
      const writer = client.writable.getWriter();
      const serving = (async () => {
        const got = await readAll(server.readable);
        await server.close();
        return got;
      })();
      const { promises, resolved } = queueWrites(writer, data, 100);
      const outcomes = promises.map((p) => settle(p));
      await promises[9]; // chunks 0..9 are accepted, the later ones may be gathered too
      const closing = client.close(); // the writer still holds the lock: queued writes now fail
      const results = await Promise.all(outcomes);
      await closing;
      const accepted = results.findIndex((r) => !r.ok);
      assert.ok(accepted >= 10 && accepted < 50, `the first writes resolved, the last failed (${accepted})`);
      assert.ok(
        results.slice(accepted).every((r) => !r.ok && r.error instanceof TypeError),
        "the rest failed",
      );
      assert.deepEqual(resolved.slice(0, accepted), new Array(accepted).fill(true));
      const got = await serving;
      assert.equal(got.length, accepted * 100, "what resolved arrived, nothing else");
      assert.deepEqual(got.digest, digest(data.subarray(0, accepted * 100)));
    })(),
    20_000,
    "close() with queued writes",
  );
});

Deno.test("connectTls() sends a KeyUpdate after the bytes of the writes that resolved before it", async () => {
  await withTimeout(
    (async () => {
      const { client, server } = await makeEndpoints();
      const pipes = memoryPair(16384);
      // Bytes the client engine took, when it sealed its KeyUpdate.
      let taken = 0, takenAtKeyUpdate = -1, peerUpdated = false;
      const write = client.engine.write.bind(client.engine);
      client.engine.write = (bytes: Uint8Array) => {
        const n = write(bytes);
        if (n > 0) taken += n;
        return n;
      };
      on(client.engine, "message", (m) => {
        if (m.direction === "sent" && m.name === "KeyUpdate") takenAtKeyUpdate = taken;
      });
      on(server.engine, "message", (m) => {
        if (m.direction === "received" && m.name === "KeyUpdate") peerUpdated = true;
      });
      const [ct, st] = await Promise.all([
        connectTls(client.engine, client.network, pipes.client),
        connectTls(server.engine, server.network, pipes.server),
      ]);
      const data = seededBytes(50 * 100, 34);
      const writer = ct.writable.getWriter();
      const reading = readAll(st.readable);
      const { promises, resolved } = queueWrites(writer, data, 100);
      await promises[9];
      const before = resolved.filter(Boolean).length * 100;
      await ct.keyUpdate(true);
      assert.ok(
        takenAtKeyUpdate >= before,
        `${before} bytes resolved before the KeyUpdate, ${takenAtKeyUpdate} sent`,
      );
      await Promise.all(promises);
      await writer.close();
      const got = await reading;
      assert.deepEqual(got.digest, digest(data));
      assert.ok(peerUpdated, "the server received the KeyUpdate");
      await Promise.all([st.close(), ct.close()]);
    })(),
    20_000,
    "key update after queued writes",
  );
});

Deno.test("connectTls() keeps back-pressure with queued small writes: a bounded amount goes out", async () => {
  await withTimeout(
    (async () => {
      const { client, server, log } = await connectLogged();
      const sentBefore = log.bytes;
      const data = seededBytes(2000 * 1024, 35);
      const writer = client.writable.getWriter();
      const { promises } = queueWrites(writer, data, 1024); // the server does not read yet
      for (let i = 0; i < 20; i++) await sleep(5);
      assert.equal(await state(Promise.all(promises)), "pending");
      assert.ok(writer.desiredSize! < 0, "the writable signals back-pressure");
      // The pipe (3 × 16 KiB), the BIOs, one record being gathered and one being sent, at most.
      const out = log.bytes - sentBefore;
      assert.ok(out < 160 * 1024, `only a bounded amount went out, not ${out} bytes`);
      const reading = readAll(server.readable);
      await Promise.all(promises);
      await writer.close();
      assert.deepEqual((await reading).digest, digest(data));
      await Promise.all([server.close(), client.close()]);
    })(),
    30_000,
    "back-pressure with small writes",
  );
});

Deno.test("connectTls() over a slow transport: a writer honouring `ready` queues at most about a record", async () => {
  await withTimeout(
    (async () => {
      // Every chunk the client hands over waits 2 ms before it moves on.
      let passed = 0;
      const slow = (t: ByteStreamTransport): ByteStreamTransport => {
        const writer = t.writable.getWriter();
        return {
          readable: t.readable,
          writable: new WritableStream<Uint8Array>({
            write: async (chunk) => {
              await sleep(2);
              await writer.write(chunk);
              passed += chunk.length;
            },
            close: () => writer.close(),
            abort: (reason) => writer.abort(reason),
          }),
        };
      };
      const { client, server, log } = await connectLogged(slow);
      const from = log.records.length;
      const data = seededBytes(400 * 1024, 36);
      const writer = client.writable.getWriter();
      const reading = readAll(server.readable);
      let mostQueued = 0, mostWaiting = 0;
      for (let off = 0; off < data.length; off += 1024) {
        if (writer.desiredSize! <= 0) await writer.ready;
        writer.write(data.slice(off, off + 1024)).catch(() => {});
        mostQueued = Math.max(mostQueued, 16384 - writer.desiredSize!);
        mostWaiting = Math.max(mostWaiting, log.bytes - passed);
      }
      await writer.close();
      assert.deepEqual((await reading).digest, digest(data));
      // `ready` waits once the writable holds a record's worth (its high-water mark is 16 KiB)…
      assert.ok(mostQueued <= 16384 + 1024, `the writable queued ${mostQueued} bytes at most`);
      // …and the pump hands the slow transport a record or two at a time, not all it was given.
      assert.ok(mostWaiting <= 3 * 16500, `${mostWaiting} bytes waited in the slow transport at most`);
      const sizes = plaintexts(log, from);
      assert.equal(sizes.pop(), 2);
      assert.ok(sizes.length <= 60, `400 writes of 1 KiB in ${sizes.length} records`);
      await Promise.all([server.close(), client.close()]);
    })(),
    30_000,
    "slow transport",
  );
});

Deno.test("connectTls() with queued writes: an abort fails them and both streams, and aborts the transport", async () => {
  await withTimeout(
    (async () => {
      const { client, server, pipes } = await connectLogged();
      const writer = client.writable.getWriter();
      const { promises } = queueWrites(writer, seededBytes(500 * 1024, 37), 1024); // the server does not read
      await sleep(10);
      const reason = new Error("user went away");
      const outcomes = await Promise.all([writer.abort(reason), ...promises.map((p) => settle(p))]);
      const failed = outcomes.slice(1).filter((r) => !(r as { ok: boolean }).ok).length;
      assert.ok(failed >= promises.length - 150, `the writes not sent failed (${failed})`);
      await assert.rejects(client.closed, (e) => e === reason);
      await assert.rejects(client.readable.getReader().read(), (e) => e === reason);
      await assert.rejects(readAll(server.readable)); // no close_notify: its transport failed
      await assert.rejects(server.closed);
      assert.ok(pipes.c2s.writerAborted, "the transport was aborted");
    })(),
    20_000,
    "abort with queued writes",
  );
});

Deno.test("connectTls() with queued writes: a fatal error reaches both sides' streams", async () => {
  await withTimeout(
    (async () => {
      const { client, server, pipes } = await connectLogged();
      pipes.c2s.tamper = breakLastByte; // breaks a record's tag
      const writer = client.writable.getWriter();
      const { promises } = queueWrites(writer, seededBytes(1000 * 1024, 38), 1024);
      const clientReading = client.readable.getReader().read(); // reads the server's alert when it comes
      const isCode = (code: string) => (e: unknown) => e instanceof TlsError && e.code === code;
      await assert.rejects(server.readable.getReader().read(), isCode("decrypt"));
      await assert.rejects(server.closed, isCode("decrypt"));
      const alert = isCode("alert_received.bad_record_mac");
      await assert.rejects(clientReading, alert);
      await assert.rejects(client.closed, alert);
      const outcomes = await Promise.all(promises.map((p) => settle(p)));
      const failures = outcomes.filter((r) => !r.ok);
      assert.ok(failures.length > 0, "the writes still queued failed");
      assert.ok(failures.every((r) => !r.ok && alert(r.error)), "with the peer's alert");
      await assert.rejects(writer.write(new Uint8Array(1)), alert);
    })(),
    20_000,
    "fatal error with queued writes",
  );
});

Deno.test("connectTlsOverMessages() joins queued small writes and still splits at maxMessageSize", async () => {
  await withTimeout(
    (async () => {
      const { client, server } = await makeEndpoints();
      const pair = messagePair({ seed: 7, maxMessageSize: 1000 });
      const log = new RecordLog();
      const send = pair.client.send.bind(pair.client);
      const clientTransport: MessageTransport = {
        ...pair.client,
        send: (bytes) => {
          log.push(bytes);
          return send(bytes);
        },
      };
      const [ct, st] = await Promise.all([
        connectTlsOverMessages(client.engine, client.network, clientTransport),
        connectTlsOverMessages(server.engine, server.network, pair.server),
      ]);
      const from = log.records.length;
      const data = seededBytes(400 * 512, 39);
      const writer = ct.writable.getWriter();
      const reading = readAll(st.readable);
      const { promises } = queueWrites(writer, data, 512);
      await Promise.all(promises);
      await writer.close();
      assert.deepEqual((await reading).digest, digest(data));
      assert.ok(pair.c2s.sent.every((n) => n <= 1000), "no message above maxMessageSize");
      const sizes = plaintexts(log, from);
      assert.equal(sizes.pop(), 2);
      assert.ok(sizes.length <= 30, `400 writes of 512 bytes in ${sizes.length} records`);
      await Promise.all([st.close(), ct.close()]);
    })(),
    20_000,
    "messages",
  );
});

Deno.test("TlsStream.readable returns the small records that arrived together as one chunk", async () => {
  await withTimeout(
    (async () => {
      const { client, server } = await makeEndpoints();
      // Delivered messages of up to 16 KiB, cut across what was sent: several records in one message.
      const pair = messagePair({ seed: 9, maxDelivered: 16384 });
      const [ct, st] = await Promise.all([
        connectTlsOverMessages(client.engine, client.network, pair.client),
        connectTlsOverMessages(server.engine, server.network, pair.server),
      ]);
      const data = seededBytes(40 * 100, 40);
      const w = ct.writable.getWriter();
      for (let i = 0; i < 40; i++) await w.write(data.subarray(i * 100, (i + 1) * 100)); // 40 records
      const sent = pair.c2s.sent.reduce((a, b) => a + b, 0);
      while (pair.c2s.delivered.reduce((a, b) => a + b, 0) < sent) await sleep(1);
      const reader = st.readable.getReader();
      const chunks: number[] = [];
      for (let got = 0; got < data.length;) {
        const { value } = await reader.read();
        chunks.push(value!.length);
        got += value!.length;
      }
      assert.ok(Math.max(...chunks) > 100, `several records in one chunk: ${chunks.join(", ")}`);
      assert.ok(chunks.every((n) => n <= 16384));
      reader.releaseLock();
      await w.close();
      assert.equal((await readAll(st.readable)).length, 0);
      await Promise.all([st.close(), ct.close()]);
    })(),
    20_000,
    "read side",
  );
});
