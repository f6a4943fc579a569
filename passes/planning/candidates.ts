// The candidate blocks of a ReLU layer: which (bh, bw) the distortion measures try for every
// channel of it, from the activation's H×W map and the `--block-sizes` spec. The default
// (`upto:16,half,whole,identity`) is the seed paper's set: every (bh, bw) with 1 ≤ bh ≤ min(16,
// H) and 1 ≤ bw ≤ min(16, W), the half map ⌈H/2⌉×⌈W/2⌉ and the whole map H×W for maps larger
// than that, and identity (no ReLU, cost 0). [1, 1], the plain ReLU, is always a candidate, so
// a budget of every DReLU is always feasible.
//
// Spec syntax, a comma-separated list of items (their union, deduplicated after clipping):
//   BHxBW       one block, clipped to the map (e.g. 2x4; 9x9 on a 7×7 map is 7x7)
//   upto:K      every (bh, bw) with 1 ≤ bh, bw ≤ K (clipped to the map)
//   square:K    the squares s×s for 1 ≤ s ≤ K (clipped to the map)
//   half        the half map ⌈H/2⌉×⌈W/2⌉
//   whole       the whole map H×W (one DReLU per channel)
//   identity    no ReLU (0 DReLUs)
// e.g. `square:4,whole,identity` (1x1 … 4x4, the whole map, identity: at most 6 candidates).
import { diag } from '../../runtime/diagnostics.js';
import { type ChannelBlock, channelDrelus } from './plan-file.js';

/** The default `--block-sizes` spec. */
export const DEFAULT_BLOCK_SIZES = 'upto:16,half,whole,identity';

/** One parsed item of a `--block-sizes` spec. */
type SpecItem =
  | { readonly kind: 'block'; readonly bh: number; readonly bw: number }
  | { readonly kind: 'upto' | 'square'; readonly k: number }
  | { readonly kind: 'half' | 'whole' | 'identity' };

/** A parsed `--block-sizes` spec: its text (recorded in plans and cache keys) and items. */
export interface BlockSizeSpec {
  readonly text: string;
  readonly items: readonly SpecItem[];
}

/** Parses a `--block-sizes` spec (MPCC4044 naming the flag and the bad item). */
export function parseBlockSizes(text: string = DEFAULT_BLOCK_SIZES): BlockSizeSpec {
  const parts = text.split(',').map((s) => s.trim());
  const items = parts.map((part): SpecItem => {
    let m: RegExpExecArray | null;
    if (part === 'half' || part === 'whole' || part === 'identity') return { kind: part };
    if ((m = /^(\d+)x(\d+)$/.exec(part)) && Number(m[1]) >= 1 && Number(m[2]) >= 1) return { kind: 'block', bh: Number(m[1]), bw: Number(m[2]) };
    if ((m = /^(upto|square):(\d+)$/.exec(part)) && Number(m[2]) >= 1 && Number(m[2]) <= 1024) return { kind: m[1] as 'upto' | 'square', k: Number(m[2]) };
    throw diag('MPCC4044', [text, part === '' ? '(empty)' : part]);
  });
  return { text: parts.join(','), items };
}

/** The candidate blocks of an H×W map under `spec`, ordered by DReLU cost (dearest first: [1, 1]
 * leads), then by bh, bw; identity last. */
export function candidateBlocks(h: number, w: number, spec: BlockSizeSpec = parseBlockSizes()): ChannelBlock[] {
  const seen = new Set<string>();
  const blocks: [number, number][] = [];
  let identity = false;
  const add = (bh: number, bw: number) => {
    const b: [number, number] = [Math.min(bh, h), Math.min(bw, w)];
    const key = `${b[0]}x${b[1]}`;
    if (!seen.has(key)) {
      seen.add(key);
      blocks.push(b);
    }
  };
  add(1, 1);
  for (const item of spec.items) {
    if (item.kind === 'block') add(item.bh, item.bw);
    else if (item.kind === 'upto') for (let bh = 1; bh <= Math.min(item.k, h); bh++) for (let bw = 1; bw <= Math.min(item.k, w); bw++) add(bh, bw);
    else if (item.kind === 'square') for (let s = 1; s <= Math.min(item.k, Math.max(h, w)); s++) add(s, s);
    else if (item.kind === 'half') add(Math.ceil(h / 2), Math.ceil(w / 2));
    else if (item.kind === 'whole') add(h, w);
    else identity = true;
  }
  blocks.sort((a, b) => channelDrelus(h, w, b) - channelDrelus(h, w, a) || a[0] - b[0] || a[1] - b[1]);
  return identity ? [...blocks, 'identity'] : blocks;
}

/** DReLUs of one channel (one image) under each candidate. */
export function candidateCosts(h: number, w: number, candidates: readonly ChannelBlock[]): number[] {
  return candidates.map((b) => channelDrelus(h, w, b));
}

/** A block as text: "4x4" or "identity". */
export function blockText(b: ChannelBlock): string {
  return b === 'identity' ? 'identity' : `${b[0]}x${b[1]}`;
}

/** Each block of a layer (blockText) with its number of channels, most frequent first (ties by name). */
export function blockCounts(blocks: readonly ChannelBlock[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const b of blocks) counts.set(blockText(b), (counts.get(blockText(b)) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}
