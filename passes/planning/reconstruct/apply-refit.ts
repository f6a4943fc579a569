// apply-refit{file=F}: the float graph with the constants of a refit weights file (refit-file.ts)
// in place of its own. It runs on the float graph after canonicalize and before
// insert-block-relu, where the refit was made (`reconstructWeights` reads the canonicalized
// graph), so everything after it — the plan's block-ReLUs, the scale chosen from calibration
// activations, the comparison windows, quantize — sees the refit network. The file's model and
// plan sha256 are checked by the commands that know the files (compiler/driver.ts, `readRefit`),
// since a pass sees only the graph; the pass checks every constant's name, type and shape.
import { diag } from '../../../runtime/diagnostics.js';
import { definePass } from '../../pass.js';
import { applyRefit, readRefitFile } from './refit-file.js';

/** The apply-refit pass. */
export const applyRefitPass = definePass<{ file: string }>({
  name: 'apply-refit',
  summary: 'Replaces the constants a refit weights file (mpcc plan --reconstruct) holds, by name; each must exist in the float graph with the same type and shape; the nodes stay.',
  options: {
    file: { kind: 'string', default: '', doc: 'the refit weights file (.refit)', check: (v) => (v === '' ? 'a refit file is required' : undefined) },
  },
  run: (graph, ctx) => {
    const file = givenFile(ctx.options.file);
    const refit = readRefitFile(file);
    ctx.stat('constants replaced', refit.weights.size);
    return applyRefit(graph, refit.weights, file);
  },
});

/** The file option, MPCC4003 when empty (run outside a pipeline, which checks it first). */
function givenFile(file: string): string {
  if (file !== '') return file;
  throw diag('MPCC4003', ['apply-refit', 'file', "''", 'a refit file is required (apply-refit{file=F})']);
}
