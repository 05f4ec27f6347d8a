/**
 * The state behind the panel: the active notebook, its live tags, its saved
 * endpoint's spec, its keys, and the server's status.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { URLExt } from '@jupyterlab/coreutils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ISignal, Signal } from '@lumino/signaling';

import { endpointFingerprint, goToCell, notebookCellTags } from './actions';
import { endpointUrl, requestAPI, RestifiedRequestError } from './request';
import { ICellTags, ITagSummary, summarizeTags } from './tags';
import {
  ICreatedEndpointKey,
  ICreateEndpointKey,
  IEndpointKey,
  IEndpointKeyList,
  IEndpointSpec,
  IServerStatus
} from './tokens';

/**
 * Why there is no spec: the server's error, condensed.
 */
export interface ISpecError {
  /** HTTP status, 0 when the server could not be reached. */
  status: number;
  type: string;
  message: string;
  /** For `invalid_notebook`: the cells at fault. */
  cells: number[];
}

/**
 * The state of a fetch.
 */
export type LoadState = 'idle' | 'loading' | 'ready' | 'error';

/**
 * Follows the tracker's current notebook and its active cell.
 */
export class EndpointModel {
  constructor(
    private readonly _tracker: INotebookTracker,
    private readonly _shell: JupyterFrontEnd.IShell
  ) {
    _tracker.currentChanged.connect(this._onCurrentChanged, this);
    _tracker.activeCellChanged.connect(this._onActiveCellChanged, this);
    _tracker.widgetAdded.connect((_, panel) => this._trackSaved(panel));
    _tracker.forEach(panel => this._trackSaved(panel));
    this._onCurrentChanged();
  }

  /**
   * Emitted whenever anything the panel shows changes.
   */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The notebook the panel follows, if any. */
  get notebook(): NotebookPanel | null {
    return this._notebook;
  }

  /** Its path, as in `/lab/tree/<path>`. */
  get path(): string | null {
    return this._notebook?.context.path ?? null;
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
    const panel = this._notebook;
    if (!panel?.model?.dirty) {
      return false;
    }
    const saved = this._saved.get(panel);
    return saved === undefined || this._liveFingerprint !== saved;
  }

  /** The saved notebook's spec; kept while a new one loads. */
  get spec(): IEndpointSpec | null {
    return this._spec;
  }

  get specState(): LoadState {
    return this._specState;
  }

  get specError(): ISpecError | null {
    return this._specError;
  }

  /** The endpoint's full URL: the server's word for it, else built here. */
  get url(): string | null {
    const path = this.path;
    if (!path) {
      return null;
    }
    return this._spec?.path === path ? this._spec.url : endpointUrl(path);
  }

  /** This notebook's keys (without secrets). */
  get keys(): readonly IEndpointKey[] | null {
    return this._keys;
  }

  get keysState(): LoadState {
    return this._keysState;
  }

  get keysError(): string | null {
    return this._keysError;
  }

  get status(): IServerStatus | null {
    return this._status;
  }

  get statusError(): string | null {
    return this._statusError;
  }

  /**
   * Fetch the saved notebook's spec again.
   */
  async refreshSpec(): Promise<void> {
    const path = this.path;
    const request = ++this._specRequest;
    if (!path) {
      this._spec = null;
      this._specError = null;
      this._specState = 'idle';
      this._emit();
      return;
    }
    this._specState = 'loading';
    this._emit();
    try {
      const spec = await requestAPI<IEndpointSpec>(
        `spec/${URLExt.encodeParts(path)}`
      );
      if (request !== this._specRequest) {
        return;
      }
      this._spec = spec;
      this._specError = null;
      this._specState = 'ready';
    } catch (error) {
      if (request !== this._specRequest) {
        return;
      }
      this._spec = null;
      this._specError = toSpecError(error);
      this._specState = 'error';
    }
    this._emit();
  }

  /**
   * Fetch this notebook's keys again.
   */
  async refreshKeys(): Promise<void> {
    const path = this.path;
    const request = ++this._keysRequest;
    if (!path) {
      this._keys = null;
      this._keysError = null;
      this._keysState = 'idle';
      this._emit();
      return;
    }
    this._keysState = 'loading';
    this._emit();
    try {
      const { keys } = await requestAPI<IEndpointKeyList>(
        `keys${URLExt.objectToQueryString({ path })}`
      );
      if (request !== this._keysRequest) {
        return;
      }
      this._keys = keys;
      this._keysError = null;
      this._keysState = 'ready';
    } catch (error) {
      if (request !== this._keysRequest) {
        return;
      }
      this._keysError = (error as Error).message;
      this._keysState = 'error';
    }
    this._emit();
  }

  /**
   * Create a key for this notebook. The answer holds the secret: it is shown
   * once and never stored here.
   */
  async createKey(
    label: string,
    expires: string | null
  ): Promise<ICreatedEndpointKey> {
    const path = this.path;
    if (!path) {
      throw new Error('Open a notebook to share its endpoint.');
    }
    const body: ICreateEndpointKey = { path, label, expires };
    const created = await requestAPI<ICreatedEndpointKey>('keys', {
      method: 'POST',
      body: JSON.stringify(body)
    });
    void this.refreshKeys();
    return created;
  }

  /**
   * Revoke a key at once.
   */
  async revokeKey(id: string): Promise<void> {
    try {
      await requestAPI<void>(`keys/${encodeURIComponent(id)}`, {
        method: 'DELETE'
      });
    } finally {
      void this.refreshKeys();
    }
  }

  /**
   * Fetch the server extension's status again.
   */
  async refreshStatus(): Promise<void> {
    try {
      this._status = await requestAPI<IServerStatus>('status');
      this._statusError = null;
    } catch (error) {
      this._status = null;
      this._statusError = (error as Error).message;
    }
    this._emit();
  }

  /**
   * Show the notebook, select cell `index` and scroll to it.
   */
  async goToCell(index: number): Promise<boolean> {
    const panel = this._notebook;
    if (!panel) {
      return false;
    }
    this._shell.activateById(panel.id);
    return goToCell(panel, index);
  }

  /**
   * Save the notebook (the endpoint runs the saved file).
   */
  async save(): Promise<void> {
    await this._notebook?.context.save();
  }

  dispose(): void {
    this._tracker.currentChanged.disconnect(this._onCurrentChanged, this);
    this._tracker.activeCellChanged.disconnect(this._onActiveCellChanged, this);
    this._connect(null);
    Signal.clearData(this);
  }

  private _onCurrentChanged(): void {
    const widget = this._tracker.currentWidget;
    const current = widget && !widget.isDisposed ? widget : null;
    if (current === this._notebook) {
      return;
    }
    this._connect(current);
    this._liveFingerprint = null;
    this._spec = null;
    this._specError = null;
    this._keys = null;
    this._keysError = null;
    this._readCells();
    this._onActiveCellChanged();
    this._emit();
    if (current) {
      void current.context.ready.then(() => {
        if (this._notebook === current) {
          this._readCells();
          void this.refreshSpec();
          void this.refreshKeys();
        }
      });
    } else {
      void this.refreshSpec();
      void this.refreshKeys();
    }
  }

  private _connect(panel: NotebookPanel | null): void {
    const old = this._notebook;
    if (old) {
      old.context.pathChanged.disconnect(this._onPathChanged, this);
      old.context.fileChanged.disconnect(this._onFileChanged, this);
      old.content.modelContentChanged.disconnect(this._scheduleCells, this);
      old.model?.stateChanged.disconnect(this._onStateChanged, this);
      old.disposed.disconnect(this._onDisposed, this);
    }
    this._notebook = panel;
    if (panel) {
      panel.context.pathChanged.connect(this._onPathChanged, this);
      panel.context.fileChanged.connect(this._onFileChanged, this);
      panel.content.modelContentChanged.connect(this._scheduleCells, this);
      panel.model?.stateChanged.connect(this._onStateChanged, this);
      panel.disposed.connect(this._onDisposed, this);
    }
  }

  private _onDisposed(): void {
    this._connect(null);
    this._onCurrentChanged();
  }

  private _onPathChanged(): void {
    this._emit();
    void this.refreshSpec();
    void this.refreshKeys();
  }

  /** After a save (or a revert): the endpoint now runs the new file. */
  private _onFileChanged(): void {
    if (this._notebook) {
      this._snapshot(this._notebook);
    }
    this._readCells();
    this._emit();
    void this.refreshSpec();
  }

  /**
   * Remember each notebook as loaded and as saved: what its endpoint runs.
   */
  private _trackSaved(panel: NotebookPanel): void {
    void panel.context.ready.then(() => this._snapshot(panel));
    panel.context.fileChanged.connect(() => this._snapshot(panel));
  }

  private _snapshot(panel: NotebookPanel): void {
    if (!panel.isDisposed) {
      this._saved.set(panel, endpointFingerprint(panel.content));
    }
  }

  private _onStateChanged(
    _: unknown,
    change: { name: string; oldValue?: unknown; newValue?: unknown }
  ): void {
    if (change.name === 'dirty') {
      this._readCells();
      this._emit();
    }
  }

  private _onActiveCellChanged(): void {
    const panel = this._notebook;
    const index = panel ? panel.content.activeCellIndex : -1;
    if (index !== this._activeIndex) {
      this._activeIndex = index;
      this._emit();
    }
  }

  /** Reading every cell's tags on each keystroke would be wasteful: coalesce. */
  private _scheduleCells(): void {
    if (this._cellsFrame === null) {
      this._cellsFrame = requestAnimationFrame(() => {
        this._cellsFrame = null;
        this._readCells();
      });
    }
  }

  private _readCells(): void {
    const panel = this._notebook;
    const cells = panel ? notebookCellTags(panel.content) : [];
    const index = panel ? panel.content.activeCellIndex : -1;
    const key = JSON.stringify(cells);
    const wasDirty = this.dirty;
    this._liveFingerprint =
      panel?.model?.dirty === true ? endpointFingerprint(panel.content) : null;
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
    this._emit();
  }

  private _emit(): void {
    this._changed.emit();
  }

  private _changed = new Signal<this, void>(this);
  private _notebook: NotebookPanel | null = null;
  private _activeIndex = -1;
  private _cells: ICellTags[] = [];
  private _cellsKey = '';
  private _cellsFrame: number | null = null;
  private _saved = new WeakMap<NotebookPanel, string>();
  private _liveFingerprint: string | null = null;
  private _summary: ITagSummary = summarizeTags([]);
  private _spec: IEndpointSpec | null = null;
  private _specState: LoadState = 'idle';
  private _specError: ISpecError | null = null;
  private _specRequest = 0;
  private _keys: IEndpointKey[] | null = null;
  private _keysState: LoadState = 'idle';
  private _keysError: string | null = null;
  private _keysRequest = 0;
  private _status: IServerStatus | null = null;
  private _statusError: string | null = null;
}

function toSpecError(error: unknown): ISpecError {
  if (error instanceof RestifiedRequestError) {
    const body = error.error;
    return {
      status: error.status,
      type: body?.type ?? 'error',
      message: error.message,
      cells: body?.cells ?? []
    };
  }
  return {
    status: 0,
    type: 'network',
    message: (error as Error).message || 'The server could not be reached.',
    cells: []
  };
}
