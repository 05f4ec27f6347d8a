/**
 * The state behind the panel, in parts that each have their own signal, so a
 * widget re-renders only for what it shows: the followed notebook, its live
 * tags, its saved endpoint's spec, its keys, the try-it form, and the
 * server's status.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { INotebookTracker } from '@jupyterlab/notebook';

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
    this.endpoint = new EndpointResource(client, this.notebook);
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

  /** After a save (or a revert): the endpoint now runs the new file. */
  private _onFileChanged(): void {
    void this.endpoint.refresh();
  }

  private _connectFile(panel: ActiveNotebook['panel']): void {
    this._file?.context.fileChanged.disconnect(this._onFileChanged, this);
    this._file = panel;
    panel?.context.fileChanged.connect(this._onFileChanged, this);
  }

  private _file: ActiveNotebook['panel'] = null;
}
