// `npm run bench -- transport [--json] [--quick]`: what the runtime below the protocols costs.
// PRG streams beside the bare AES-CTR cipher call they wrap; rounds and bandwidth of the
// in-process and local-TCP sessions beside a bare exchange of the same shape measured in the
// same run (a promise ping-pong; a raw socket echo), so the figures show the runtime's own
// overhead on this machine rather than the machine's speed. TCP sessions run authenticated
// (Noise_KK, sealed frames; fresh pinned keys as `mpcc run` makes them), beside plain TCP
// sessions (--insecure) for the handshake's and the AEAD's cost.

import { createCipheriv, randomBytes } from 'node:crypto';
import { createServer, connect, type Socket } from 'node:net';
import { AesCtrPrg } from '../runtime/session/prg.js';
import { createInProcessSessions } from '../runtime/transport/in-process.js';
import { createLocalTcpSessions } from '../runtime/transport/tcp.js';
import type { PartySession } from '../runtime/session/party-session.js';
import { generateKeyPair, KKHandshake } from '../runtime/transport/noise.js';

/** One row of the table / JSON output. */
interface Row {
  what: string;
  unit: string;
  runtime: number;
  baseline: number;
  baselineIs: string;
}

/** Best seconds per call over repetitions lasting at least `budget` seconds. */
async function timeIt(fn: () => unknown, budget: number): Promise<number> {
  let best = Infinity;
  let total = 0;
  for (let reps = 0; (total < budget || reps < 2) && reps < 50; reps++) {
    const t0 = process.hrtime.bigint();
    await fn();
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    best = Math.min(best, dt);
    total += dt;
  }
  return best;
}

async function prgRows(budget: number): Promise<Row[]> {
  const key = randomBytes(16);
  const n = 1 << 17; // ring elements = 1 MiB
  const prg = new AesCtrPrg(key);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const zeros = new Uint8Array(8 * n);
  const tRing = await timeIt(() => prg.ring(n), budget);
  const tRaw = await timeIt(() => cipher.update(zeros), budget);
  const calls = 20_000;
  const z16 = new Uint8Array(16);
  const tSmall = await timeIt(() => {
    for (let i = 0; i < calls; i++) prg.bytes(16);
  }, budget);
  const tSmallRaw = await timeIt(() => {
    for (let i = 0; i < calls; i++) cipher.update(z16);
  }, budget);
  return [
    { what: 'prg.ring(131072) (1 MiB)', unit: 'MB/s', runtime: (8 * n) / tRing / 1e6, baseline: (8 * n) / tRaw / 1e6, baselineIs: 'cipher.update on 1 MiB of zeros' },
    { what: 'prg.bytes(16) calls', unit: 'Mcalls/s', runtime: calls / tSmall / 1e6, baseline: calls / tSmallRaw / 1e6, baselineIs: 'cipher.update on 16 zero bytes' },
  ];
}

/** Rounds in which every party sends `size` bytes to both peers (as `parts` messages each,
 * merged into one frame per peer) and waits for both. */
async function allToAll(sessions: PartySession[], rounds: number, size: number, parts = 1): Promise<void> {
  const data = new Uint8Array(size / parts);
  await Promise.all(
    sessions.map(async (s) => {
      for (let r = 0; r < rounds; r++) await s.round(s.peers.flatMap((p) => Array.from({ length: parts }, () => ({ to: p, data, label: 'bench' }))), s.peers);
    }),
  );
}

/** The floor of any async three-party exchange in one process: promises resolved in turn. */
async function promisePingPong(rounds: number): Promise<void> {
  for (let r = 0; r < rounds; r++) await Promise.all([0, 1, 2].map(() => Promise.resolve(r)));
}

/** A bare echo over one local TCP connection: `rounds` exchanges of `size` bytes. */
async function socketEcho(rounds: number, size: number): Promise<number> {
  const server = createServer((s) => s.pipe(s));
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const port = (server.address() as { port: number }).port;
  const sock: Socket = connect({ host: '127.0.0.1', port });
  sock.setNoDelay(true);
  await new Promise<void>((res) => sock.once('connect', () => res()));
  const payload = new Uint8Array(size);
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) {
    let got = 0;
    await new Promise<void>((res) => {
      const onData = (c: Buffer) => {
        got += c.length;
        if (got >= size) {
          sock.off('data', onData);
          res();
        }
      };
      sock.on('data', onData);
      sock.write(payload);
    });
  }
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  sock.destroy();
  await new Promise((res) => server.close(res));
  return dt;
}

async function sessionRows(quick: boolean): Promise<Row[]> {
  const rows: Row[] = [];
  const small = quick ? 2_000 : 20_000;
  const bigRounds = quick ? 5 : 20;
  const big = 8 << 20;
  const mem = await createInProcessSessions();
  let t0 = process.hrtime.bigint();
  await allToAll(mem, small, 64);
  let dt = Number(process.hrtime.bigint() - t0) / 1e9;
  t0 = process.hrtime.bigint();
  await promisePingPong(small);
  const floor = Number(process.hrtime.bigint() - t0) / 1e9;
  rows.push({ what: 'in-process rounds (all-to-all, 64 B)', unit: 'rounds/s', runtime: small / dt, baseline: small / floor, baselineIs: 'Promise.all ping-pong' });
  t0 = process.hrtime.bigint();
  await allToAll(mem, bigRounds, big, 2);
  dt = Number(process.hrtime.bigint() - t0) / 1e9;
  const src = new Uint8Array(big);
  const dst = new Uint8Array(big);
  const tCopy = await timeIt(() => dst.set(src), 0.05);
  // Two 4 MiB messages per peer force the one merge copy (a one-message frame is handed over
  // without any copy, which would make the figure meaningless).
  rows.push({ what: 'in-process bandwidth (2×4 MiB merged per frame, 6 links)', unit: 'MB/s', runtime: (bigRounds * big * 6) / dt / 1e6, baseline: big / tCopy / 1e6, baselineIs: 'memcpy of 8 MiB' });
  await Promise.all(mem.map((s) => s.close()));

  const tcpRounds = quick ? 500 : 3_000;
  const tcpBig = quick ? 3 : 10;
  const measured: Record<string, { rounds: number; bandwidth: number }> = {};
  for (const mode of ['plain', 'sealed'] as const) {
    const tcp = await createLocalTcpSessions({ insecure: mode === 'plain' });
    t0 = process.hrtime.bigint();
    await allToAll(tcp, tcpRounds, 64);
    const tRounds = Number(process.hrtime.bigint() - t0) / 1e9;
    t0 = process.hrtime.bigint();
    await allToAll(tcp, tcpBig, big);
    const tBig = Number(process.hrtime.bigint() - t0) / 1e9;
    measured[mode] = { rounds: tcpRounds / tRounds, bandwidth: (tcpBig * big * 6) / tBig / 1e6 };
    await Promise.all(tcp.map((s) => s.close()));
  }
  const echo = await socketEcho(tcpRounds, 64);
  const echoBig = await socketEcho(tcpBig, big);
  rows.push({ what: 'local TCP rounds (all-to-all, 64 B, sealed)', unit: 'rounds/s', runtime: measured.sealed.rounds, baseline: tcpRounds / echo, baselineIs: 'raw socket echo, one pair' });
  rows.push({ what: 'local TCP rounds (all-to-all, 64 B, sealed vs plain)', unit: 'rounds/s', runtime: measured.sealed.rounds, baseline: measured.plain.rounds, baselineIs: 'plain TCP session (--insecure)' });
  rows.push({ what: 'local TCP bandwidth (8 MiB frames, 6 links, sealed)', unit: 'MB/s', runtime: measured.sealed.bandwidth, baseline: (tcpBig * big * 2) / echoBig / 1e6, baselineIs: 'raw socket echo, one pair' });
  rows.push({ what: 'local TCP bandwidth (8 MiB frames, 6 links, sealed vs plain)', unit: 'MB/s', runtime: measured.sealed.bandwidth, baseline: measured.plain.bandwidth, baselineIs: 'plain TCP session (--insecure)' });
  return rows;
}

/** What connecting costs: wire bytes of one pair's handshake (both directions: preamble,
 * Noise_KK messages, the session's key-agreement frames), wall time of a three-party connect
 * (three pairs in parallel, median), and the Noise_KK computation of one pair (both ends). */
async function handshakeRows(quick: boolean): Promise<Row[]> {
  const reps = quick ? 5 : 30;
  const figures: Record<string, { bytes: number; ms: number }> = {};
  for (const mode of ['plain', 'sealed'] as const) {
    const times: number[] = [];
    let bytes = 0;
    for (let r = 0; r < reps; r++) {
      const t0 = process.hrtime.bigint();
      const ss = await createLocalTcpSessions({ insecure: mode === 'plain', tag: 'mpcc-v1 0.1.0 sha256:' + '0'.repeat(64) });
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      const a = (ss[0] as unknown as { socketTo(p: number): Socket }).socketTo(1);
      const b = (ss[1] as unknown as { socketTo(p: number): Socket }).socketTo(0);
      bytes = a.bytesWritten + b.bytesWritten;
      await Promise.all(ss.map((s) => s.close()));
    }
    times.sort((x, y) => x - y);
    figures[mode] = { bytes, ms: times[times.length >> 1] };
  }
  const [i, rsp] = [generateKeyPair(), generateKeyPair()];
  const n = quick ? 50 : 500;
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < n; k++) {
    const a = new KKHandshake(true, i, rsp.publicRaw, new Uint8Array(8));
    const b = new KKHandshake(false, rsp, i.publicRaw, new Uint8Array(8));
    b.readMessage1(a.writeMessage1(new Uint8Array(80)));
    a.readMessage2(b.writeMessage2(new Uint8Array(80)));
    a.result();
    b.result();
  }
  const kkMs = Number(process.hrtime.bigint() - t0) / 1e6 / n;
  return [
    { what: 'connect: wire bytes per pair (both directions, tag 80 B)', unit: 'bytes', runtime: figures.sealed.bytes, baseline: figures.plain.bytes, baselineIs: 'plain TCP session (--insecure)' },
    { what: 'connect: three parties, three pairs in parallel (median)', unit: 'ms', runtime: figures.sealed.ms, baseline: figures.plain.ms, baselineIs: 'plain TCP session (--insecure)' },
    { what: 'Noise_KK handshake computation per pair (both ends)', unit: 'ms', runtime: kkMs, baseline: 0, baselineIs: 'none (plain: no Noise)' },
  ];
}

/** Prints the table or, with --json, one JSON array. */
export async function run(args: string[]): Promise<void> {
  const quick = args.includes('--quick');
  const rows = [...(await prgRows(quick ? 0.05 : 0.3)), ...(await sessionRows(quick)), ...(await handshakeRows(quick))];
  if (args.includes('--json')) {
    process.stdout.write(JSON.stringify(rows) + '\n');
    return;
  }
  const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(2));
  const lines = [['what', 'runtime', 'baseline', 'unit', 'baseline is'], ...rows.map((r) => [r.what, fmt(r.runtime), fmt(r.baseline), r.unit, r.baselineIs])];
  const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  for (const l of lines) process.stdout.write(l.map((c, i) => (i === 1 || i === 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ') + '\n');
}
