import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectTcpSession, createLocalTcpSessions, freeLocalAddresses as freeAddresses, runLocalTcp } from '../../../runtime/transport/tcp.js';
import { encodeHeader, FrameKind } from '../../../runtime/transport/frame.js';
import { RuntimeError } from '../../../runtime/diagnostics.js';
import type { PartyId } from '../../../runtime/session/session.js';
import { ephemeralIdentities } from '../../../runtime/session/identity.js';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'tcp-party.js');

/** A party process and the JSON lines it prints. */
class PartyProcess {
  readonly proc: ChildProcess;
  private readonly lines: unknown[] = [];
  private readonly waiters: ((v: unknown) => void)[] = [];
  stderr = '';
  constructor(id: number, addrs: string[], scenario: string, extra: string[] = []) {
    this.proc = spawn(process.execPath, [FIXTURE, String(id), addrs.join(','), scenario, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    this.proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const obj = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        const w = this.waiters.shift();
        if (w) w(obj);
        else this.lines.push(obj);
      }
    });
    this.proc.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }
  /** The next JSON line (fails after `ms`). */
  next(ms = 20_000): Promise<any> {
    if (this.lines.length > 0) return Promise.resolve(this.lines.shift());
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no output within ${ms} ms; stderr: ${this.stderr}`)), ms);
      this.waiters.push((v) => {
        clearTimeout(t);
        resolve(v);
      });
    });
  }
  exited(): Promise<number | null> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return Promise.resolve(this.proc.exitCode);
    return new Promise((res) => this.proc.once('exit', (code) => res(code)));
  }
}

async function expectRuntimeError(p: Promise<unknown>, code: string): Promise<RuntimeError> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(RuntimeError, String(e));
    expect((e as RuntimeError).code).to.equal(code, (e as Error).message);
    return e as RuntimeError;
  }
  throw new Error(`expected ${code}, but the call succeeded`);
}

/** Same formula as the fixture: bytes from `from` to `to`, phase k, round r. */
function len(from: number, to: number, r: number, k: number): number {
  return ((from * 7 + to * 5 + r * 3 + k * 11) % 23) + (k === 0 && r === 1 ? 70_000 : 0);
}

describe('runtime/tcp transport', function () {
  this.timeout(30_000);

  it('runs rounds between three processes with agreeing keys and exact counters', async () => {
    const addrs = await freeAddresses();
    const rounds = 5;
    const parties = [2, 1, 0].map((id) => new PartyProcess(id, addrs, 'exchange', [String(rounds)])).reverse();
    const out = await Promise.all(parties.map((p) => p.next()));
    await Promise.all(parties.map((p) => p.exited()));
    for (const o of out) expect(o.ok, JSON.stringify(o)).to.equal(true);
    expect(out[0].keys['1']).to.equal(out[1].keys['0']);
    expect(out[0].keys['2']).to.equal(out[2].keys['0']);
    expect(out[1].keys['2']).to.equal(out[2].keys['1']);
    expect(out[0].keys['1']).to.not.equal(out[0].keys['2']);
    expect(out[1].common).to.equal(out[0].common);
    expect(out[2].common).to.equal(out[0].common);
    expect(out[1].fingerprint).to.equal(out[0].fingerprint);
    const phases = ['online', 'preprocessing', 'oneTime'];
    for (const i of [0, 1, 2]) {
      const o = out[i];
      const peers = [0, 1, 2].filter((p) => p !== i);
      expect(o.rounds).to.equal(rounds);
      expect(o.framesSent[i]).to.equal(0);
      for (const p of peers) {
        expect(o.framesSent[p]).to.equal(rounds); // one frame per peer per round, 3 messages each
        expect(o.framesReceived[p]).to.equal(rounds);
        let sent = 0;
        let received = 0;
        for (let r = 0; r < rounds; r++) for (let k = 0; k < 3; k++) (sent += len(i, p, r, k)), (received += len(p, i, r, k));
        expect(o.sentTo[p]).to.equal(sent);
        expect(o.receivedFrom[p]).to.equal(received);
        expect(out[p].receivedFrom[i]).to.equal(o.sentTo[p]);
      }
      phases.forEach((ph, k) => {
        let want = 0;
        let got = 0;
        for (const p of peers) for (let r = 0; r < rounds; r++) (want += len(i, p, r, k)), (got += len(p, i, r, k));
        expect(o.sent[ph]).to.equal(want);
        expect(o.received[ph]).to.equal(got);
        expect(o.byLabel[`step${k}`]).to.equal(want);
      });
    }
  });

  it('makes the other two fail within 5 s, naming the peer, when a party process is killed mid-protocol', async () => {
    const addrs = await freeAddresses();
    const parties = [0, 1, 2].map((id) => new PartyProcess(id, addrs, 'stall'));
    for (const p of parties) expect((await p.next()).ready).to.equal(true);
    const t0 = Date.now();
    parties[2].proc.kill('SIGKILL');
    const errors = await Promise.all([parties[0].next(6000), parties[1].next(6000)]);
    const elapsed = Date.now() - t0;
    expect(elapsed).to.be.below(5000);
    for (const e of errors) {
      expect(e.error, JSON.stringify(e)).to.not.equal(null);
      expect(e.error.name).to.equal('RuntimeError');
      expect(e.error.code).to.equal('MPCC5001');
      expect(e.error.peer).to.equal(2);
      expect(e.error.message).to.contain('peer 2 (helper) disconnected');
    }
    await Promise.all(parties.map((p) => p.exited()));
  });

  it('stops the others with MPCC5002 naming a SIGSTOPped helper within the round timeout + 1 s; the helper, woken, learns why (MPCC5011)', async () => {
    const addrs = await freeAddresses();
    const timeoutMs = 1000;
    const parties = [0, 1, 2].map((id) => new PartyProcess(id, addrs, 'stop', [String(timeoutMs)]));
    try {
      for (const p of parties) expect((await p.next()).ready).to.equal(true);
      // Stopped, not dead: its sockets stay open, only the round timeout can notice.
      parties[2].proc.kill('SIGSTOP');
      const t0 = Date.now();
      const errors = await Promise.all([parties[0].next(8000), parties[1].next(8000)]);
      // The others' second round started at "ready", and waits up to 1000 ms.
      expect(Date.now() - t0).to.be.below(timeoutMs + 1000);
      for (const e of errors) {
        expect(e.error, JSON.stringify(e)).to.not.equal(null);
        expect(e.error.code, JSON.stringify(e)).to.equal('MPCC5002');
        expect(e.error.peer, JSON.stringify(e)).to.equal(2);
        // Either its own timer fired, or the other's abort, naming the same culprit, came first.
        expect(e.error.message).to.match(/^timed out after 1000 ms waiting for peer 2 \(helper\) in round 2( \(reported by peer [01] \((client|server)\)\))?$/);
      }
      await Promise.all([parties[0].exited(), parties[1].exited()]);
      // The culprit is told too: woken, the helper stops with the others' reason, not with its
      // links closed under it.
      parties[2].proc.kill('SIGCONT');
      const woken = await parties[2].next(8000);
      expect(woken.error?.code, JSON.stringify(woken)).to.equal('MPCC5011');
      expect([0, 1]).to.include(woken.error.peer);
      expect(woken.error.message).to.match(/^peer [01] \((client|server)\) aborted the session: timed out after 1000 ms waiting for peer 2 \(helper\) in round 2$/);
    } finally {
      parties[2].proc.kill('SIGCONT');
      parties[2].proc.kill('SIGKILL');
    }
  });

  it('runs three parties of one process over local sockets, counting idle rounds and logging what each received', async () => {
    const data = [0, 1, 2].map((i) => new Uint8Array(1000 + i).fill(i + 1));
    const [r0, r1, r2] = await runLocalTcp(
      async (s) => {
        const got = await s.round(s.peers.map((p) => ({ to: p, data: data[s.id], label: 'all' })), s.peers);
        if (s.id === 2) await s.round([], []); // idles while 0 and 1 talk
        else await s.round([{ to: s.peers[0], data: data[s.id], label: 'pair' }], [s.peers[0]]);
        return { got, counters: s.counters, log: s.receivedLog };
      },
      { recordReceived: true },
    );
    expect(Buffer.from(r0.got.get(2)!).equals(Buffer.from(data[2]))).to.equal(true);
    expect(Buffer.from(r2.got.get(1)!).equals(Buffer.from(data[1]))).to.equal(true);
    expect([r0, r1, r2].map((r) => r.counters.rounds)).to.deep.equal([2, 2, 1]); // idle calls do not count
    expect(r0.log.map((e) => [e.from, e.round, e.data.length])).to.deep.equal([[1, 0, 1001], [2, 0, 1002], [1, 1, 1001]]);
    expect(r2.log.length).to.equal(2);
    expect(r1.counters.byLabel.get('pair')).to.equal(1001);
  });

  it('makes the others fail, naming the party, when one party throws (runLocalTcp)', async () => {
    const seen: RuntimeError[] = [];
    try {
      await runLocalTcp(async (s) => {
        if (s.id === 0) throw new Error('client gave up');
        try {
          return await s.round([], [0]);
        } catch (e) {
          seen.push(e as RuntimeError);
          throw e;
        }
      });
      expect.fail('runLocalTcp should have thrown');
    } catch (e) {
      expect((e as Error).message).to.equal('client gave up');
    }
    expect(seen.map((e) => [e.code, e.peer])).to.deep.equal([['MPCC5011', 0], ['MPCC5011', 0]]);
    expect(seen[0].message).to.equal('peer 0 (client) aborted the session: client gave up');
  });

  // P0 accepted its connection from P1 and reads it in chunks; P1 dialed it and reads frames
  // in place (onread): the same faults must fail the same way on both. (Plain links: the
  // faults are written in the clear; sealed frames are tested in secure-channel.test.ts.)
  for (const [from, to, how] of [[1, 0, 'chunks, accepted link'], [0, 1, 'in place, dialed link']] as const) {
    const name = ['client', 'server'][from];

    it(`rejects a frame of the wrong round (${how})`, async () => {
      const ss = await createLocalTcpSessions({ insecure: true });
      ss[from].socketTo(to).write(encodeHeader(FrameKind.Data, 7, 0, { online: 0, preprocessing: 0, oneTime: 0 }));
      const e = await expectRuntimeError(ss[to].round([], [from]), 'MPCC5004');
      expect(e.peer).to.equal(from);
      expect(e.message).to.contain('expected round 0, got round 7');
      await Promise.all(ss.map((x) => x.close()));
    });

    it(`rejects a frame whose length does not match its header (${how})`, async () => {
      const ss = await createLocalTcpSessions({ insecure: true });
      const header = encodeHeader(FrameKind.Data, 0, 10, { online: 3, preprocessing: 0, oneTime: 0 });
      ss[from].socketTo(to).write(header);
      ss[from].socketTo(to).write(new Uint8Array(10));
      const e = await expectRuntimeError(ss[to].round([], [from]), 'MPCC5003');
      expect(e.message).to.contain(`peer ${from} (${name})`);
      expect(e.message).to.contain('does not match');
      await Promise.all(ss.map((x) => x.close()));
    });

    it(`reports a connection closed in the middle of a frame as a disconnect, not a short frame (${how})`, async () => {
      const ss = await createLocalTcpSessions({ insecure: true });
      const sock = ss[from].socketTo(to);
      sock.write(encodeHeader(FrameKind.Data, 0, 100, { online: 100, preprocessing: 0, oneTime: 0 }));
      sock.write(new Uint8Array(10));
      setTimeout(() => sock.destroy(), 50);
      const e = await expectRuntimeError(ss[to].round([], [from]), 'MPCC5001');
      expect(e.message).to.contain('in the middle of a frame');
      await Promise.all(ss.map((x) => x.close()));
    });
  }

  it('rejects a frame of the length a round does not expect', async () => {
    const [t0, t1, t2] = await createLocalTcpSessions();
    void t2.round([{ to: 1, data: new Uint8Array(24), label: 'x' }], []);
    const e2 = await expectRuntimeError(t1.round([], [2], { 2: 16 }), 'MPCC5021');
    expect(e2.message).to.contain('peer 2 (helper) refused in round 1');
    expect(e2.message).to.match(/(announces|carries) 24 bytes, the schedule expects 16 bytes/);
    await Promise.all([t0.close(), t1.close(), t2.close()]);
  });

  for (const insecure of [true, false]) it(`delivers large frames read in place and in chunks alike, payloads aligned (${insecure ? 'plain' : 'sealed'})`, async () => {
    // P1 dialed P0 (reads in place when plain), P0 accepted P1 (reads chunks); frames of many sizes.
    const sizes = [0, 1, 8, 24, 65_536 + 3, 1_000_000, 8, 3_000_001];
    const res = await runLocalTcp(async (s) => {
      if (s.id === 2) return [];
      const peer = s.id === 0 ? 1 : 0;
      const got: Uint8Array[] = [];
      for (const n of sizes) {
        const data = new Uint8Array(n).map((_, i) => (i * 31 + n + s.id) & 0xff);
        const m = await s.round(n > 0 ? [{ to: peer, data, label: 'x' }] : [], n > 0 ? [peer] : []);
        if (n > 0) got.push(m.get(peer)!);
      }
      return got;
    }, { insecure });
    for (const id of [0, 1] as const) {
      const peer = id === 0 ? 1 : 0;
      const want = sizes.filter((n) => n > 0).map((n) => new Uint8Array(n).map((_, i) => (i * 31 + n + peer) & 0xff));
      expect(res[id].length).to.equal(want.length);
      res[id].forEach((p, i) => {
        expect(p.byteOffset % 8).to.equal(0);
        expect(Buffer.from(p).equals(Buffer.from(want[i])), `party ${id} frame ${i}`).to.equal(true);
      });
    }
  });

  it('fails with MPCC5006 naming the peer when a peer never connects', async () => {
    const addrs = await freeAddresses();
    const t0 = Date.now();
    const e = await expectRuntimeError(connectTcpSession({ id: 1, peers: addrs, timeoutMs: 400 }), 'MPCC5006');
    expect(Date.now() - t0).to.be.below(4000);
    expect([0, 2]).to.include(e.peer);
    expect(e.message).to.match(/peer [02] \((client|helper)\)/);
  });

  for (const keyed of [false, true]) it(`refuses peers of another session (tag mismatch, ${keyed ? 'in the authenticated handshake' : 'plain'})`, async () => {
    const addrs = await freeAddresses();
    const ids = ephemeralIdentities();
    const results = await Promise.allSettled(
      ([0, 1, 2] as PartyId[]).map((id) => connectTcpSession({ id, peers: addrs, timeoutMs: 3000, tag: id === 1 ? 'model-b' : 'model-a', identity: keyed ? ids[id] : undefined })),
    );
    const codes = results.map((r) => (r.status === 'rejected' ? (r.reason as RuntimeError).code : 'ok'));
    expect(codes[0]).to.equal('MPCC5008');
    expect(codes[2]).to.equal('MPCC5008');
    for (const r of results) if (r.status === 'fulfilled') await r.value.close();
  });
});
