// Secure inference over a stream of inputs, for `mpcc eval OUT` (eval-secure.ts): one client
// connection, one inference per input, each input made only when the client is about to need it
// and each output handed over and removed as soon as it is revealed, so a long evaluation (a
// segmentation set of thousands of images, each output millions of scores) holds a few inputs
// and one output at a time, on disk and in memory.
//
// The client is `mpcc party --serve --input - -o DIR --json` (party.ts): it reads input paths on
// its stdin as they come, prepares each next inference (handshake, offline phase) while it waits,
// writes each output to DIR and prints one small JSON line per input (its report, no values).
// Without a deployment the server and helper run here too, as `mpcc run --inputs` runs them
// (three processes over loopback TCP with fresh keys, one server session), and are stopped
// (SIGTERM) once the client is done; their reports, printed as they exit, give each inference's
// bytes and seconds at all three parties. With a deployment (`--peers`) only the client runs, and
// its report is its own.
//
// Errors: the first party to fail on its own names the cause (a peer's abort second, as
// run.ts partyProcesses does); an error of `onOutput` stops the client at once (its pending
// inference abandoned) and is the error; the temporary folder is removed either way.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { type DiagnosticCode, MpccError, diag } from '../../runtime/diagnostics.js';
import { freeLocalAddresses } from '../../runtime/session/connect.js';
import { keyFileNames, writeKeyPair } from '../../runtime/session/identity.js';
import { loadPartyArtifacts, readManifest } from '../../runtime/program/index.js';
import { type ProgressSink, NO_PROGRESS, cleanupOnSignal } from '../cli-support.js';
import { readNpy } from '../npy.js';
import type { ServedInput } from './party.js';
import { type Deployment, type RunSummary, localPartyThreads, spawnParty, summarize } from './run.js';
import type { PartyReport } from './secure-support.js';

/** How many inputs the client may have waiting beyond the one it runs: the next is ready when
 * its offline phase is. */
export const STREAM_LOOKAHEAD = 2;

/** What streamSecureInferences is given besides OUT. */
export interface StreamOptions {
  /** The deployment whose serving parties the client (OUT or its party0 folder) joins; without
   * one, the server and helper run here. */
  readonly deployment?: Deployment;
  readonly roundTimeout?: string;
  /** Inputs written ahead of the client (default STREAM_LOOKAHEAD). */
  readonly lookahead?: number;
  /** Where the inputs and outputs pass (default: a private temporary folder, removed after). */
  readonly dir?: string;
}

/** Runs `count` secure inferences of `out`. `writeInput(k, file)` writes input k as an .npy at
 * `file` (called in order, at most `lookahead` ahead of the outputs); `onOutput(k, values)` gets
 * output k's values, in order, before the next output is read. Returns each inference's summary
 * (all three parties' bytes and seconds; with a deployment, the client's own). */
export async function streamSecureInferences(
  out: string,
  count: number,
  writeInput: (index: number, file: string) => void,
  onOutput: (index: number, values: ArrayLike<number>) => void,
  options: StreamOptions = {},
  log: ProgressSink = NO_PROGRESS,
): Promise<RunSummary[]> {
  if (count < 1) throw new Error('internal: a stream of no input');
  const manifest = readManifest(out);
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'mpcc-stream-'));
  // a SIGINT or SIGTERM removes it too, after stopping the parties (cli-support.ts)
  const removeDir = () => {
    if (options.dir === undefined) rmSync(dir, { recursive: true, force: true });
  };
  const release = cleanupOnSignal(removeDir);
  const inputs = join(dir, 'in');
  const outputs = join(dir, 'out');
  mkdirSync(inputs, { recursive: true });
  const cli = fileURLToPath(new URL('../party-cli.js', import.meta.url));
  const servers: { child: ChildProcess; done: Promise<PartyReport[]> }[] = [];
  try {
    let peers: string;
    let clientKeys: string[];
    let threads: string | undefined;
    if (options.deployment) {
      const d = options.deployment;
      peers = d.peers;
      clientKeys = [...(d.key !== undefined ? ['--key', d.key] : []), ...(d.peerKeys !== undefined ? ['--peer-keys', d.peerKeys] : []), ...(d.insecure ? ['--insecure'] : [])];
    } else {
      threads = localPartyThreads(await Promise.all(([0, 1, 2] as const).map((id) => loadPartyArtifacts(out, id))));
      peers = (await freeLocalAddresses()).join(',');
      // Fresh party keys, pinned by each party: the loopback links are authenticated too.
      const keyDir = join(dir, 'keys');
      mkdirSync(keyDir);
      for (const id of [0, 1, 2] as const) writeKeyPair(keyDir, id);
      const keys = (id: 0 | 1 | 2) => ['--key', join(keyDir, keyFileNames(id).key), '--peer-keys', keyDir];
      clientKeys = keys(0);
      // The parties run quiet (their lines per step would drown a long run's): the caller says
      // how far the stream is; a party's error still comes through, coded.
      for (const id of [1, 2] as const) servers.push(spawnParty(cli, id, [out, '--id', String(id), '--peers', peers, ...keys(id), '--serve'], options.roundTimeout, threads, NO_PROGRESS));
      log(`running the three parties (three processes over loopback TCP, one server session for ${count} input${count === 1 ? '' : 's'}, each made as the client needs it)`);
    }
    const served: ServedInput[] = [];
    let written = 0;
    const lookahead = Math.max(1, options.lookahead ?? STREAM_LOOKAHEAD);
    const client = spawnParty(cli, 0, [out, '--id', '0', '--peers', peers, ...clientKeys, '--serve', '--input', '-', '-o', outputs], options.roundTimeout, threads, NO_PROGRESS, {
      stdin: true,
      onLine: (line) => {
        const s = line as ServedInput;
        const k = served.length;
        if (typeof s.output !== 'string') throw new Error(`the client's line for input ${k} names no output file`);
        const values = readNpy(s.output).data;
        rmSync(s.output);
        rmSync(s.input, { force: true });
        served.push(s);
        onOutput(k, values);
        feed();
      },
    });
    const feed = () => {
      while (written < count && written < served.length + 1 + lookahead) {
        const file = join(inputs, `${written}.npy`);
        writeInput(written, file);
        client.child.stdin!.write(file + '\n');
        written++;
      }
      if (written === count) client.child.stdin!.end();
    };
    let clientError: unknown;
    try {
      feed();
    } catch (e) {
      clientError = e; // writeInput's error: the client stops before it has an input
      client.child.kill('SIGTERM');
    }
    try {
      await client.done;
    } catch (e) {
      clientError ??= e;
    }
    if (clientError === undefined && served.length !== count) clientError = diag('MPCC6044', [`the client reported ${served.length} inference(s) for ${count} input(s)`]);
    // The client is done (or failed): the servers here stop, and report every inference they served.
    for (const s of servers) s.child.kill('SIGTERM');
    const settled = await Promise.allSettled(servers.map((s) => s.done));
    if (clientError !== undefined) {
      // The root cause first: a party that failed on its own, not one that saw a peer abort.
      const failures = [clientError, ...settled.flatMap((s) => (s.status === 'rejected' ? [s.reason] : []))];
      throw failures.find((e) => !(e instanceof MpccError) || !/MPCC50(01|02|06|11|12|51)/.test(`${(e as MpccError).code as DiagnosticCode}`)) ?? clientError;
    }
    const reports = settled.map((s) => {
      if (s.status === 'rejected') throw s.reason;
      return s.value;
    });
    return served.map((s, k) => summarize([s, ...reports.map((r) => r[k]).filter((r) => r !== undefined)], null, manifest.architecture).summary);
  } finally {
    for (const s of servers) if (s.child.exitCode === null) s.child.kill('SIGKILL');
    release();
    removeDir();
  }
}
