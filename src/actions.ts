/**
 * Actions on a live notebook: read and change its endpoint tags, go to a cell.
 *
 * Tag changes go through the cell models' metadata inside one transaction of
 * the notebook's shared model, so that one toggle (a moved tag included) is
 * one step of the notebook's undo history (`Z` in command mode, Edit > Undo)
 * and marks the notebook dirty like any other edit.
 */
import { Notebook, NotebookPanel } from '@jupyterlab/notebook';

import { withWarmup } from './core/warmup';
import { ISpecContent, specContent } from './core/specContent';
import {
  EndpointTag,
  ICellTags,
  ITagPlan,
  planToggle,
  readTags
} from './core/tags';

/**
 * The endpoint-relevant facts of every cell of a notebook, in order.
 */
export function notebookCellTags(notebook: Notebook): ICellTags[] {
  const cells = notebook.model?.cells;
  if (!cells) {
    return [];
  }
  const result: ICellTags[] = [];
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    result.push({ type: cell.type, tags: readTags(cell.getMetadata('tags')) });
  }
  return result;
}

/**
 * What the endpoint depends on in a notebook, as one string: the kernel and
 * every cell's type, source and tags (not outputs, not other metadata).
 * Equal fingerprints run the same endpoint.
 */
export function endpointFingerprint(notebook: Notebook): string {
  const model = notebook.model;
  if (!model) {
    return '';
  }
  const kernelspec = model.getMetadata('kernelspec') as
    { name?: unknown } | undefined;
  const cells: [string, string, string[]][] = [];
  for (let i = 0; i < model.cells.length; i++) {
    const cell = model.cells.get(i);
    cells.push([
      cell.type,
      cell.sharedModel.getSource(),
      readTags(cell.getMetadata('tags'))
    ]);
  }
  return JSON.stringify([kernelspec?.name ?? null, cells]);
}

/**
 * The part of a live notebook its endpoint spec reads (see `specContent`).
 */
export function notebookSpecContent(notebook: Notebook): ISpecContent {
  const model = notebook.model;
  if (!model) {
    return { nbformat: 4, metadata: {}, cells: [] };
  }
  return specContent({
    metadata: key => model.getMetadata(key),
    cellCount: model.cells.length,
    cell: index => {
      const cell = model.cells.get(index);
      return {
        type: cell.type,
        tags: cell.getMetadata('tags'),
        source: () => cell.sharedModel.getSource()
      };
    }
  });
}

/**
 * A tag change that was made, with what to put back to revert it.
 */
export interface IAppliedTagChange {
  plan: ITagPlan;
  /** The tags the changed cells had before, by cell id. */
  before: { id: string; tags: string[] }[];
}

/**
 * Toggle `tag` on a cell of the notebook (the active cell by default).
 *
 * @returns what was done, or null when there is no such cell.
 */
export function toggleTag(
  panel: NotebookPanel,
  tag: EndpointTag,
  options: { index?: number; force?: boolean } = {}
): IAppliedTagChange | null {
  const notebook = panel.content;
  const model = notebook.model;
  const index = options.index ?? notebook.activeCellIndex;
  if (!model || index < 0 || index >= model.cells.length) {
    return null;
  }
  const plan = planToggle(
    notebookCellTags(notebook),
    index,
    tag,
    options.force
  );
  const before = plan.edits.map(edit => {
    const cell = model.cells.get(edit.index);
    return { id: cell.id, tags: readTags(cell.getMetadata('tags')) };
  });
  setTags(
    panel,
    plan.edits.map(edit => ({
      id: model.cells.get(edit.index).id,
      tags: edit.tags
    }))
  );
  return { plan, before };
}

/**
 * Put the tags back as they were before `change` (itself one undoable edit).
 */
export function revertTagChange(
  panel: NotebookPanel,
  change: IAppliedTagChange
): void {
  setTags(panel, change.before);
}

/**
 * Set the tags of cells (found by id) in one undoable transaction; an empty
 * list removes the `tags` metadata.
 */
function setTags(
  panel: NotebookPanel,
  edits: { id: string; tags: string[] }[]
): void {
  const model = panel.content.model;
  if (!model || edits.length === 0) {
    return;
  }
  const byId = new Map(edits.map(edit => [edit.id, edit.tags]));
  // YNotebook's undo manager (not on the ISharedNotebook interface).
  const { undoManager } = model.sharedModel as {
    undoManager?: { stopCapturing(): void } | null;
  };
  // One toggle, one undo step: do not merge with an edit made just before.
  undoManager?.stopCapturing();
  model.sharedModel.transact(() => {
    for (let i = 0; i < model.cells.length; i++) {
      const cell = model.cells.get(i);
      const tags = byId.get(cell.id);
      if (tags === undefined) {
        continue;
      }
      if (tags.length > 0) {
        cell.setMetadata('tags', tags);
      } else {
        cell.deleteMetadata('tags');
      }
    }
  });
  undoManager?.stopCapturing();
}

/**
 * The notebook's `restified` metadata (undefined when it has none).
 */
export function notebookRestifiedMetadata(
  panel: NotebookPanel | null
): unknown {
  return panel?.content.model?.getMetadata('restified');
}

/**
 * Write `metadata.restified.warmup` (true: the body runs once with the
 * defaults after setup; false: no warm-up), keeping the other `restified`
 * keys, in one transaction: one change (that marks the notebook dirty), one
 * step for any undo manager whose scope holds the notebook's metadata.
 * JupyterLab's own notebook undo covers cells only, not notebook metadata:
 * the switch itself turns it back.
 */
export function setWarmup(panel: NotebookPanel, on: boolean): void {
  const model = panel.content.model;
  if (!model) {
    return;
  }
  const { undoManager } = model.sharedModel as {
    undoManager?: { stopCapturing(): void } | null;
  };
  undoManager?.stopCapturing();
  model.sharedModel.transact(() => {
    model.setMetadata(
      'restified',
      withWarmup(model.getMetadata('restified'), on)
    );
  });
  undoManager?.stopCapturing();
}

/**
 * Select cell `index` (only it), scroll it into view, and put the focus on
 * the notebook in command mode.
 */
export async function goToCell(
  panel: NotebookPanel,
  index: number
): Promise<boolean> {
  const notebook = panel.content;
  if (index < 0 || index >= notebook.widgets.length) {
    return false;
  }
  notebook.mode = 'command';
  notebook.deselectAll();
  notebook.activeCellIndex = index;
  notebook.node.focus();
  // Lab 4 renders a long notebook's cells into the page a batch at a time,
  // when idle: a cell far down may not be there yet, and the notebook's own
  // scroll gives up on it after 10 s. Wait for it (unless another cell is
  // chosen meanwhile), then scroll through the notebook's API, by index.
  if (!(await cellInPage(notebook, index))) {
    return notebook.activeCellIndex === index;
  }
  try {
    await notebook.scrollToItem(index, 'center');
  } catch {
    // A newer scroll (another click) took over.
  }
  return true;
}

/**
 * How long to wait for the notebook to put a cell into the page.
 */
const CELL_RENDER_TIMEOUT_MS = 120_000;

/**
 * Wait until cell `index` is in the page, while it stays the active cell.
 */
async function cellInPage(notebook: Notebook, index: number): Promise<boolean> {
  const started = performance.now();
  for (;;) {
    const cell = notebook.widgets[index];
    if (notebook.isDisposed || !cell || notebook.activeCellIndex !== index) {
      return false;
    }
    if (cell.node.isConnected) {
      return true;
    }
    if (performance.now() - started > CELL_RENDER_TIMEOUT_MS) {
      return false;
    }
    await new Promise(resolve => setTimeout(resolve, 50));
  }
}
