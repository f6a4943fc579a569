// A segmentation set laid out as Cityscapes' (`mpcc eval --data leftImg8bit/val --labels
// gtFine/val`): city folders in both, the image `<city>/<id>_leftImg8bit.png` (or .jpg, .jpeg)
// paired with the label map `<city>/<id>_gtFine_labelTrainIds.png`, cityscapesscripts' 19 train
// ids with 255 counting nowhere (what mmsegmentation's Cityscapes configs measure), or, where the
// folder has no train-id maps, `<city>/<id>_gtFine_labelIds.png`, the raw label ids 0..33 that
// cityscapesTrainIds maps to the train ids as cityscapesscripts' labels.py does. The set's ids
// are `<city>/<id>`: a split file's lines in its order, or every label map's, sorted by code point.
// listSegmentationFolder (segmentation-folder.ts) takes this layout when the label folder holds
// city folders of such maps and no map of its own.
import { join } from 'node:path';
import { diag } from '../../runtime/diagnostics.js';
import { byName, entries, isDirectory, isFile } from './image-folder.js';
import { imageKind } from './images.js';

/** What an image's name ends with before its extension. */
const IMAGE_SUFFIX = '_leftImg8bit';

/** The label maps' endings, preferred first: train ids, else raw label ids. */
const MAP_SUFFIXES = [
  { suffix: '_gtFine_labelTrainIds.png', ids: 'train' },
  { suffix: '_gtFine_labelIds.png', ids: 'label' },
] as const;

/** A Cityscapes set's images and label maps, id by id; `labelIds` when its maps hold raw label
 * ids (cityscapesTrainIds maps them), else train ids. */
export interface CityscapesListing {
  readonly ids: readonly string[];
  readonly images: readonly string[];
  readonly masks: readonly string[];
  readonly labelIds: boolean;
  /** The cities the set's images come from. */
  readonly cities: number;
}

/** The city folders of `dir` and, per city, its files' names. */
function cities(dir: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const e of entries(dir)) {
    if (!isDirectory(dir, e)) continue;
    const city = join(dir, e.name);
    out.set(e.name, entries(city).filter((f) => isFile(city, f)).map((f) => f.name));
  }
  return out;
}

/** Whether label folder `masksDir` is laid out as Cityscapes': city folders holding label maps
 * with one of its endings, and no .png of its own. */
export function isCityscapesLayout(masksDir: string): boolean {
  if (entries(masksDir).some((e) => isFile(masksDir, e) && e.name.toLowerCase().endsWith('.png'))) return false;
  return [...cities(masksDir).values()].some((names) => names.some((n) => MAP_SUFFIXES.some((m) => n.endsWith(m.suffix))));
}

/** Lists the Cityscapes set of `imagesDir` and `masksDir` (restricted to and ordered by the ids
 * `split` lists, when given): MPCC3015 naming the id without its image or label map. */
export function listCityscapesFolder(imagesDir: string, masksDir: string, splitIds: readonly string[] | undefined, fail: (why: string) => Error): CityscapesListing {
  const maps = cities(masksDir);
  // each kind's maps by id; train ids where any exist, and then for every id
  const byKind = MAP_SUFFIXES.map((m) => {
    const found = new Map<string, string>();
    for (const [city, names] of maps) for (const n of names) if (n.endsWith(m.suffix)) found.set(`${city}/${n.slice(0, -m.suffix.length)}`, join(masksDir, city, n));
    return found;
  });
  const kind = byKind[0].size > 0 ? 0 : 1;
  const chosen = MAP_SUFFIXES[kind];
  const masks = byKind[kind];
  if (kind === 0) {
    const partial = [...byKind[1].keys()].filter((id) => !masks.has(id)).sort(byName);
    if (partial.length > 0) throw fail(`${masks.size} ids have train-id maps (${chosen.suffix}) but ${partial.length} only label-id maps (${MAP_SUFFIXES[1].suffix}), the first '${partial[0]}': make the train-id maps of every image (cityscapesscripts' createTrainIdLabelImgs) or remove them`);
  }
  const images = new Map<string, string>();
  for (const [city, names] of cities(imagesDir)) {
    for (const n of names) {
      const dot = n.lastIndexOf('.');
      const stem = dot > 0 ? n.slice(0, dot) : n;
      if (!imageKind(n) || !stem.endsWith(IMAGE_SUFFIX)) continue;
      const id = `${city}/${stem.slice(0, -IMAGE_SUFFIX.length)}`;
      if (images.has(id)) throw fail(`id '${id}' has two images, '${images.get(id)}' and '${join(imagesDir, city, n)}'`);
      images.set(id, join(imagesDir, city, n));
    }
  }
  const ids = splitIds ?? [...masks.keys()].sort(byName);
  for (const id of ids) {
    if (!masks.has(id)) throw fail(`id '${id}' has no label map '${id}${chosen.suffix}'${chosen.ids === 'train' ? '' : ` (nor ${MAP_SUFFIXES[0].suffix})`}`);
    if (!images.has(id)) throw fail(`id '${id}' has no image '${id}${IMAGE_SUFFIX}.png' (or .jpg, .jpeg)`);
  }
  const cityCount = new Set(ids.map((id) => id.split('/')[0])).size;
  return { ids, images: ids.map((id) => images.get(id)!), masks: ids.map((id) => masks.get(id)!), labelIds: chosen.ids === 'label', cities: cityCount };
}

/** The classes Cityscapes measures (its train ids 0..18). */
export const CITYSCAPES_CLASSES = 19;

/** Cityscapes' train id of each raw label id 0..33 (cityscapesscripts' labels.py): the 19
 * classes measured, −1 for the ids that count nowhere. */
const TRAIN_ID: readonly number[] = [
  -1, -1, -1, -1, -1, -1, -1, 0, 1, -1, -1, 2, 3, 4, -1, -1, -1, 5, -1, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, -1, -1, 16, 17, 18,
];

/** Raw Cityscapes label ids as train ids: an id that counts nowhere (and the ignore index itself)
 * becomes `ignoreIndex`; `bad(raw, at)` makes the error for any other value, at its index. */
export function cityscapesTrainIds(labels: ArrayLike<number>, ignoreIndex: number, bad: (raw: number, at: number) => Error): Int32Array {
  const out = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const raw = labels[i];
    if (raw === ignoreIndex) out[i] = ignoreIndex;
    else if (Number.isInteger(raw) && raw >= 0 && raw < TRAIN_ID.length) out[i] = TRAIN_ID[raw] < 0 ? ignoreIndex : TRAIN_ID[raw];
    else throw bad(raw, i);
  }
  return out;
}
