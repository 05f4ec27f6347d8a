/**
 * Badges on tagged cells: a CSS class per endpoint tag on each cell's node,
 * kept in sync with the cells' metadata (style/base.css draws the badge in
 * the cell's prompt area).
 */
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';

import { notebookCellTags } from './actions';
import { ENDPOINT_TAGS, endpointTags, summarizeTags } from './core/tags';

/**
 * The class a cell carries for each endpoint tag.
 */
export const BADGE_CLASS = {
  parameters: 'jp-RestifiedCell-parameters',
  skip: 'jp-RestifiedCell-skip',
  return: 'jp-RestifiedCell-return'
} as const;

/**
 * On a cell whose endpoint tag is ignored (not a code cell) or wrong.
 */
export const BADGE_PROBLEM_CLASS = 'jp-RestifiedCell-problem';

/**
 * Keeps the badges of one notebook in sync; disposed with the notebook.
 */
class NotebookBadges {
  constructor(private readonly _panel: NotebookPanel) {
    _panel.content.modelChanged.connect(this._onModelChanged, this);
    _panel.disposed.connect(this.dispose, this);
    this._onModelChanged();
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._connect(null);
    this._panel.content.modelChanged.disconnect(this._onModelChanged, this);
    if (this._frame !== null) {
      cancelAnimationFrame(this._frame);
    }
  }

  private _onModelChanged(): void {
    this._connect(this._panel.content.model);
    this._schedule();
  }

  private _connect(model: NotebookPanel['content']['model']): void {
    if (this._model) {
      this._model.contentChanged.disconnect(this._schedule, this);
    }
    this._model = model;
    if (model) {
      model.contentChanged.connect(this._schedule, this);
    }
  }

  /**
   * Coalesce bursts of changes (typing, a moved tag) into one update.
   */
  private _schedule(): void {
    if (this._frame === null && !this._isDisposed) {
      this._frame = requestAnimationFrame(() => {
        this._frame = null;
        this._update();
      });
    }
  }

  private _update(): void {
    const notebook = this._panel.content;
    const cells = notebookCellTags(notebook);
    const summary = summarizeTags(cells);
    const wrong = new Set(summary.problems.flatMap(problem => problem.cells));
    notebook.widgets.forEach((widget, index) => {
      const tags = cells[index] ? endpointTags(cells[index].tags) : [];
      for (const tag of ENDPOINT_TAGS) {
        widget.toggleClass(BADGE_CLASS[tag], tags.includes(tag));
      }
      widget.toggleClass(BADGE_PROBLEM_CLASS, wrong.has(index));
    });
  }

  private _model: NotebookPanel['content']['model'] = null;
  private _frame: number | null = null;
  private _isDisposed = false;
}

/**
 * Badge every notebook the tracker knows, now and as they open.
 */
export function trackBadges(tracker: INotebookTracker): void {
  tracker.forEach(panel => new NotebookBadges(panel));
  tracker.widgetAdded.connect((_, panel) => new NotebookBadges(panel));
}
