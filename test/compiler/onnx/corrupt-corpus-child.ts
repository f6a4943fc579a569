// The child process of the corrupted-model corpus test (corrupt-corpus.test.ts): imports each
// case and takes it to the quantized stage (canonicalize folds constants, quantize checks
// ranges), reporting each outcome to the parent, which watches the time per case; at the end it
// reports its own peak memory (its maxRSS, which no other test shares). The parent starts it with
// a bounded heap and --expose-gc, and it collects every GC_EVERY cases: the peak then measures
// what the importer holds and allocates, not how lazily a given Node's collector runs (CI's Node
// reached 483 MB of maxRSS where this machine's stayed at 137 MB, with the same cases).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { driveModel } from '../../../compiler/driver.js';
import { MpccError } from '../../../runtime/diagnostics.js';
import { corruptCorpus } from './corrupt-models.js';

/** What the child tells its parent. */
export type CorpusMessage =
  | { readonly kind: 'start'; readonly index: number; readonly name: string }
  | { readonly kind: 'done'; readonly index: number; readonly name: string; readonly outcome: string; readonly ms: number }
  | { readonly kind: 'end'; readonly cases: number; readonly maxRssKb: number; readonly maxLiveKb: number; readonly maxHeldKb: number };

/** Cases between two forced collections. */
const GC_EVERY = 16;

/** What the process holds right after a collection (JS heap plus array buffers), in KiB. */
function liveKb(): number {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return Math.round((m.heapUsed + m.external) / 1024);
}

/** What the process has allocated (V8's heap spaces plus array buffers, garbage included), in KiB. */
function heldKb(): number {
  const m = process.memoryUsage();
  return Math.round((m.heapTotal + m.external) / 1024);
}

function main(dir: string): void {
  const send = (m: CorpusMessage) => process.send!(m);
  const corpus = corruptCorpus();
  mkdirSync(join(dir, 'sub'), { recursive: true });
  let maxLiveKb = liveKb();
  let maxHeldKb = heldKb();
  corpus.forEach((c, index) => {
    send({ kind: 'start', index, name: c.name });
    const path = join(dir, `case-${index}.onnx`);
    writeFileSync(path, c.bytes);
    const t0 = performance.now();
    let outcome = 'ok';
    try {
      driveModel(path, { target: 'quantized' });
    } catch (e) {
      outcome = e instanceof MpccError ? e.code : `uncoded: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`.slice(0, 400);
    }
    send({ kind: 'done', index, name: c.name, outcome, ms: performance.now() - t0 });
    maxHeldKb = Math.max(maxHeldKb, heldKb());
    if (index % GC_EVERY === GC_EVERY - 1) maxLiveKb = Math.max(maxLiveKb, liveKb());
  });
  send({ kind: 'end', cases: corpus.length, maxRssKb: process.resourceUsage().maxRSS, maxLiveKb: Math.max(maxLiveKb, liveKb()), maxHeldKb });
  process.disconnect();
}

if (process.send) main(process.argv[2]);
