/**
 * Which notebook the panel follows: the tracker's current one.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ISignal, Signal } from '@lumino/signaling';

import { goToCell } from '../actions';

/**
 * What changed: another notebook (or none) is followed, or the followed
 * notebook was renamed or moved.
 */
export type NotebookChange = 'notebook' | 'path';

/**
 * Follows the tracker's current notebook and its path.
 */
export class ActiveNotebook {
  constructor(
    private readonly _tracker: INotebookTracker,
    private readonly _shell: JupyterFrontEnd.IShell
  ) {
    _tracker.currentChanged.connect(this._onCurrentChanged, this);
    this._onCurrentChanged();
  }

  /**
   * Emitted when another notebook is followed, or its path changes.
   */
  get changed(): ISignal<this, NotebookChange> {
    return this._changed;
  }

  /** The notebook followed, if any. */
  get panel(): NotebookPanel | null {
    return this._panel;
  }

  /** Its path, as in `/lab/tree/<path>`. */
  get path(): string | null {
    return this._panel?.context.path ?? null;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * Show the notebook, select cell `index` and scroll to it.
   */
  async goToCell(index: number): Promise<boolean> {
    const panel = this._panel;
    if (!panel) {
      return false;
    }
    this._shell.activateById(panel.id);
    return goToCell(panel, index);
  }

  /**
   * The outputs cell `index` shows now (undefined for no such code cell).
   */
  outputsOf(index: number | null): unknown {
    const cells = this._panel?.content.model?.cells;
    if (!cells || index === null || index < 0 || index >= cells.length) {
      return undefined;
    }
    return (cells.get(index).toJSON() as { outputs?: unknown }).outputs;
  }

  /**
   * Save the notebook (the endpoint runs the saved file).
   */
  async save(): Promise<void> {
    await this._panel?.context.save();
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._tracker.currentChanged.disconnect(this._onCurrentChanged, this);
    this._connect(null);
    Signal.clearData(this);
  }

  private _onCurrentChanged(): void {
    const widget = this._tracker.currentWidget;
    const current = widget && !widget.isDisposed ? widget : null;
    if (current === this._panel) {
      return;
    }
    this._connect(current);
    this._changed.emit('notebook');
  }

  private _connect(panel: NotebookPanel | null): void {
    const old = this._panel;
    if (old) {
      old.context.pathChanged.disconnect(this._onPathChanged, this);
      old.disposed.disconnect(this._onDisposed, this);
    }
    this._panel = panel;
    if (panel) {
      panel.context.pathChanged.connect(this._onPathChanged, this);
      panel.disposed.connect(this._onDisposed, this);
    }
  }

  private _onPathChanged(): void {
    this._changed.emit('path');
  }

  private _onDisposed(): void {
    this._connect(null);
    // Say so even if the tracker has no other notebook to make current.
    this._changed.emit('notebook');
    this._onCurrentChanged();
  }

  private _changed = new Signal<this, NotebookChange>(this);
  private _panel: NotebookPanel | null = null;
  private _isDisposed = false;
}
