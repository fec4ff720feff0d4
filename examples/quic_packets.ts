// Copyright 2026 the airlock authors. MIT license.

/**
 * The engine's QUIC interface (RFC 9001) driving a toy QUIC: a client and a server in one process exchange
 * "packets" whose payloads are really sealed with the packet protection keys of their encryption level, and
 * whose headers are really protected (RFC 9001 §5.4, AES and ChaCha20 masks). The TLS side is the engine:
 * created with `quic`, it takes the peer's handshake bytes by level (`provideQuicData`), gives its own by
 * level (`takeQuicData`), and hands over each level's traffic secrets through the `secrets` event, which
 * `quicPacketKeys` turns into the AEAD key, IV and header protection key. Initial keys come from the
 * client's Destination Connection ID (`quicInitialSecrets`).
 *
 * The flow: client Initial (ClientHello) → server Initial (ServerHello) and Handshake packets
 * (EncryptedExtensions … Finished) → client Handshake packet (Finished) → both at 1-RTT keys; then the
 * server's NewSessionTicket in a 1-RTT CRYPTO frame, and one 1-RTT STREAM frame each way ("ping", "pong"),
 * and a packet with one bit flipped, which the server cannot open. Every packet is printed as it goes.
 *
 * What is toy about it: one packet per datagram, delivered in order without loss (so no ACK frames, no
 * retransmission, no reordering buffer); a long header with only the type, the Destination Connection ID
 * and a 4-byte packet number (no version, Source Connection ID, token or length), a short header without
 * the Destination Connection ID; no padding of the client's Initial to 1,200 bytes; no HANDSHAKE_DONE; no
 * key update. The frames are QUIC's own (CRYPTO 0x06, STREAM 0x0a) with its variable-length integers.
 *
 *     deno run -A examples/quic_packets.ts [TLS_AES_128_GCM_SHA256 | TLS_AES_256_GCM_SHA384 | TLS_CHACHA20_POLY1305_SHA256]
 *     bun examples/quic_packets.ts
 *     node --import tsx examples/quic_packets.ts
 *
 * @module
 */

import process from "node:process";
import { ecb } from "@noble/ciphers/aes.js";
import { chacha20 } from "@noble/ciphers/chacha.js";
import {
  type CipherSuiteName,
  createClient,
  createServer,
  loadPrivateKey,
  nobleProvider,
  on,
  quicInitialSecrets,
  type QuicLevel,
  quicPacketKeys,
  SslError,
  type Tls13Suite,
  type TlsEngine,
} from "../mod.ts";
import { selfSignedCertificate } from "./_cert.ts";

/** The TLS 1.3 suites, as `quicPacketKeys` wants them (built from the provider's AEADs and hashes). */
const SUITES = {
  TLS_AES_128_GCM_SHA256: { id: 0x1301, aead: "AES-128-GCM", hash: "SHA-256" },
  TLS_AES_256_GCM_SHA384: { id: 0x1302, aead: "AES-256-GCM", hash: "SHA-384" },
  TLS_CHACHA20_POLY1305_SHA256: { id: 0x1303, aead: "CHACHA20-POLY1305", hash: "SHA-256" },
} as const;

function suiteNamed(name: string): Tls13Suite {
  if (!(name in SUITES)) throw new RangeError(`Cannot use cipher suite "${name}": not a TLS 1.3 suite`);
  const s = SUITES[name as keyof typeof SUITES];
  return {
    id: s.id,
    name: name as keyof typeof SUITES,
    aead: nobleProvider.aead(s.aead),
    hash: nobleProvider.hash(s.hash),
  };
}

/** Keys for one direction at one level: the AEAD key and IV, and the header protection key. */
interface PacketKeys {
  readonly suite: Tls13Suite;
  readonly key: Uint8Array;
  readonly iv: Uint8Array;
  readonly hp: Uint8Array;
}

function packetKeys(suite: Tls13Suite, secret: Uint8Array): PacketKeys {
  return { suite, ...quicPacketKeys(suite, secret) };
}

/** Packet types: the first byte before header protection (long header for Initial and Handshake). */
const PACKET_TYPE = { initial: 0xc3, handshake: 0xe3, application: 0x43 } as const;
const LEVEL_NAME = {
  initial: "Initial",
  early: "0-RTT",
  handshake: "Handshake",
  application: "1-RTT",
} as const;
/** CRYPTO data per packet at most: the server's certificate flight takes several packets. */
const MAX_CRYPTO_PER_PACKET = 1000;

// ---- QUIC variable-length integers (RFC 9000 §16) and frames ---------------------------------------

function varint(n: number): Uint8Array {
  if (n < 0x40) return Uint8Array.of(n);
  if (n < 0x4000) return Uint8Array.of(0x40 | (n >> 8), n & 0xff);
  return Uint8Array.of(0x80 | (n >>> 24), (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
}

function readVarint(b: Uint8Array, at: { i: number }): number {
  const first = b[at.i]!;
  const len = 1 << (first >> 6);
  let n = first & 0x3f;
  for (let k = 1; k < len; k++) n = n * 256 + b[at.i + k]!;
  at.i += len;
  return n;
}

/** The parts one after another (packets are small: no need to be clever). */
function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}

type Frame = { type: "crypto"; offset: number; data: Uint8Array } | {
  type: "stream";
  id: number;
  data: Uint8Array;
};

function encodeFrame(f: Frame): Uint8Array {
  return f.type === "crypto"
    ? concat(Uint8Array.of(0x06), varint(f.offset), varint(f.data.length), f.data)
    : concat(Uint8Array.of(0x0a), varint(f.id), varint(f.data.length), f.data); // STREAM with LEN
}

function decodeFrames(payload: Uint8Array): Frame[] {
  const frames: Frame[] = [];
  const at = { i: 0 };
  while (at.i < payload.length) {
    const type = readVarint(payload, at);
    const first = readVarint(payload, at);
    const length = readVarint(payload, at);
    const data = payload.subarray(at.i, at.i + length);
    at.i += length;
    if (type === 0x06) frames.push({ type: "crypto", offset: first, data });
    else if (type === 0x0a) frames.push({ type: "stream", id: first, data });
    else throw new Error(`Cannot read frame type 0x${type.toString(16)}: this toy knows CRYPTO and STREAM`);
  }
  return frames;
}

// ---- packet protection (RFC 9001 §5.3, §5.4) --------------------------------------------------------

/** The 5-byte header protection mask from a 16-byte sample of the ciphertext. */
function headerMask(keys: PacketKeys, sample: Uint8Array): Uint8Array {
  if (keys.suite.aead.name === "CHACHA20-POLY1305") {
    const counter = new DataView(sample.buffer, sample.byteOffset).getUint32(0, true);
    return chacha20(keys.hp, sample.subarray(4, 16), new Uint8Array(5), undefined, counter);
  }
  return ecb(keys.hp, { disablePadding: true }).encrypt(sample).subarray(0, 5);
}

function nonce(iv: Uint8Array, pn: number): Uint8Array {
  const n = iv.slice();
  for (let k = 0; k < 4; k++) n[11 - k]! ^= (pn >>> (8 * k)) & 0xff;
  return n;
}

/** Seal `frames` into a packet at `level`; returns the bytes to put in a datagram. */
function sealPacket(
  level: QuicLevel,
  dcid: Uint8Array,
  pn: number,
  keys: PacketKeys,
  frames: Frame[],
): Uint8Array {
  const pnBytes = Uint8Array.of(pn >>> 24, (pn >> 16) & 0xff, (pn >> 8) & 0xff, pn & 0xff);
  const long = level !== "application";
  const header = concat(
    Uint8Array.of(PACKET_TYPE[level as keyof typeof PACKET_TYPE]),
    long ? concat(Uint8Array.of(dcid.length), dcid) : new Uint8Array(0),
    pnBytes,
  );
  const sealed = keys.suite.aead.importKey(keys.key).seal(
    nonce(keys.iv, pn),
    header,
    concat(...frames.map(encodeFrame)),
  );
  const packet = concat(header, sealed);
  // Header protection: the sample starts 4 bytes after the packet number's start, as if it were 4 bytes long.
  const pnOffset = header.length - 4;
  const mask = headerMask(keys, packet.subarray(pnOffset + 4, pnOffset + 20));
  packet[0]! ^= mask[0]! & (long ? 0x0f : 0x1f);
  for (let k = 0; k < 4; k++) packet[pnOffset + k]! ^= mask[1 + k]!;
  return packet;
}

/** What a packet's first byte says before it is opened: its level, and the DCID of a long header. */
function peekPacket(packet: Uint8Array): { level: QuicLevel; dcid: Uint8Array; pnOffset: number } {
  if ((packet[0]! & 0x80) === 0) return { level: "application", dcid: new Uint8Array(0), pnOffset: 1 };
  // The long header's type bits (0x30) are not protected.
  const level = (packet[0]! & 0x30) === 0x20 ? "handshake" : "initial";
  const dcid = packet.subarray(2, 2 + packet[1]!);
  return { level, dcid, pnOffset: 2 + dcid.length };
}

/** Remove header protection and open the packet; throws if it does not authenticate. */
function openPacket(packet: Uint8Array, keys: PacketKeys): { pn: number; frames: Frame[] } {
  const { level, pnOffset } = peekPacket(packet);
  const mask = headerMask(keys, packet.subarray(pnOffset + 4, pnOffset + 20));
  const header = packet.slice(0, pnOffset + 4);
  header[0]! ^= mask[0]! & (level === "application" ? 0x1f : 0x0f);
  for (let k = 0; k < 4; k++) header[pnOffset + k]! ^= mask[1 + k]!;
  const pn = new DataView(header.buffer).getUint32(pnOffset);
  const payload = keys.suite.aead.importKey(keys.key).open(
    nonce(keys.iv, pn),
    header,
    packet.subarray(pnOffset + 4),
  );
  if (!payload) throw new Error(`Cannot open ${LEVEL_NAME[level]} packet ${pn}: it does not authenticate`);
  return { pn, frames: decodeFrames(payload) };
}

/**
 * Wait out WANT_ASYNC (a provider working asynchronously: the bytes were taken, `doHandshake()` goes on with
 * them); throw the engine's error if it failed.
 */
async function settle(tls: TlsEngine, r: number): Promise<void> {
  while (r < 0 && tls.getError(r) === SslError.WANT_ASYNC) {
    await tls.asyncWait();
    r = tls.doHandshake();
  }
  if (tls.error) throw tls.error;
}

// ---- one endpoint -----------------------------------------------------------------------------------

/** A QUIC endpoint in miniature: the TLS engine, keys and packet numbers per level, CRYPTO offsets. */
class Endpoint {
  readonly write = new Map<QuicLevel, PacketKeys>();
  readonly read = new Map<QuicLevel, PacketKeys>();
  readonly #nextPn = new Map<QuicLevel, number>(); // one packet number space per level
  readonly #sentCrypto = new Map<QuicLevel, number>();
  readonly #receivedCrypto = new Map<QuicLevel, number>();
  readonly received: string[] = [];
  /** The handshake messages the engine wrote since the last flush (its `message` event), for the log. */
  #messages: string[] = [];

  constructor(readonly name: "client" | "server", readonly tls: TlsEngine, public dcid: Uint8Array) {
    on(tls, "secrets", ({ direction, level, cipherSuite, secret }) => {
      (direction === "write" ? this.write : this.read).set(
        level,
        packetKeys(suiteNamed(cipherSuite), secret),
      );
    });
    on(tls, "message", ({ direction, name }) => direction === "sent" && this.#messages.push(name));
  }

  /** Initial keys from the client's Destination Connection ID (the same on both sides). */
  installInitialKeys(dcid: Uint8Array): void {
    const initial = quicInitialSecrets(dcid);
    const aes128 = suiteNamed("TLS_AES_128_GCM_SHA256");
    const [mine, theirs] = this.name === "client"
      ? [initial.client, initial.server]
      : [initial.server, initial.client];
    this.write.set("initial", packetKeys(aes128, mine));
    this.read.set("initial", packetKeys(aes128, theirs));
    this.dcid = dcid;
  }

  /** Pack what the engine has to send into packets, CRYPTO data split at MAX_CRYPTO_PER_PACKET. */
  flush(): Uint8Array[] {
    const packets: Uint8Array[] = [];
    if (this.#messages.length > 0) console.log(`${this.name}: TLS wrote ${this.#messages.join(", ")}`);
    this.#messages = [];
    for (const { level, data } of this.tls.takeQuicData()) {
      for (let off = 0; off < data.length; off += MAX_CRYPTO_PER_PACKET) {
        const chunk = data.subarray(off, off + MAX_CRYPTO_PER_PACKET);
        const offset = this.#sentCrypto.get(level) ?? 0;
        this.#sentCrypto.set(level, offset + chunk.length);
        packets.push(this.#seal(level, [{ type: "crypto", offset, data: chunk }]));
      }
    }
    return packets;
  }

  send(text: string): Uint8Array {
    return this.#seal("application", [{ type: "stream", id: 0, data: new TextEncoder().encode(text) }]);
  }

  #seal(level: QuicLevel, frames: Frame[]): Uint8Array {
    const keys = this.write.get(level);
    if (!keys) throw new Error(`${this.name}: no ${LEVEL_NAME[level]} write keys yet`);
    const pn = this.#nextPn.get(level) ?? 0;
    this.#nextPn.set(level, pn + 1);
    const packet = sealPacket(level, this.dcid, pn, keys, frames);
    const what = frames.map((f) =>
      f.type === "crypto"
        ? `CRYPTO [${f.offset}, ${f.offset + f.data.length})`
        : `STREAM ${f.id} "${new TextDecoder().decode(f.data)}"`
    );
    const to = this.name === "client" ? "server" : "client";
    console.log(
      `${this.name} -> ${to}  ${LEVEL_NAME[level].padEnd(9)} pn=${pn}  ${packet.length} bytes  ${
        what.join(", ")
      }`,
    );
    return packet;
  }

  /** Open a packet and hand its frames on: CRYPTO to the engine (in order), STREAM to `received`. */
  async receive(packet: Uint8Array): Promise<void> {
    const { level, dcid } = peekPacket(packet);
    if (level === "initial" && !this.read.has("initial")) this.installInitialKeys(dcid.slice()); // the server
    const keys = this.read.get(level);
    if (!keys) throw new Error(`${this.name}: no ${LEVEL_NAME[level]} read keys yet`);
    for (const frame of openPacket(packet, keys).frames) {
      if (frame.type === "stream") {
        this.received.push(new TextDecoder().decode(frame.data));
        continue;
      }
      const expected = this.#receivedCrypto.get(level) ?? 0;
      if (frame.offset !== expected) throw new Error(`${this.name}: CRYPTO data out of order (toy link)`);
      this.#receivedCrypto.set(level, expected + frame.data.length);
      await settle(this.tls, this.tls.provideQuicData(level, frame.data));
    }
  }
}

// ---- the exchange -----------------------------------------------------------------------------------

async function main(): Promise<void> {
  const cipherSuite = (process.argv[2] ?? "TLS_AES_128_GCM_SHA256") as CipherSuiteName;
  suiteNamed(cipherSuite); // a usage error before anything starts
  const cert = await selfSignedCertificate("quic.example");
  const key = await loadPrivateKey(cert.keyPkcs8);
  const client = new Endpoint(
    "client",
    createClient({
      serverName: "quic.example",
      trustAnchors: [cert.der],
      alpnProtocols: ["h3"], // QUIC requires ALPN
      cipherSuites: [cipherSuite],
      quic: { transportParameters: Uint8Array.of(0x01, 0x02, 0x67, 0x10) }, // max_idle_timeout 10,000 ms
    }),
    crypto.getRandomValues(new Uint8Array(8)), // the client picks the Destination Connection ID
  );
  const server = new Endpoint(
    "server",
    createServer({
      certificates: [{ chain: [cert.der], key }],
      alpnProtocols: ["h3"],
      quic: { transportParameters: Uint8Array.of(0x03, 0x02, 0x45, 0xc0) }, // max_udp_payload_size 1,472
    }),
    new Uint8Array(0),
  );
  client.installInitialKeys(client.dcid);

  // The handshake: each side sends what its engine produced; the other opens and feeds it.
  await settle(client.tls, client.tls.doHandshake()); // the ClientHello
  // Each round, one side's packets reach the other, which answers; it ends when nobody has more to say.
  let inFlight = client.flush(), to = server;
  for (let round = 0; inFlight.length > 0; round++) {
    if (round > 10) throw new Error("Cannot finish the handshake: it goes on and on");
    for (const packet of inFlight) await to.receive(packet);
    inFlight = to.flush();
    to = to === server ? client : server;
  }
  for (const side of [client, server]) {
    const info = side.tls.handshakeInfo;
    if (!side.tls.isHandshakeDone || !info) throw new Error(`${side.name}: the handshake did not finish`);
    console.log(
      `${side.name}: handshake done: ${info.version} ${info.cipherSuite} ${info.group} alpn=${info.alpn} ` +
        `1-RTT keys read=${side.read.has("application")} write=${side.write.has("application")}`,
    );
  }

  // Application data, one 1-RTT packet each way.
  await server.receive(client.send("ping"));
  console.log(`server: received "${server.received.join("")}" on stream 0`);
  await client.receive(server.send("pong"));
  console.log(`client: received "${client.received.join("")}" on stream 0`);
  if (server.received.join("") !== "ping" || client.received.join("") !== "pong") {
    throw new Error("Cannot exchange application data: the streams differ");
  }

  // The protection is real: one flipped bit and the packet does not open.
  const tampered = client.send("tampered");
  tampered[tampered.length - 1]! ^= 1;
  await server.receive(tampered).then(
    () => {
      throw new Error("A tampered packet was accepted");
    },
    (e: Error) => console.log(`server: dropped a packet with one bit flipped: ${e.message}`),
  );
}

main().then(
  () => console.log("done"),
  (error: unknown) => {
    console.error("quic_packets failed:", error);
    process.exit(1);
  },
);
