// ReLU on a bit window: the comparison [x ≥ 0] (compare.ts) with the selection x · bit
// (select.ts) riding on it, three rounds in all; on the full 64-bit window the selection
// reuses the comparison's mask and sends no opening of its own.

import type { Session } from '../session/session.js';
import { compareWindow } from './compare.js';
import type { BitWindow } from './compare.js';
import { Selection, fullWindow } from './select.js';

/** ReLU on a bit window: x · [x ≥ 0], comparison and selection fused into three rounds. */
export async function relu(s: Session, x: BigUint64Array, w: BitWindow): Promise<BigUint64Array> {
  const sel = new Selection(s, x, null, fullWindow(w));
  const bit = await compareWindow(s, x, w, sel);
  return sel.finish(bit);
}
