/**
 * The followed notebook's cells as the endpoint sees them, live: their types
 * and tags (unsaved edits included), the active cell, and whether unsaved
 * changes would change the endpoint.
 */
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ISignal, Signal } from '@lumino/signaling';

import {
  endpointFingerprint,
  notebookCellTags,
  notebookSpecContent
} from '../actions';
import { specKey } from '../core/specContent';
import { ICellTags, ITagSummary, summarizeTags } from '../core/tags';

/**
 * What a notebook's endpoint runs, as last loaded or saved (or being saved).
 */
interface ISavedSnapshot {
  /** `endpointFingerprint`: every cell's type, source and tags, the kernel. */
  fingerprint: string;
  /** `specKey` of the part its spec reads. */
  specKey: string;
}

/**
 * The live tags of the notebook it is told to follow.
 */
export class NotebookTags {
  constructor(private readonly _tracker: INotebookTracker) {
    _tracker.activeCellChanged.connect(this._onActiveCellChanged, this);
    _tracker.widgetAdded.connect(this._onWidgetAdded, this);
    _tracker.forEach(panel => this._trackSaved(panel));
  }

  /**
   * Emitted when the cells' tags, the active cell or `dirty` change.
   */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Every cell's type and tags, live (unsaved edits included). */
  get cells(): readonly ICellTags[] {
    return this._cells;
  }

  /** Where the endpoint tags are, live. */
  get summary(): ITagSummary {
    return this._summary;
  }

  /** The active cell's index, -1 if none. */
  get activeCellIndex(): number {
    return this._activeIndex;
  }

  /** The active cell's type and tags. */
  get activeCell(): ICellTags | null {
    return this._cells[this._activeIndex] ?? null;
  }

  /**
   * Whether the notebook has unsaved changes that change its endpoint (cells,
   * tags, kernel): the endpoint runs the saved file. Other unsaved changes
   * (outputs, the kernel's language_info) do not count.
   */
  get dirty(): boolean {
    const panel = this._panel;
    if (!panel?.model?.dirty) {
      return false;
    }
    const pending = this._pending.get(panel);
    if (pending && pending.edits === this._edits) {
      // Being saved, and not edited since the save started.
      return false;
    }
    const saved = this._saved.get(panel);
    return saved === undefined || this._liveFingerprint !== saved.fingerprint;
  }

  /**
   * The `specKey` of what `panel`'s endpoint runs: of the notebook as last
   * loaded or saved, or as being saved; null before it is loaded.
   */
  savedSpecKey(panel: NotebookPanel): string | null {
    return (
      this._pending.get(panel)?.specKey ??
      this._saved.get(panel)?.specKey ??
      null
    );
  }

  /**
   * `panel` is being saved (its model now is what the file will hold): from
   * now on its endpoint runs this, and nothing is unsaved but later edits.
   */
  saving(panel: NotebookPanel, specKey: string): void {
    // Nothing read here (a long notebook's every source is read once the
    // file is written): the edits counted since are what is unsaved.
    this._pending.set(panel, {
      specKey,
      edits: panel === this._panel ? this._edits : -1
    });
    if (panel === this._panel) {
      this._changed.emit();
    }
  }

  /**
   * The save `saving` announced failed: the file is as it was.
   */
  saveFailed(panel: NotebookPanel): void {
    this._pending.delete(panel);
    if (panel === this._panel) {
      this.read();
      this._changed.emit();
    }
  }

  /**
   * Follow `panel`'s cells (null: no notebook).
   */
  follow(panel: NotebookPanel | null): void {
    const old = this._panel;
    if (old) {
      old.context.fileChanged.disconnect(this._onFileChanged, this);
      old.content.modelContentChanged.disconnect(this._scheduleRead, this);
      old.model?.stateChanged.disconnect(this._onStateChanged, this);
    }
    this._panel = panel;
    if (panel) {
      panel.context.fileChanged.connect(this._onFileChanged, this);
      panel.content.modelContentChanged.connect(this._scheduleRead, this);
      panel.model?.stateChanged.connect(this._onStateChanged, this);
    }
    this._liveFingerprint = null;
    this.read();
    this._onActiveCellChanged();
    this._changed.emit();
  }

  /**
   * Read every cell's type and tags again; emits only if something changed.
   */
  read(): void {
    this._read(true);
  }

  /**
   * Read the cells' tags; and whether unsaved changes change the endpoint:
   * now, or (while typing) at most every `DIRTY_DELAY_MS`, since that reads
   * every cell's source.
   */
  private _read(dirtyNow: boolean): void {
    const panel = this._panel;
    const cells = panel ? notebookCellTags(panel.content) : [];
    const index = panel ? panel.content.activeCellIndex : -1;
    const key = JSON.stringify(cells);
    const wasDirty = this.dirty;
    if (this._dirtyTimer !== null && dirtyNow) {
      clearTimeout(this._dirtyTimer);
      this._dirtyTimer = null;
    }
    if (panel?.model?.dirty !== true) {
      this._liveFingerprint = null;
    } else if (dirtyNow) {
      this._liveFingerprint = endpointFingerprint(panel.content);
    } else if (this._dirtyTimer === null) {
      this._dirtyTimer = setTimeout(() => {
        this._dirtyTimer = null;
        if (this._panel === panel) {
          this.read();
        }
      }, DIRTY_DELAY_MS);
    }
    if (
      key === this._cellsKey &&
      index === this._activeIndex &&
      wasDirty === this.dirty
    ) {
      return;
    }
    this._cellsKey = key;
    this._cells = cells;
    this._summary = summarizeTags(cells);
    this._activeIndex = index;
    this._changed.emit();
  }

  dispose(): void {
    this._tracker.activeCellChanged.disconnect(this._onActiveCellChanged, this);
    this._tracker.widgetAdded.disconnect(this._onWidgetAdded, this);
    this.follow(null);
    Signal.clearData(this);
  }

  private _onWidgetAdded(_: unknown, panel: NotebookPanel): void {
    this._trackSaved(panel);
  }

  /**
   * Remember each notebook as loaded and as saved: what its endpoint runs.
   */
  private _trackSaved(panel: NotebookPanel): void {
    void panel.context.ready.then(() => this._snapshot(panel));
    panel.context.fileChanged.connect(() => this._snapshot(panel));
  }

  private _snapshot(panel: NotebookPanel): void {
    if (panel.isDisposed) {
      return;
    }
    // A save announced by `saving`, with no edit since, wrote the content
    // whose key it was given.
    const pending = this._pending.get(panel);
    this._pending.delete(panel);
    const unchanged =
      pending !== undefined &&
      panel === this._panel &&
      pending.edits === this._edits;
    this._saved.set(panel, {
      fingerprint: endpointFingerprint(panel.content),
      specKey: unchanged
        ? pending.specKey
        : specKey(notebookSpecContent(panel.content))
    });
  }

  /** After a save (or a revert): the endpoint now runs the new file. */
  private _onFileChanged(): void {
    // (`_trackSaved`, connected first, took the snapshot.)
    this.read();
    this._changed.emit();
  }

  private _onStateChanged(
    _: unknown,
    change: { name: string; oldValue?: unknown; newValue?: unknown }
  ): void {
    if (change.name === 'dirty') {
      this.read();
      this._changed.emit();
    }
  }

  private _onActiveCellChanged(): void {
    const panel = this._panel;
    const index = panel ? panel.content.activeCellIndex : -1;
    if (index !== this._activeIndex) {
      this._activeIndex = index;
      this._changed.emit();
    }
  }

  /** Reading every cell's tags on each keystroke would be wasteful: coalesce. */
  private _scheduleRead(): void {
    this._edits++;
    if (this._frame === null) {
      this._frame = requestAnimationFrame(() => {
        this._frame = null;
        this._read(false);
      });
    }
  }

  private _changed = new Signal<this, void>(this);
  private _dirtyTimer: ReturnType<typeof setTimeout> | null = null;
  private _panel: NotebookPanel | null = null;
  private _activeIndex = -1;
  private _cells: ICellTags[] = [];
  private _cellsKey = '';
  private _frame: number | null = null;
  private _saved = new WeakMap<NotebookPanel, ISavedSnapshot>();
  /** Saves under way: the content's key, and `_edits` when they started. */
  private _pending = new WeakMap<
    NotebookPanel,
    { specKey: string; edits: number }
  >();
  /** Content changes of the followed notebook, counted. */
  private _edits = 0;
  private _liveFingerprint: string | null = null;
  private _summary: ITagSummary = summarizeTags([]);
}

/**
 * While typing, how often at most every source is compared with the saved
 * notebook's.
 */
const DIRTY_DELAY_MS = 250;
