// `mpcc cost MODEL.onnx|FILE.mir|OUT [--json] [--frac-bits F] [--passes LIST] [--client-offline] [--ring N]`: what one secure
// inference of a model costs — bytes per party (online, preprocessing, one-time), rounds,
// DReLUs (and, per block-ReLU, the DReLUs before planning; bytes of comparisons and selections
// apart), per layer and in total, with LAN/WAN latency estimates, and the inference split into
// its offline phase (before the input) and online phase (costPhases). A model is driven to the
// round schedule by the passes compile runs (compiler/driver.ts: an already quantized, lowered
// or scheduled .mir skips the earlier ones); a compiled folder OUT is read from OUT/cost.json.
import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ProgressFlags, type ProgressSink, NO_PROGRESS, action, commandProgress, statOf, stderrProgress } from '../cli-support.js';
import { DEFAULT_PASSES, driveModel } from '../driver.js';
import { chooseClientOffline } from '../mode-choice.js';
import { diag } from '../../runtime/diagnostics.js';
import { type CostReport, costReport, formatCostTable } from '../../passes/secure/cost-model.js';
import { checkRingMode, clientOfflineOption, jsonOption, parseClientOffline, parseFracBits, parseInputShape, parseRing, parseTruncation, ringOption, truncationOption, withModelFlags, withProgressFlags } from './flags.js';
import { chooseRing } from '../ring-choice.js';

/** Options of the cost command, as commander hands them over. */
export interface CostOptions extends ProgressFlags {
  /** Print the report as one JSON object instead of a table. */
  readonly json?: boolean;
  /** Fractional bits of the fixed-point encoding (quantize's frac-bits, 4..28). */
  readonly fracBits?: string | number;
  /** --truncation: exact (default) or local. */
  readonly truncation?: string;
  /** --client-offline [on|off|auto]: the cost of the client-offline mode (compiler/driver.ts), or
   * of the mode auto chooses (compiler/mode-choice.ts); the flag alone: on. */
  readonly clientOffline?: boolean | string;
  /** --ring 32|40|48|56|64|auto: the ring of a client-offline program (compiler/ring-choice.ts;
   * auto: Z_2^64 here, the command has no calibration samples); absent: 64. */
  readonly ring?: string | number;
  /** Shape of the first input for ONNX models with symbolic dimensions. */
  readonly inputShape?: string;
  /** The passes to run first, as in every command (compiler/driver.ts), e.g.
   * `canonicalize,maxpool-to-avgpool`; the secure tail is appended unless listed. */
  readonly passes?: string;
}

/** The report of `model` (a model file or a compiled folder) and the text the command prints;
 * progress lines go to `sink` (none by default). */
export function runCost(model: string, options: CostOptions, sink: ProgressSink = NO_PROGRESS): { report: CostReport; phases: CostPhases; text: string } {
  if (isDirectory(model)) {
    // a compiled folder's cost is what it was compiled with: flags that would cost another program are refused
    const given = (['fracBits', 'truncation', 'clientOffline', 'ring', 'inputShape', 'passes'] as const).find((k) => options[k] !== undefined);
    if (given) throw diag('MPCC0004', [`--${given.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, String(options[given]), `${model} is compiled: its cost.json is what it was compiled with; give the model file to cost it otherwise`]);
    if (!existsSync(join(model, 'cost.json'))) throw diag('MPCC0002', [join(model, 'cost.json'), existsSync(join(model, 'manifest.json')) ? 'a party folder holds no cost.json: give OUT, the folder mpcc compile wrote' : 'not a folder mpcc compile wrote (no cost.json)']);
  }
  const { report, note } = isDirectory(model) ? compiledCost(model) : modelCost(model, options, commandProgress(options, sink));
  const phases = costPhases(report);
  return { report, phases, text: options.json ? `${JSON.stringify({ ...report, phases }, null, 2)}\n` : formatCostTable(report) + formatPhases(phases) + (note ? `${note}\n` : '') };
}

/** Ops with offline work (runtime/program/offline.ts): products (mask convolutions) and
 * (block-)ReLUs that compare (the comparison's dealing), and every op of the client-offline
 * mode (its dealings, whose messages all ride in the closing exchange). */
const OFFLINE_WORK_OPS: ReadonlySet<string> = new Set(['SecureWeights', 'SecureReluWeights', 'SecureBlockRelu', 'SecureRelu', 'SecureHelperSelect', 'SecureTruncateClientOffline', 'SecureLift', 'SecureWeightsClientOffline']);

/** The client-offline mode's ops: their offline messages (the comparisons' bit corrections
 * included) travel in the closing exchange itself. */
const CLIENT_OFFLINE_WORK: ReadonlySet<string> = new Set(['SecureHelperSelect', 'SecureTruncateClientOffline', 'SecureLift', 'SecureWeightsClientOffline']);

/** One inference split as the runtime runs it: the offline phase before the input (P0's and
 * P2's mask convolutions, the comparisons' dealing; when there is any such work, the closing
 * exchange that carries P2's corrections and the dealings' messages, then an exchange of empty
 * frames once every party has taken them in, and one round more for P2's bit corrections when
 * any comparison is prepared (more only past 512 MiB of them); the
 * input-independent bytes, phase 'preprocessing') and the online phase (input
 * given → output revealed). `mpcc run --json` reports the same split, measured. */
export interface CostPhases {
  offline: { rounds: number; bytes: number };
  online: { rounds: number; bytes: number };
}

/** The offline/online split of a cost report. */
export function costPhases(r: CostReport): CostPhases {
  const work = r.layers.some((l) => OFFLINE_WORK_OPS.has(l.op) && (l.op.endsWith('Weights') || l.drelus > 0 || CLIENT_OFFLINE_WORK.has(l.op)));
  const compares = r.layers.some((l) => OFFLINE_WORK_OPS.has(l.op) && l.op !== 'SecureWeights' && !CLIENT_OFFLINE_WORK.has(l.op) && l.drelus > 0);
  return { offline: { rounds: (work ? 2 : 0) + (compares ? 1 : 0), bytes: r.bytes.preprocessing }, online: { rounds: r.rounds, bytes: r.bytes.online } };
}

/** The split as the lines the table ends with. */
function formatPhases(p: CostPhases): string {
  const mb = (x: number) => `${(x / 1e6).toFixed(3)} MB`;
  return `offline (before the input): ${p.offline.rounds} round(s), ${mb(p.offline.bytes)} input-independent (the helper's dealing and corrections; with --client-offline P0's messages too)\nonline (input given → output revealed): ${p.online.rounds} rounds, ${mb(p.online.bytes)}\n`;
}

/** Drives a model file to the round schedule (the same passes compile runs) and reports its cost. */
function modelCost(model: string, options: CostOptions, log: ProgressSink): { report: CostReport; note?: string } {
  const fracBits = parseFracBits(options.fracBits);
  const when = parseClientOffline(options.clientOffline);
  const ring = parseRing(options.ring);
  checkRingMode(ring, when);
  const driver = { passes: options.passes, fracBits, truncation: parseTruncation(options.truncation), inputShape: parseInputShape(options.inputShape), log };
  // --ring auto has no calibration samples here: Z_2^64, said in the note (compiler/ring-choice.ts)
  const ringNote = ring === 'auto' ? chooseRing(undefined, fracBits ?? 0).note : undefined;
  if (when === 'auto') {
    const choice = chooseClientOffline(model, { ...driver, ring }, log);
    const classicRing = !choice.clientOffline && ring !== undefined && ring !== 64 ? `--ring ${ring}: the classic mode computes in Z_2^64` : undefined;
    return { report: choice.clientOffline ? choice.offline! : choice.classic, note: [choice.note, ...(choice.clientOffline && ringNote ? [ringNote] : []), ...(classicRing ? [classicRing] : [])].join('\n') };
  }
  const { graph } = driveModel(model, { ...driver, clientOffline: when === 'on', ring: ring === 'auto' ? 64 : ring, target: 'scheduled' });
  return { report: costReport(graph), ...(ringNote && when === 'on' ? { note: ringNote } : {}) };
}

/** A compiled folder's cost.json, and a last line saying the mode it was compiled in (which
 * --client-offline auto chose for a plan, its note saying why). */
function compiledCost(out: string): { report: CostReport; note: string } {
  const report = readCostJson(join(out, 'cost.json'));
  const mode = report.mode ?? 'classic';
  const why = existsSync(join(out, 'plan.json')) ? " (with a plan, compile's --client-offline auto picks the mode, and its note says why)" : '';
  return { report, note: `mode: ${mode}, as ${out} was compiled${why}` };
}

/** OUT/cost.json as codegen writes it (MPCC0002 when missing, MPCC6026 when not a report). */
export function readCostJson(path: string): CostReport {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw diag('MPCC0002', [path, (err as Error).message]);
  }
  let report: CostReport;
  try {
    report = JSON.parse(text) as CostReport;
  } catch (err) {
    throw diag('MPCC6026', [path, (err as Error).message]);
  }
  const isNum = (x: unknown) => typeof x === 'number' && Number.isFinite(x);
  const ok =
    report !== null && typeof report === 'object' && isNum(report.rounds) && isNum(report.oneTimeRounds) && isNum(report.drelus) &&
    typeof report.bytes === 'object' && ['total', 'online', 'preprocessing', 'oneTime'].every((k) => isNum((report.bytes as unknown as Record<string, unknown>)[k])) &&
    Array.isArray(report.bytes.perParty) && report.bytes.perParty.length === 3 &&
    typeof report.latency === 'object' && isNum(report.latency?.lan) && isNum(report.latency?.wan) && Array.isArray(report.layers);
  if (!ok) throw diag('MPCC6026', [path, 'expected {rounds, oneTimeRounds, bytes, drelus, latency, layers}']);
  return report;
}

function isDirectory(path: string): boolean {
  return statOf(path)?.isDirectory() === true;
}

/** Adds `mpcc cost` to the program. */
export function registerCost(program: Command): void {
  withProgressFlags(
    withModelFlags(
      program
        .command('cost')
        .description('bytes, rounds, DReLUs and latency estimates of one secure inference, per layer and in total')
        .argument('<model>', 'MODEL.onnx, FILE.mir, or a folder written by mpcc compile (reads its cost.json)')
        .addOption(truncationOption())
        .addOption(clientOfflineOption())
        .addOption(ringOption())
        .addOption(jsonOption('{rounds, oneTimeRounds, bytes, drelus, latency, layers, drelusBefore, bytesByKind, mode, ring, phases: {offline, online}}')),
      `${DEFAULT_PASSES}; '' for none`,
    ),
  ).action(
    action((model: string, options: CostOptions) => {
      process.stdout.write(runCost(model, options, stderrProgress(options)).text);
    }),
  );
}
