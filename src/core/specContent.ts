/**
 * What a notebook's endpoint spec is made of, taken from a live notebook:
 * the part of the notebook the server's spec reads (sent to
 * `POST spec/<path>` instead of the whole notebook), and a short key of it,
 * under which the spec is cached.
 *
 * The server's spec reads each cell's type and tags, the kernel (name and
 * language), `metadata.restified`, and the sources of only three kinds of
 * cell: the parameters cell (its declarations), the return cell (whether it
 * ends with an expression) and the code cells after the return cell (whether
 * any would be left out). Every other source is left out: an edit there
 * changes neither the content nor its key.
 */
import { readTags, TAG_PARAMETERS, TAG_RETURN } from './tags';

/**
 * One cell of a live notebook, its source read only when needed.
 */
export interface ISpecSourceCell {
  type: string;
  /** The cell's `metadata.tags`, as stored (not necessarily a list). */
  tags: unknown;
  source(): string;
}

/**
 * A live notebook, as far as its spec goes.
 */
export interface ISpecSource {
  /** The notebook's metadata entry `key`. */
  metadata(key: string): unknown;
  cellCount: number;
  cell(index: number): ISpecSourceCell;
}

/**
 * A cell as sent: `source` only where the spec reads it.
 */
export interface ISpecContentCell {
  cell_type: string;
  /** `tags` as stored: the server reads (and warns about) it as for a file. */
  metadata: { tags?: unknown };
  source?: string;
}

/**
 * The part of a notebook its spec reads, as an nbformat 4 notebook.
 */
export interface ISpecContent {
  nbformat: 4;
  metadata: {
    kernelspec?: { name?: string; language?: string };
    language_info?: { name?: string };
    restified?: unknown;
  };
  cells: ISpecContentCell[];
}

/**
 * The part of `notebook` its spec reads: one pass over the cells' tags, and
 * the sources of the cells the spec reads.
 */
export function specContent(notebook: ISpecSource): ISpecContent {
  const cells: ISpecContentCell[] = [];
  const kinds: string[] = [];
  const stored: unknown[] = [];
  const tagLists: string[][] = [];
  let firstReturn = -1;
  for (let i = 0; i < notebook.cellCount; i++) {
    const cell = notebook.cell(i);
    const tags = readTags(cell.tags);
    kinds.push(cell.type);
    stored.push(cell.tags);
    tagLists.push(tags);
    if (firstReturn < 0 && cell.type === 'code' && tags.includes(TAG_RETURN)) {
      firstReturn = i;
    }
  }
  for (let i = 0; i < kinds.length; i++) {
    const tags = tagLists[i];
    const entry: ISpecContentCell = {
      cell_type: kinds[i],
      metadata: stored[i] !== undefined ? { tags: stored[i] } : {}
    };
    if (
      kinds[i] === 'code' &&
      (tags.includes(TAG_PARAMETERS) ||
        tags.includes(TAG_RETURN) ||
        (firstReturn >= 0 && i > firstReturn))
    ) {
      entry.source = notebook.cell(i).source();
    }
    cells.push(entry);
  }
  const metadata: ISpecContent['metadata'] = {};
  const kernelspec = asObject(notebook.metadata('kernelspec'));
  if (kernelspec) {
    metadata.kernelspec = pickStrings(kernelspec, ['name', 'language']);
  }
  const languageInfo = asObject(notebook.metadata('language_info'));
  if (languageInfo) {
    metadata.language_info = pickStrings(languageInfo, ['name']);
  }
  const restified = notebook.metadata('restified');
  if (restified !== undefined) {
    metadata.restified = restified;
  }
  return { nbformat: 4, metadata, cells };
}

/**
 * A short key of `content` (cyrb53 of its JSON, with its length): equal
 * contents have equal keys, and different ones different keys but by a rare
 * accident.
 */
export function specKey(content: ISpecContent): string {
  const text = JSON.stringify(content);
  return `${hash53(text).toString(36)}-${text.length.toString(36)}`;
}

/**
 * A 53-bit hash of a string (cyrb53: two 32-bit multiply-xorshift lanes).
 */
export function hash53(text: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

function asObject(value: unknown): Record<string, unknown> | null {
  return value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

function pickStrings(
  value: Record<string, unknown>,
  keys: string[]
): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const key of keys) {
    if (typeof value[key] === 'string') {
      picked[key] = value[key] as string;
    }
  }
  return picked;
}
