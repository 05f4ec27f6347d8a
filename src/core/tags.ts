/**
 * The endpoint's cell tags, as pure functions over a list of cells.
 *
 * The rules mirror the server's (notebook_restified/spec.py): at most one
 * `parameters` cell and one `return` cell; a cell is at most one of
 * parameters / skip / return; only code cells count; the return cell does not
 * come before the parameters cell.
 */

export const TAG_PARAMETERS = 'parameters';
export const TAG_SKIP = 'skip';
export const TAG_RETURN = 'return';

/**
 * A tag the endpoint reads.
 */
export type EndpointTag = 'parameters' | 'skip' | 'return';

/**
 * In the order the panel shows them.
 */
export const ENDPOINT_TAGS: readonly EndpointTag[] = [
  TAG_PARAMETERS,
  TAG_SKIP,
  TAG_RETURN
];

/**
 * Tags that only one cell of a notebook may carry.
 */
export const EXCLUSIVE_TAGS: readonly EndpointTag[] = [
  TAG_PARAMETERS,
  TAG_RETURN
];

/**
 * What each tag means, in the words the panel and the commands use.
 */
export const TAG_INFO: Record<
  EndpointTag,
  { label: string; title: string; description: string }
> = {
  parameters: {
    label: 'Parameters',
    title: 'Parameters cell',
    description:
      "Inputs: this cell's assignments (n = 10  # help) become the endpoint's parameters and their defaults."
  },
  skip: {
    label: 'Skip',
    title: 'Skipped cell',
    description:
      'Not run by the endpoint (plots, prints, exploration); still runs in the notebook.'
  },
  return: {
    label: 'Return',
    title: 'Return cell',
    description:
      "Result: the value of this cell's last expression is the endpoint's answer. Cells after it do not run."
  }
};

/**
 * What the tag logic needs to know of a cell.
 */
export interface ICellTags {
  /** `code`, `markdown` or `raw`. */
  readonly type: string;
  readonly tags: readonly string[];
}

/**
 * A cell's `metadata.tags`, made a list of strings whatever was stored.
 */
export function readTags(value: unknown): string[] {
  if (!Array.isArray(value)) {
    return [];
  }
  return value.filter((tag): tag is string => typeof tag === 'string');
}

/**
 * The endpoint tags a cell carries, in panel order.
 */
export function endpointTags(tags: readonly string[]): EndpointTag[] {
  return ENDPOINT_TAGS.filter(tag => tags.includes(tag));
}

/**
 * A problem the server would refuse (or ignore), with the cells at fault.
 */
export interface ITagProblem {
  message: string;
  cells: number[];
  /** `error`: the spec is refused (409); `warning`: the tag is ignored. */
  severity: 'error' | 'warning';
}

/**
 * Where the endpoint's tags are in a notebook.
 */
export interface ITagSummary {
  /** Code cells tagged `parameters` (valid: at most one). */
  parameters: number[];
  /** Code cells tagged `skip`. */
  skip: number[];
  /** Code cells tagged `return` (valid: at most one). */
  return: number[];
  /** Non-code cells that carry an endpoint tag, which is ignored. */
  ignored: number[];
  problems: ITagProblem[];
}

/**
 * "cell 3", "cells 3 and 5", "cells 1, 2 and 4".
 */
export function cellsPhrase(cells: readonly number[]): string {
  if (cells.length === 1) {
    return `cell ${cells[0]}`;
  }
  const head = cells.slice(0, -1).join(', ');
  return `cells ${head} and ${cells[cells.length - 1]}`;
}

/**
 * The cell indices a server message mentions ("Cell 4 ...", "cells 1 and 3"),
 * sorted: `cellsPhrase` read back, for links to the cells.
 */
export function cellsInMessage(message: string): number[] {
  const found = new Set<number>();
  const pattern = /\b[Cc]ells?\s+((?:\(?\d+\)?(?:,\s*|\s+and\s+)?)+)/g;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(message)) !== null) {
    for (const number of match[1].match(/\d+/g) ?? []) {
      found.add(parseInt(number, 10));
    }
  }
  return [...found].sort((a, b) => a - b);
}

/**
 * Summarize the endpoint's tags over a notebook's cells.
 */
export function summarizeTags(cells: readonly ICellTags[]): ITagSummary {
  const summary: ITagSummary = {
    parameters: [],
    skip: [],
    return: [],
    ignored: [],
    problems: []
  };
  cells.forEach((cell, index) => {
    const ours = endpointTags(cell.tags);
    if (ours.length === 0) {
      return;
    }
    if (cell.type !== 'code') {
      summary.ignored.push(index);
      summary.problems.push({
        message: `Cell ${index} is a ${cell.type} cell: its tag '${ours.join("', '")}' is ignored, only code cells run.`,
        cells: [index],
        severity: 'warning'
      });
      return;
    }
    for (const tag of ours) {
      summary[tag].push(index);
    }
    if (ours.length > 1) {
      summary.problems.push({
        message: `Cell ${index} is tagged both '${ours.join("' and '")}'; a cell can be only one of them.`,
        cells: [index],
        severity: 'error'
      });
    }
  });
  for (const tag of EXCLUSIVE_TAGS) {
    const found = summary[tag];
    if (found.length > 1) {
      summary.problems.push({
        message: `${capitalize(cellsPhrase(found))} are all tagged '${tag}'; a notebook may have only one.`,
        cells: [...found],
        severity: 'error'
      });
    }
  }
  const [parameters] = summary.parameters;
  const [result] = summary.return;
  if (
    parameters !== undefined &&
    result !== undefined &&
    summary.parameters.length === 1 &&
    summary.return.length === 1 &&
    result < parameters
  ) {
    summary.problems.push({
      message: `The return cell (${result}) comes before the parameters cell (${parameters}), so the result could not depend on the parameters.`,
      cells: [result, parameters],
      severity: 'error'
    });
  }
  return summary;
}

/**
 * A new tag list for one cell.
 */
export interface ITagEdit {
  index: number;
  tags: string[];
}

/**
 * What toggling a tag on a cell does to the notebook.
 */
export interface ITagPlan {
  tag: EndpointTag;
  /** The cell the tag was toggled on. */
  index: number;
  /** Whether the cell now carries the tag (false: it was removed). */
  added: boolean;
  /** The cells whose tags change, with their new tag lists. */
  edits: ITagEdit[];
  /** Other cells that lost the (exclusive) tag: it moved from them. */
  movedFrom: number[];
  /** The endpoint tags the cell itself lost (a cell is only one of them). */
  replaced: EndpointTag[];
}

/**
 * Plan toggling `tag` on cell `index`.
 *
 * Adding `parameters` or `return` removes it from every other cell (the tag
 * moves); adding any endpoint tag removes the cell's other endpoint tags.
 * Tags that are not the endpoint's are kept, in their order.
 *
 * @param force `true` to add (no-op if present), `false` to remove,
 *   undefined to toggle.
 */
export function planToggle(
  cells: readonly ICellTags[],
  index: number,
  tag: EndpointTag,
  force?: boolean
): ITagPlan {
  if (index < 0 || index >= cells.length) {
    throw new RangeError(
      `No cell ${index} (the notebook has ${cells.length}).`
    );
  }
  const current = cells[index].tags;
  const has = current.includes(tag);
  const add = force ?? !has;
  const plan: ITagPlan = {
    tag,
    index,
    added: add,
    edits: [],
    movedFrom: [],
    replaced: []
  };
  if (!add) {
    if (has) {
      plan.edits.push({ index, tags: current.filter(t => t !== tag) });
    }
    return plan;
  }
  plan.replaced = endpointTags(current).filter(t => t !== tag);
  const next = current.filter(t => !plan.replaced.includes(t as EndpointTag));
  if (!has) {
    next.push(tag);
  }
  if (!has || plan.replaced.length > 0) {
    plan.edits.push({ index, tags: next });
  }
  if (EXCLUSIVE_TAGS.includes(tag)) {
    cells.forEach((cell, other) => {
      if (other !== index && cell.tags.includes(tag)) {
        plan.movedFrom.push(other);
        plan.edits.push({
          index: other,
          tags: cell.tags.filter(t => t !== tag)
        });
      }
    });
  }
  return plan;
}

/**
 * One sentence for what a plan did, or null when there is nothing to say
 * beyond the toggle itself (a plain add or remove).
 */
export function describePlan(plan: ITagPlan): string | null {
  const parts: string[] = [];
  if (plan.movedFrom.length > 0) {
    parts.push(
      `Moved the '${plan.tag}' tag from ${cellsPhrase(plan.movedFrom)} to cell ${plan.index}: a notebook has only one ${TAG_INFO[plan.tag].title.toLowerCase()}.`
    );
  }
  if (plan.replaced.length > 0) {
    parts.push(
      `Cell ${plan.index} is no longer '${plan.replaced.join("' or '")}': a cell is only one of parameters, skip or return.`
    );
  }
  return parts.length > 0 ? parts.join(' ') : null;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * Where the saved endpoint's tags are (the spec's fields).
 */
export interface ISavedTags {
  parameters_cell: number | null;
  return_cell: number | null;
  skip_cells: readonly number[];
}

/**
 * What saving would change of the endpoint's tags, one sentence per tag that
 * changes: what the saved endpoint does, and what the unsaved tags will make
 * of it. Empty when the tags are the saved ones.
 */
export function unsavedTagChanges(
  saved: ISavedTags,
  live: ITagSummary
): string[] {
  const error = live.problems.find(problem => problem.severity === 'error');
  if (error) {
    return [`After saving, the tags make no endpoint: ${error.message}`];
  }
  const lines: string[] = [];
  const liveInputs = live.parameters[0] ?? null;
  if (liveInputs !== saved.parameters_cell) {
    const before =
      saved.parameters_cell === null
        ? 'the saved endpoint takes none'
        : `the saved endpoint reads them from cell ${saved.parameters_cell}`;
    const after =
      liveInputs === null ? 'it will take none' : `from cell ${liveInputs}`;
    lines.push(`Inputs: ${before}; after saving, ${after}.`);
  }
  const liveResult = live.return[0] ?? null;
  if (liveResult !== saved.return_cell) {
    const before =
      saved.return_cell === null
        ? 'the saved endpoint answers null (no return cell)'
        : `the saved endpoint answers cell ${saved.return_cell}'s value`;
    const after =
      liveResult === null
        ? 'null (no return cell)'
        : `cell ${liveResult}'s value`;
    lines.push(`Result: ${before}; after saving, ${after}.`);
  }
  const savedSkip = [...saved.skip_cells].sort((a, b) => a - b);
  if (savedSkip.join() !== live.skip.join()) {
    const phrase = (cells: readonly number[]) =>
      cells.length > 0 ? cellsPhrase(cells) : 'none';
    lines.push(
      `Skipped: ${phrase(savedSkip)} in the saved endpoint; after saving, ${phrase(live.skip)}.`
    );
  }
  return lines;
}
