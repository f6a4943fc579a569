// The authenticated TCP transport (Noise_KK with pinned party keys) under attack, over real
// sockets on 127.0.0.1: an impostor with a key that is not pinned, a man in the middle
// relaying between two parties (rewriting the keys it can, or altering a sealed frame), rogue
// connections before the real peer (wrong key, megabytes before the handshake, a stall),
// and a listener that floods or never answers a dialer. Each refusal is a coded error naming
// the peer; a rogue never takes the real peer's slot.

import { expect } from 'chai';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { connectTcpSession, freeLocalAddresses, MAX_HANDSHAKE_BYTES, type TcpPartySession } from '../../../runtime/transport/tcp.js';
import { ephemeralIdentities, type PartyIdentity } from '../../../runtime/session/identity.js';
import { generateKeyPair, KKHandshake } from '../../../runtime/transport/noise.js';
import { RuntimeError } from '../../../runtime/diagnostics.js';
import type { PartyId } from '../../../runtime/session/session.js';

type Addrs = [string, string, string];
const port = (a: string) => Number(a.split(':')[1]);

/** Connects the three parties (each with its own address list); settles every attempt. */
function connectAll(ids: readonly PartyIdentity[], addrs: readonly Addrs[], timeoutMs: number): Promise<PromiseSettledResult<TcpPartySession>[]> {
  return Promise.allSettled(([0, 1, 2] as PartyId[]).map((id) => connectTcpSession({ id, peers: addrs[id], timeoutMs, tag: 'model-x', identity: ids[id] })));
}

function rejection(r: PromiseSettledResult<unknown>): RuntimeError {
  expect(r.status).to.equal('rejected');
  const e = (r as PromiseRejectedResult).reason;
  expect(e).to.be.instanceOf(RuntimeError, String(e));
  return e as RuntimeError;
}

async function closeAll(rs: PromiseSettledResult<TcpPartySession>[]): Promise<void> {
  for (const r of rs) if (r.status === 'fulfilled') await r.value.close();
}

/** One round where every party sends each peer 1 000 bytes of its pair stream and checks
 * what it gets: true when all agree (the keys are the right ones). */
async function exchange(ss: TcpPartySession[]): Promise<boolean[]> {
  return Promise.all(
    ss.map(async (s) => {
      const got = await s.round(s.peers.map((p) => ({ to: p, data: s.shared(p, `${s.id}->${p}`).bytes(1000), label: 'x' })), s.peers);
      return s.peers.every((p) => Buffer.from(got.get(p)!).equals(Buffer.from(s.shared(p, `${p}->${s.id}`).bytes(1000))));
    }),
  );
}

/** A connect preamble from `from` to `to` and a Noise message 1 made with `key`. */
function rogueHello(from: PartyId, to: PartyId, pinnedResponder: Uint8Array): Buffer {
  const pre = Buffer.from([0x6d, 0x70, 0x63, 0x63, 1, 0, from, to]);
  const m1 = new KKHandshake(true, generateKeyPair(), pinnedResponder, Buffer.concat([Buffer.from('mpcc/noise-kk/1'), pre])).writeMessage1(Buffer.from('model-x'));
  const len = Buffer.alloc(2);
  len.writeUInt16LE(m1.length);
  return Buffer.concat([pre, len, m1]);
}

/** A TCP relay on `listen` to `target`; `up` and `down` may rewrite the byte streams (P2→P1
 * and back), given the bytes relayed so far in that direction. The relay retries its upstream
 * connection while the target is not listening yet (the parties start in any order), holding
 * the client's bytes until it is through. */
function relay(listen: string, target: string, up: (b: Buffer, at: number) => Buffer, down: (b: Buffer, at: number) => Buffer): Promise<{ server: Server; seen: Buffer[] }> {
  const seen: Buffer[] = [];
  const server = createServer((client) => {
    let upstream: Socket | undefined;
    let closed = false;
    let upAt = 0;
    let downAt = 0;
    const held: Buffer[] = [];
    const end = () => {
      closed = true;
      client.destroy();
      upstream?.destroy();
    };
    client.on('data', (b) => {
      seen.push(b);
      const out = up(b, upAt);
      upAt += b.length;
      if (upstream && !upstream.connecting) upstream.write(out);
      else held.push(out);
    });
    client.on('close', end).on('error', end);
    const dial = (triesLeft: number) => {
      const s = connect(port(target), '127.0.0.1');
      s.on('error', () => undefined);
      s.once('connect', () => {
        if (closed) return void s.destroy();
        upstream = s;
        for (const b of held.splice(0)) s.write(b);
        s.on('data', (b) => {
          seen.push(b);
          client.write(down(b, downAt));
          downAt += b.length;
        });
        s.on('close', end);
      });
      s.once('error', (e: NodeJS.ErrnoException) => {
        if (upstream === s || closed || e.code !== 'ECONNREFUSED' || triesLeft === 0) return end();
        setTimeout(() => dial(triesLeft - 1), 20);
      });
    };
    dial(250);
  });
  return new Promise((res) => server.listen(port(listen), '127.0.0.1', () => res({ server, seen })));
}

const same = (b: Buffer) => b;

/** Three party addresses and a relay address, all different (ports are free when drawn). */
async function addressesAndRelay(): Promise<[Addrs, string]> {
  const addrs = await freeLocalAddresses();
  for (;;) {
    const [relayAddr] = await freeLocalAddresses();
    if (!addrs.includes(relayAddr)) return [addrs, relayAddr];
  }
}

/** The sessions when all three connected; otherwise closes those that did and fails with
 * every rejection's reason (not a TypeError further on). */
async function allConnected(rs: PromiseSettledResult<TcpPartySession>[]): Promise<TcpPartySession[]> {
  const failed = rs.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length === 0) return rs.map((r) => (r as PromiseFulfilledResult<TcpPartySession>).value);
  await closeAll(rs);
  throw new Error(`not all parties connected: ${failed.map((f) => String(f.reason)).join('; ')}`);
}

/** Connects three parties (fresh pinned keys) where P2 reaches P1 through a relay rewriting
 * the streams with `up` and `down`; the relay is closed when `then` is done. */
async function viaRelay<T>(up: (b: Buffer, at: number) => Buffer, down: (b: Buffer, at: number) => Buffer, timeoutMs: number, then: (rs: PromiseSettledResult<TcpPartySession>[]) => Promise<T> | T): Promise<T> {
  const ids = ephemeralIdentities();
  const [addrs, relayAddr] = await addressesAndRelay();
  const { server } = await relay(relayAddr, addrs[1], up, down);
  try {
    return await then(await connectAll(ids, [addrs, addrs, [addrs[0], relayAddr, addrs[2]]], timeoutMs));
  } finally {
    server.close();
  }
}

/** A rewriter that puts `bytes` at stream offset `start` (wherever the chunks are cut). */
function overwrite(start: number, bytes: Uint8Array): (b: Buffer, at: number) => Buffer {
  return (b, at) => {
    const out = Buffer.from(b);
    for (let i = Math.max(start, at); i < Math.min(start + bytes.length, at + b.length); i++) out[i - at] = bytes[i - start];
    return out;
  };
}

describe('runtime/tcp transport: authenticated links', function () {
  this.timeout(30_000);

  it('runs with pinned keys: agreeing pair keys, the payload never in the clear on the wire', async () => {
    const ids = ephemeralIdentities();
    const [addrs, relayAddr] = await addressesAndRelay();
    const { server, seen } = await relay(relayAddr, addrs[1], same, same);
    // P2 reaches P1 through a transparent relay, which records every byte.
    try {
      const rs = await connectAll(ids, [addrs, addrs, [addrs[0], relayAddr, addrs[2]]], 5000);
      const ss = await allConnected(rs);
      try {
        const secret = new Uint8Array(4000).fill(0x5a);
        const got = await Promise.all([ss[2].round([{ to: 1, data: secret, label: 'x' }], []), ss[1].round([], [2])]);
        expect(Buffer.from(got[1].get(2)!).equals(Buffer.from(secret))).to.equal(true);
        expect(await exchange(ss)).to.deep.equal([true, true, true]);
        expect(Buffer.concat(seen).includes(Buffer.alloc(64, 0x5a))).to.equal(false);
        expect(ss.map((s) => s.fingerprint)).to.satisfy((f: string[]) => f.every((x) => x === f[0]));
      } finally {
        await closeAll(rs);
      }
    } finally {
      server.close();
    }
  });

  it('refuses an impostor whose key is not pinned (MPCC5016 at the listeners, MPCC5015 at the impostor), naming the peer', async () => {
    const ids = ephemeralIdentities();
    const impostor: PartyIdentity = { own: generateKeyPair(), peers: ids[2].peers };
    const addrs = await freeLocalAddresses();
    const rs = await connectAll([ids[0], ids[1], impostor], [addrs, addrs, addrs], 1500);
    for (const id of [0, 1]) {
      const e = rejection(rs[id]);
      expect([e.code, e.peer]).to.deep.equal(['MPCC5016', 2]);
      expect(e.message).to.contain('peer 2 (helper) never made an authenticated connection');
      expect(e.message).to.contain('(claiming to be party 2): it failed authentication');
    }
    const e2 = rejection(rs[2]);
    expect(e2.code).to.equal('MPCC5015');
    expect([0, 1]).to.include(e2.peer);
  });

  it('refuses a man in the middle who replaces the dialer\'s ephemeral key (message 1)', async () => {
    // Bytes 10..42 of P2's stream to P1 are its ephemeral key (after preamble and length).
    await viaRelay(overwrite(10, generateKeyPair().publicRaw), same, 1500, (rs) => {
      const e1 = rejection(rs[1]);
      expect([e1.code, e1.peer]).to.deep.equal(['MPCC5016', 2]);
      expect(e1.message).to.contain('failed authentication');
      const e2 = rejection(rs[2]);
      expect([e2.code, e2.peer]).to.deep.equal(['MPCC5015', 1]);
      expect(rs[0].status).to.equal('rejected');
    });
  });

  it('refuses a man in the middle who replaces the listener\'s ephemeral key (message 2)', async () => {
    // Bytes 2..34 of P1's stream to P2 are its ephemeral key (after the length).
    await viaRelay(same, overwrite(2, generateKeyPair().publicRaw), 1500, (rs) => {
      const e2 = rejection(rs[2]);
      expect([e2.code, e2.peer]).to.deep.equal(['MPCC5015', 1]);
      expect(e2.message).to.contain('does not verify');
      expect(rs.map((r) => r.status)).to.deep.equal(['rejected', 'rejected', 'rejected']);
    });
  });

  it('refuses a sealed frame a man in the middle altered (MPCC5017 naming the sender)', async () => {
    // Flip one bit at byte 1000 of what P2 sends P1: past the handshake (65 bytes) and the
    // session's key-agreement frames (~170 bytes), inside the 5 000-byte data frame.
    let flipped = false;
    const up = (b: Buffer, at: number) => {
      if (at > 1000 || at + b.length <= 1000) return b;
      flipped = true;
      const out = Buffer.from(b);
      out[1000 - at] ^= 0x10;
      return out;
    };
    await viaRelay(up, same, 5000, async (rs) => {
      const ss = rs.map((r) => (r as PromiseFulfilledResult<TcpPartySession>).value);
      const results = await Promise.allSettled([ss[2].round([{ to: 1, data: new Uint8Array(5000), label: 'x' }], []), ss[1].round([], [2])]);
      const e = rejection(results[1]);
      expect([e.code, e.peer]).to.deep.equal(['MPCC5017', 2]);
      expect(flipped).to.equal(true);
      await Promise.all(ss.map((s) => s.close()));
    });
  });

  it('keeps listening for the real peer past rogue connections (a wrong key, megabytes before the handshake, a stall)', async () => {
    const ids = ephemeralIdentities();
    const addrs = await freeLocalAddresses();
    const p0 = connectTcpSession({ id: 0, peers: addrs, timeoutMs: 8000, tag: 'model-x', identity: ids[0] });
    await new Promise((r) => setTimeout(r, 150));
    // Rogue 1: claims to be P1 with a key of its own.
    const wrongKey = connect(port(addrs[0]), '127.0.0.1');
    wrongKey.on('error', () => undefined);
    wrongKey.write(rogueHello(1, 0, ids[1].peers[0]!));
    // Rogue 2: claims to be P1 and sends 64 MB before any handshake.
    const flood = connect(port(addrs[0]), '127.0.0.1');
    const flooded = new Promise<number>((resolve) => {
      let written = 0;
      const chunk = Buffer.alloc(1 << 20, 7);
      chunk.set([0x6d, 0x70, 0x63, 0x63, 1, 0, 1, 0]);
      const pump = () => {
        while (written < 64 << 20 && !flood.destroyed) {
          written += chunk.length;
          if (!flood.write(chunk)) return void flood.once('drain', pump);
        }
      };
      flood.on('error', () => undefined);
      flood.on('close', () => resolve(written));
      flood.on('connect', pump);
    });
    // Rogue 3: sends half a preamble and stalls.
    const stall = connect(port(addrs[0]), '127.0.0.1');
    stall.on('error', () => undefined);
    stall.write(Buffer.from([0x6d, 0x70, 0x63]));
    const written = await flooded;
    // The listener closed the flood long before 64 MB (only kernel buffers took any of it).
    expect(written).to.be.below(32 << 20);
    const rest = await Promise.allSettled([1, 2].map((id) => connectTcpSession({ id: id as PartyId, peers: addrs, timeoutMs: 8000, tag: 'model-x', identity: ids[id] })));
    const all = [await p0, ...rest.map((r) => (r as PromiseFulfilledResult<TcpPartySession>).value)];
    expect(await exchange(all)).to.deep.equal([true, true, true]);
    await Promise.all(all.map((s) => s.close()));
    for (const s of [wrongKey, stall]) s.destroy();
  });

  it('names what it refused when the real peer never comes (MPCC5016 listing the MPCC5018 cut-off)', async () => {
    const ids = ephemeralIdentities();
    const addrs = await freeLocalAddresses();
    const p1 = connectTcpSession({ id: 1, peers: addrs, timeoutMs: 1200, tag: 'model-x', identity: ids[1] });
    const p0 = net0();
    await new Promise((r) => setTimeout(r, 150));
    const flood = connect(port(addrs[1]), '127.0.0.1');
    flood.on('error', () => undefined);
    flood.write(Buffer.concat([Buffer.from([0x6d, 0x70, 0x63, 0x63, 1, 0, 2, 1]), Buffer.alloc(100_000, 1)]));
    const [r1] = await Promise.allSettled([p1]);
    const e = rejection(r1);
    expect(e.code).to.equal('MPCC5016');
    expect(e.peer).to.equal(2);
    expect(e.message).to.contain('(claiming to be party 2): it was cut off: error MPCC5018');
    expect(e.message).to.contain(`at most ${8 + MAX_HANDSHAKE_BYTES} are allowed`);
    p0.close();
    flood.destroy();

    /** P1 dials P0 too: a listener there that accepts and ignores it. */
    function net0(): Server {
      return createServer((s: Socket) => s.on('error', () => undefined)).listen(port(addrs[0]), '127.0.0.1');
    }
  });

  it('cuts off a listener that sends megabytes instead of its handshake reply (MPCC5015: not an mpcc handshake), and times out on one that says nothing', async () => {
    const ids = ephemeralIdentities();
    const addrs = await freeLocalAddresses();
    const flooder = createServer((s) => {
      s.on('error', () => undefined);
      s.write(Buffer.alloc(4 << 20, 0xff));
    }).listen(port(addrs[0]), '127.0.0.1');
    const started = Date.now();
    const e = await connectTcpSession({ id: 1, peers: addrs, timeoutMs: 10_000, tag: 'model-x', identity: ids[1] }).then(
      () => null,
      (x: RuntimeError) => x,
    );
    expect(e).to.be.instanceOf(RuntimeError);
    // P1 also listens for P2, who never comes; the flood from P0's address is reported at once.
    expect([e!.code, e!.peer]).to.deep.equal(['MPCC5015', 0]);
    expect(e!.message).to.contain(`the answer at ${addrs[0]} is not an mpcc handshake (it begins '${'.'.repeat(24)}…'`);
    expect(Date.now() - started, 'reported at once, not at the 10 s deadline').to.be.below(5000);
    flooder.close();

    const silent = createServer((s) => s.on('error', () => undefined)).listen(port(addrs[0]), '127.0.0.1');
    const t0 = Date.now();
    const e2 = await connectTcpSession({ id: 2, peers: [addrs[0], addrs[0], addrs[2]], timeoutMs: 800, tag: 'model-x', identity: ids[2] }).then(
      () => null,
      (x: RuntimeError) => x,
    );
    expect(e2).to.be.instanceOf(RuntimeError);
    expect(e2!.code).to.equal('MPCC5005');
    expect(e2!.message).to.contain('no handshake reply');
    expect(Date.now() - t0).to.be.below(3000);
    silent.close();
  });
});
