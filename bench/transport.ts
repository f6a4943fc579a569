// `npm run bench -- transport [--json] [--quick]`: what the runtime below the protocols costs.
// PRG streams beside the bare AES-CTR cipher call they wrap; rounds and bandwidth of the
// in-process and local-TCP sessions beside a bare exchange of the same shape measured in the
// same run (a promise ping-pong; a raw socket echo), so the figures show the runtime's own
// overhead on this machine rather than the machine's speed.

import { createCipheriv, randomBytes } from 'node:crypto';
import { createServer, connect, type Socket } from 'node:net';
import { AesCtrPrg } from '../runtime/session/prg.js';
import { createInProcessSessions } from '../runtime/transport/in-process.js';
import { createLocalTcpSessions } from '../runtime/transport/tcp.js';
import type { PartySession } from '../runtime/session/party-session.js';

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

  const tcp = await createLocalTcpSessions();
  const tcpRounds = quick ? 500 : 3_000;
  t0 = process.hrtime.bigint();
  await allToAll(tcp, tcpRounds, 64);
  dt = Number(process.hrtime.bigint() - t0) / 1e9;
  const echo = await socketEcho(tcpRounds, 64);
  rows.push({ what: 'local TCP rounds (all-to-all, 64 B)', unit: 'rounds/s', runtime: tcpRounds / dt, baseline: tcpRounds / echo, baselineIs: 'raw socket echo, one pair' });
  const tcpBig = quick ? 3 : 10;
  t0 = process.hrtime.bigint();
  await allToAll(tcp, tcpBig, big);
  dt = Number(process.hrtime.bigint() - t0) / 1e9;
  const echoBig = await socketEcho(tcpBig, big);
  rows.push({ what: 'local TCP bandwidth (8 MiB frames, 6 links)', unit: 'MB/s', runtime: (tcpBig * big * 6) / dt / 1e6, baseline: (tcpBig * big * 2) / echoBig / 1e6, baselineIs: 'raw socket echo, one pair' });
  await Promise.all(tcp.map((s) => s.close()));
  return rows;
}

/** Prints the table or, with --json, one JSON array. */
export async function run(args: string[]): Promise<void> {
  const quick = args.includes('--quick');
  const rows = [...(await prgRows(quick ? 0.05 : 0.3)), ...(await sessionRows(quick))];
  if (args.includes('--json')) {
    process.stdout.write(JSON.stringify(rows) + '\n');
    return;
  }
  const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(2));
  const lines = [['what', 'runtime', 'baseline', 'unit', 'baseline is'], ...rows.map((r) => [r.what, fmt(r.runtime), fmt(r.baseline), r.unit, r.baselineIs])];
  const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  for (const l of lines) process.stdout.write(l.map((c, i) => (i === 1 || i === 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ') + '\n');
}
