// A segmentation set laid out as Pascal VOC's, for `mpcc eval --data IMAGES --labels MASKS
// [--split LIST]`: the images (PNG or JPEG) directly in IMAGES, each one's label map MASKS/<id>.png
// (compiler/calibration/images.ts decodeLabelPng reads it). The set's ids are the lines of the
// split file (VOC's ImageSets/Segmentation/val.txt) in its order, or without one every label map's
// name without .png, sorted by code point. An image without a label map is not part of the set
// (VOC's JPEGImages holds the detection images too), but every id needs exactly one image
// <id>.jpg, .jpeg or .png (any case) and, from a split file, its label map: MPCC3015 naming the id
// otherwise. A label folder of city folders is Cityscapes' layout (cityscapes-folder.ts). This
// file lists; compiler/eval-images.ts decodes batch by batch.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { diag } from '../../runtime/diagnostics.js';
import { byName, entries, isFile } from './image-folder.js';
import { imageKind } from './images.js';
import { isCityscapesLayout, listCityscapesFolder } from './cityscapes-folder.js';

/** The images of a segmentation set and their label maps, id by id. */
export interface SegmentationListing {
  readonly ids: readonly string[];
  /** Image and label map paths (folders joined), one per id. */
  readonly images: readonly string[];
  readonly masks: readonly string[];
  /** Cityscapes' layout: its city folders, and whether the maps hold raw label ids (mapped to
   * train ids: cityscapesTrainIds) rather than train ids. */
  readonly cityscapes?: { readonly cities: number; readonly labelIds: boolean };
}

/** The names of the files directly in `dir` (symbolic links to files included; MPCC0002 when it
 * cannot be read). */
const filesIn = (dir: string) => entries(dir).filter((e) => isFile(dir, e)).map((e) => e.name);

/** The name without its extension. */
const stem = (name: string) => (name.lastIndexOf('.') > 0 ? name.slice(0, name.lastIndexOf('.')) : name);

/** The ids of split file `split`: one per non-empty line, surrounding spaces dropped. */
function splitIds(split: string): string[] {
  let text: string;
  try {
    text = readFileSync(split, 'utf8');
  } catch (err) {
    throw diag('MPCC0002', [split, (err as NodeJS.ErrnoException).code ?? (err as Error).message]);
  }
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
}

/** MPCC3015 for a split file listing no id, or an id twice. */
function checkSplit(ids: readonly string[], split: string, fail: (why: string) => Error): void {
  if (ids.length === 0) throw fail(`split file '${split}' lists no id`);
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) throw fail(`split file '${split}' lists id '${id}' twice`);
    seen.add(id);
  }
}

/** Lists the segmentation set of images `imagesDir` and label maps `masksDir`, restricted to and
 * ordered by split file `split` when given. */
export function listSegmentationFolder(imagesDir: string, masksDir: string, split?: string): SegmentationListing {
  const fail = (why: string) => diag('MPCC3015', [imagesDir, masksDir, why]);
  if (isCityscapesLayout(masksDir)) {
    const ids = split === undefined ? undefined : splitIds(split);
    if (ids !== undefined) checkSplit(ids, split!, fail);
    const c = listCityscapesFolder(imagesDir, masksDir, ids, fail);
    return { ids: c.ids, images: c.images, masks: c.masks, cityscapes: { cities: c.cities, labelIds: c.labelIds } };
  }
  const masks = new Map<string, string>();
  for (const name of filesIn(masksDir)) if (name.toLowerCase().endsWith('.png')) masks.set(stem(name), name);
  const images = new Map<string, string>();
  for (const name of filesIn(imagesDir)) {
    if (!imageKind(name)) continue;
    const id = stem(name);
    if (images.has(id)) throw fail(`id '${id}' has two images, '${images.get(id)}' and '${name}'`);
    images.set(id, name);
  }
  const ids = split === undefined ? [...masks.keys()].sort(byName) : splitIds(split);
  if (ids.length === 0 && split === undefined) throw fail("the label map folder holds no .png file (nor Cityscapes' city folders of <id>_gtFine_labelTrainIds.png or <id>_gtFine_labelIds.png)");
  if (split !== undefined) checkSplit(ids, split, fail);
  for (const id of ids) {
    if (!masks.has(id)) throw fail(`id '${id}'${split === undefined ? '' : ` of split file '${split}'`} has no label map '${id}.png'`);
    if (!images.has(id)) throw fail(`id '${id}'${split === undefined ? '' : ` of split file '${split}'`} has no image '${id}.jpg', '.jpeg' or '.png'`);
  }
  return { ids, images: ids.map((id) => join(imagesDir, images.get(id)!)), masks: ids.map((id) => join(masksDir, masks.get(id)!)) };
}
