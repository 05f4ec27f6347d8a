import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { restifiedIcon } from '../icons';
import { requestAPI } from '../request';
import { IServerStatus } from '../tokens';

/**
 * The right-sidebar panel: follows the active notebook and shows the server's status.
 */
export class RestifiedPanel extends ReactWidget {
  constructor(private readonly _tracker: INotebookTracker) {
    super();
    this.id = 'jp-restified-panel';
    this.addClass('jp-RestifiedPanel');
    this.title.icon = restifiedIcon;
    this.title.caption = 'Notebook endpoint';
    this._tracker.currentChanged.connect(this._onCurrentChanged, this);
    this._onCurrentChanged();
    void this.refreshStatus();
  }

  /**
   * Fetch `/api/restified/status` again.
   */
  async refreshStatus(): Promise<void> {
    try {
      this._status = await requestAPI<IServerStatus>('status');
      this._statusError = null;
    } catch (error) {
      this._status = null;
      this._statusError = (error as Error).message;
    }
    this.update();
  }

  dispose(): void {
    this._tracker.currentChanged.disconnect(this._onCurrentChanged, this);
    super.dispose();
  }

  protected render(): JSX.Element {
    const notebook = this._notebook;
    return (
      <>
        <h2 className="jp-RestifiedPanel-title">Notebook endpoint</h2>
        <section className="jp-RestifiedPanel-section">
          <span className="jp-RestifiedPanel-label" id="jp-restified-nb-label">
            Notebook
          </span>
          {notebook ? (
            <div
              className="jp-RestifiedPanel-value jp-RestifiedPanel-path"
              aria-labelledby="jp-restified-nb-label"
            >
              {notebook.context.path}
            </div>
          ) : (
            <div className="jp-RestifiedPanel-empty">
              Open a notebook to see its endpoint.
            </div>
          )}
        </section>
        <section className="jp-RestifiedPanel-section">
          <span className="jp-RestifiedPanel-label" id="jp-restified-srv-label">
            Server extension
          </span>
          <div
            className="jp-RestifiedPanel-value jp-RestifiedPanel-status"
            aria-labelledby="jp-restified-srv-label"
          >
            {this._status ? (
              <span className="jp-RestifiedPanel-version">
                notebook_restified {this._status.version}
              </span>
            ) : this._statusError ? (
              <span className="jp-RestifiedPanel-error">
                Unavailable: {this._statusError}
              </span>
            ) : (
              <span className="jp-RestifiedPanel-empty">Checking…</span>
            )}
          </div>
        </section>
      </>
    );
  }

  private _onCurrentChanged(): void {
    const current = this._tracker.currentWidget;
    if (this._notebook) {
      this._notebook.context.pathChanged.disconnect(this._onPathChanged, this);
    }
    this._notebook = current;
    if (current) {
      current.context.pathChanged.connect(this._onPathChanged, this);
    }
    this.update();
  }

  private _onPathChanged(): void {
    this.update();
  }

  private _notebook: NotebookPanel | null = null;
  private _status: IServerStatus | null = null;
  private _statusError: string | null = null;
}
