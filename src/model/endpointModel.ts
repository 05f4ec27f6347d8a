/**
 * The state behind the panel, in parts that each have their own signal, so a
 * widget re-renders only for what it shows: the followed notebook, its live
 * tags, its saved endpoint's spec, its keys, the try-it form, and the
 * server's status.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { INotebookTracker } from '@jupyterlab/notebook';

import { notebookSpecContent } from '../actions';
import { specKey } from '../core/specContent';

import { RestifiedClient } from '../api';
import { EndpointResource } from './endpoint';
import { EndpointKeys } from './keys';
import { ActiveNotebook, NotebookChange } from './notebook';
import { NotebookTags } from './notebookTags';
import { RunsState } from './runs';
import { ServerStatus } from './status';
import { TryItState } from './tryIt';

/**
 * Makes the parts and keeps them on the tracker's current notebook: what to
 * fetch again when the notebook, its path or its saved file changes.
 */
export class EndpointModel {
  constructor(
    tracker: INotebookTracker,
    shell: JupyterFrontEnd.IShell,
    readonly client: RestifiedClient
  ) {
    this.notebook = new ActiveNotebook(tracker, shell);
    this.tags = new NotebookTags(tracker);
    this.endpoint = new EndpointResource(client, this.notebook, () => {
      const panel = this.notebook.panel;
      return panel ? this.tags.savedSpecKey(panel) : null;
    });
    this.keys = new EndpointKeys(client, this.notebook);
    this.status = new ServerStatus(client);
    this.tryIt = new TryItState(client);
    this.runs = new RunsState(client, this.notebook);
    this.tryIt.runStarted.connect((_, run) => this.runs.track(run));

    this.notebook.changed.connect(this._onNotebookChanged, this);
    this.endpoint.changed.connect(this._onEndpointChanged, this);
    this._onNotebookChanged(this.notebook, 'notebook');
  }

  /** Which notebook is followed, and its path. */
  readonly notebook: ActiveNotebook;
  /** Its cells' tags, live. */
  readonly tags: NotebookTags;
  /** Its saved file's endpoint spec. */
  readonly endpoint: EndpointResource;
  /** Its endpoint keys. */
  readonly keys: EndpointKeys;
  /** The server extension's status. */
  readonly status: ServerStatus;
  /** The try-it form and its call. */
  readonly tryIt: TryItState;
  /** Its recent runs, and the live state of those not over. */
  readonly runs: RunsState;

  dispose(): void {
    this._connectFile(null);
    this.notebook.dispose();
    this.tags.dispose();
    this.endpoint.dispose();
    this.keys.dispose();
    this.status.dispose();
    this.tryIt.dispose();
    this.runs.dispose();
  }

  private _onNotebookChanged(_: ActiveNotebook, change: NotebookChange): void {
    const current = this.notebook.panel;
    this.tryIt.setPath(this.notebook.path);
    if (change === 'path') {
      void this.endpoint.refresh();
      void this.keys.refresh();
      void this.runs.refresh();
      return;
    }
    this.runs.clear();
    void this.runs.refresh();
    this.endpoint.clear();
    this.keys.clear();
    this.tags.follow(current);
    this._connectFile(current);
    if (current) {
      void current.context.ready.then(() => {
        if (this.notebook.panel === current) {
          this.tags.read();
          // Its content seen before: its spec at once.
          this.endpoint.clear();
          void this.endpoint.refresh();
          void this.keys.refresh();
        }
      });
    } else {
      void this.endpoint.refresh();
      void this.keys.refresh();
    }
  }

  /** The form follows the declared parameters of the saved notebook. */
  private _onEndpointChanged(): void {
    this.tryIt.setParameters(this.endpoint.spec?.parameters ?? []);
  }

  /**
   * After a save (or a revert): the endpoint now runs the new file. A save
   * announced by `saveState` already has the spec of what it wrote.
   */
  private _onFileChanged(): void {
    if (!this._saving) {
      void this.endpoint.refresh();
    }
  }

  /**
   * A save starts: the model now is what the file will hold, so show its
   * endpoint at once (the part of it a spec reads, sent to the server, or its
   * spec from the cache) rather than after the save (hundreds of ms on a
   * long notebook). A failed save puts back what the saved file makes.
   */
  private _onSaveState(
    context: DocumentRegistry.IContext<DocumentRegistry.IModel>,
    state: DocumentRegistry.SaveState
  ): void {
    const panel = this._file;
    if (!panel || panel.context !== context) {
      return;
    }
    if (state === 'started') {
      this._saving = true;
      const content = notebookSpecContent(panel.content);
      const key = specKey(content);
      this.tags.saving(panel, key);
      void this.endpoint.saving(content, key);
    } else if (state === 'completed') {
      this._saving = false;
    } else if (state === 'failed') {
      this._saving = false;
      this.tags.saveFailed(panel);
      void this.endpoint.refresh();
    }
  }

  /**
   * The followed notebook was edited: once the edits pause, ask ahead for
   * the spec of its content, if that is new (an edit of a cell the spec does
   * not read is not), so that saving it shows it at once.
   */
  private _onContentChanged(): void {
    if (this._prefetchTimer !== null) {
      clearTimeout(this._prefetchTimer);
    }
    this._prefetchTimer = setTimeout(() => {
      this._prefetchTimer = null;
      const panel = this._file;
      if (panel?.model?.dirty && !panel.isDisposed) {
        const content = notebookSpecContent(panel.content);
        void this.endpoint.prefetch(content, specKey(content));
      }
    }, PREFETCH_DELAY_MS);
  }

  private _connectFile(panel: ActiveNotebook['panel']): void {
    if (this._file) {
      this._file.context.fileChanged.disconnect(this._onFileChanged, this);
      this._file.context.saveState.disconnect(this._onSaveState, this);
      this._file.content.modelContentChanged.disconnect(
        this._onContentChanged,
        this
      );
    }
    if (this._prefetchTimer !== null) {
      clearTimeout(this._prefetchTimer);
      this._prefetchTimer = null;
    }
    this._file = panel;
    this._saving = false;
    panel?.context.fileChanged.connect(this._onFileChanged, this);
    panel?.context.saveState.connect(this._onSaveState, this);
    panel?.content.modelContentChanged.connect(this._onContentChanged, this);
  }

  private _file: ActiveNotebook['panel'] = null;
  /** Between a followed notebook's save's start and its end. */
  private _saving = false;
  private _prefetchTimer: ReturnType<typeof setTimeout> | null = null;
}

/**
 * How long edits pause before the spec of the edited notebook is asked for.
 */
const PREFETCH_DELAY_MS = 400;
