// `mpcc ir MODEL.onnx|FILE.mir`: loads a model, runs passes through the driver
// (compiler/driver.ts: --passes, canonicalize by default, then the secure tail up to --stage or
// up to the last tail pass --passes names) and prints the IR, or saves it as FILE.mir plus
// FILE.weights. --print-after-all shows the IR after every pass with a header line naming the
// pass: on stderr when the final IR goes to stdout (so stdout stays one clean .mir text), on
// stdout when -o writes the final IR to a file.
import type { Command } from 'commander';
import { extname } from 'node:path';
import { type ProgressFlags, type ProgressSink, NO_PROGRESS, action, checkOutputPath, commandProgress, stderrProgress } from '../cli-support.js';
import { DEFAULT_PASSES, driveModel } from '../driver.js';
import { chooseClientOffline } from '../mode-choice.js';
import { diag } from '../../runtime/diagnostics.js';
import type { Graph } from '../../ir/graph.js';
import { printGraph } from '../../ir/print.js';
import { STAGES, type Stage, isBefore, stageOf } from '../../ir/stage.js';
import { mirPaths, saveMir } from '../../ir/weights.js';
import { formatReports } from '../../passes/index.js';
import { checkRingMode, clientOfflineOption, outputOption, parseClientOffline, parseFracBits, parseInputShape, parseRing, ringOption, withModelFlags, withProgressFlags } from './flags.js';

/** Options of the ir command, as commander hands them over. */
export interface IrOptions extends ProgressFlags {
  /** Write FILE.mir (+ FILE.weights) instead of printing the IR. */
  readonly output?: string;
  /** Passes to run first (default `canonicalize`; `''` runs none), as in every command. */
  readonly passes?: string;
  /** The stage to drive the model to (default: as far as --passes names). */
  readonly stage?: string;
  /** Fractional bits of the quantize pass the driver appends (4..28; default: chosen from the model by the driver). */
  readonly fracBits?: string | number;
  readonly printAfterAll?: boolean;
  /** Shape of the first input for ONNX models with symbolic dimensions, e.g. `1,3,224,224`. */
  readonly inputShape?: string;
  /** false with --no-verify: skip verification between passes. */
  readonly verify?: boolean;
  /** Print pass timings and statistics on stderr. */
  readonly stats?: boolean;
  /** --client-offline [on|off|auto]: lower in the client-offline mode (compiler/driver.ts), or
   * as auto chooses (compiler/mode-choice.ts); the flag alone: on. */
  readonly clientOffline?: boolean | string;
  /** --ring 32|40|48|56|64: the ring of a client-offline program (the SecureInput's `ring`); auto:
   * 64 here (no calibration samples). */
  readonly ring?: string | number;
}

/** Where the command writes its text (process streams on the CLI, buffers in tests). */
export interface IrStreams {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** Runs the ir command; every output goes through `io`, progress lines to `sink` (none by
 * default). Writes no file when anything fails. */
export function runIr(model: string, options: IrOptions, io: IrStreams, sink: ProgressSink = NO_PROGRESS): Graph {
  if (options.output !== undefined && extname(options.output) !== '.mir') throw diag('MPCC0004', ['-o', options.output, 'the output file must end in .mir']);
  // both files checked before the work: a folder named FILE.mir, or the model read, is not overwritten
  if (options.output !== undefined) for (const path of Object.values(mirPaths(options.output))) checkOutputPath(path, false, [model]);
  if (options.stage !== undefined && !STAGES.includes(options.stage as Stage)) throw diag('MPCC0004', ['--stage', options.stage, `expected one of ${STAGES.join(', ')}`]);
  const showIntermediate = options.output === undefined ? io.stderr : io.stdout;
  const when = parseClientOffline(options.clientOffline);
  const log = commandProgress(options, sink);
  const fracBits = parseFracBits(options.fracBits);
  const inputShape = parseInputShape(options.inputShape);
  const ringFlag = parseRing(options.ring);
  checkRingMode(ringFlag, when);
  const ring = ringFlag === 'auto' ? 64 : ringFlag;
  const implied = impliedStage(options, when, fracBits, ringFlag);
  const choice = when === 'auto' ? chooseClientOffline(model, { passes: options.passes, fracBits, inputShape, ring }, log) : undefined;
  if (choice) io.stderr(`${choice.note}\n`);
  const { loaded, graph: result, reports } = driveModel(model, {
    passes: options.passes,
    target: options.stage as Stage | undefined,
    atLeast: implied?.stage,
    fracBits,
    inputShape,
    clientOffline: choice ? choice.clientOffline : when === 'on',
    ...((choice ? choice.clientOffline : when === 'on') ? { ring } : {}),
    verify: options.verify !== false,
    printAfter: options.printAfterAll ? (header, g) => showIntermediate(`${header}\n${printGraph(g)}`) : undefined,
    log,
  });
  // a .mir file past the stage asked for: stages only go forward
  if (options.stage !== undefined && isBefore(options.stage as Stage, stageOf(result))) throw diag('MPCC0004', ['--stage', options.stage, `the model is already ${stageOf(result)} (passes only take a model forward)`]);
  if (implied && stageOf(result) === implied.stage && isBefore(stageOf(loaded), implied.stage)) io.stderr(`note: ${implied.flags.join(' and ')} ${implied.flags.length > 1 ? 'act' : 'acts'} ${implied.stage === 'lowered' ? 'when lowering' : 'when quantizing'}: the IR shown is the ${implied.stage} one (--stage names another)\n`);
  if (options.output !== undefined) saveMir(result, options.output);
  else io.stdout(printGraph(result));
  if (options.stats) io.stderr(`${formatReports(reports)}\n${loaded.nodes.length} nodes before, ${result.nodes.length} after\n`);
  return result;
}

/** The stage the flags that act past the float IR ask for (--frac-bits: quantized; --ring and
 * --client-offline on|auto: lowered), and those flags: without --stage the IR is driven at least
 * there, so that no flag is silently ignored; with a --stage before it, --frac-bits and --ring are
 * MPCC0004 (--client-offline keeps its float-level effect, the MaxPool trees). */
function impliedStage(options: IrOptions, when: ReturnType<typeof parseClientOffline>, fracBits: number | undefined, ring: ReturnType<typeof parseRing>): { stage: Stage; flags: string[] } | undefined {
  const late: { flag: string; value: string; at: Stage }[] = [];
  if (fracBits !== undefined) late.push({ flag: '--frac-bits', value: String(fracBits), at: 'quantized' });
  if (ring !== undefined) late.push({ flag: '--ring', value: String(ring), at: 'lowered' });
  if (when !== 'off') late.push({ flag: '--client-offline', value: when, at: 'lowered' });
  if (late.length === 0) return undefined;
  if (options.stage !== undefined) {
    const stage = options.stage as Stage;
    const early = late.find((l) => l.flag !== '--client-offline' && isBefore(stage, l.at));
    if (early) throw diag('MPCC0004', [early.flag, early.value, `it acts at the ${early.at} stage, past --stage ${stage}: give --stage ${early.at} or later, or drop it`]);
    return undefined;
  }
  const stage = late.some((l) => l.at === 'lowered') ? 'lowered' : 'quantized';
  return { stage, flags: late.filter((l) => l.at === stage).map((l) => l.flag) };
}

/** Adds `mpcc ir` to the program. */
export function registerIr(program: Command): void {
  withProgressFlags(
    withModelFlags(
      program
        .command('ir')
        .description('print the IR of a model after a pass pipeline (canonicalize by default)')
        .argument('<model>', 'MODEL.onnx or FILE.mir')
        .addOption(outputOption('write FILE.mir and FILE.weights instead of printing'))
        .option('--stage <stage>', `drive the model to this stage (${STAGES.join(', ')}), appending the secure-tail passes it still needs; without it, --frac-bits drives to quantized and --ring or --client-offline to lowered`)
        .option('--print-after-all', 'print the IR after every pass (stderr, or stdout with -o)')
        .option('--no-verify', 'do not verify the IR between passes')
        .option('--stats', 'print pass timings and statistics on stderr')
        .addOption(clientOfflineOption())
        .addOption(ringOption()),
      `${DEFAULT_PASSES}; '' for none`,
    ),
  ).action(
    action((model: string, options: IrOptions) => {
      runIr(model, options, { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) }, stderrProgress(options));
    }),
  );
}
