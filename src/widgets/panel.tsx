import { JupyterFrontEnd } from '@jupyterlab/application';
import { ReactWidget, refreshIcon } from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';
import * as React from 'react';

import { restifiedIcon } from '../icons';
import { EndpointModel } from '../model/endpointModel';
import { IResource } from '../model/resource';
import { ServerStatus } from '../model/status';
import { Section } from './common';
import { Preview } from './preview';
import { Runs } from './runs';
import { Share } from './share';
import { TagControls } from './tagControls';
import { TryIt } from './tryIt';
import { useSignals } from './useSignals';

/**
 * The right-sidebar panel: follows the active notebook and its active cell;
 * tags, endpoint preview, try-it and share. It re-renders itself only when
 * the followed notebook changes; each section subscribes to its own parts.
 */
export class RestifiedPanel extends ReactWidget {
  constructor(
    private readonly _model: EndpointModel,
    private readonly _commands: JupyterFrontEnd['commands']
  ) {
    super();
    this.id = 'jp-restified-panel';
    this.addClass('jp-RestifiedPanel');
    this.title.icon = restifiedIcon;
    this.title.caption = 'Notebook endpoint';
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', 'Notebook endpoint');
    _model.notebook.changed.connect(this._onNotebookChanged, this);
    void _model.status.refresh();
  }

  dispose(): void {
    this._model.notebook.changed.disconnect(this._onNotebookChanged, this);
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    // Keys are used from elsewhere: show fresh call counts.
    void this._model.keys.refresh();
    // Runs are made from elsewhere too: show the latest.
    void this._model.runs.refresh();
  }

  protected render(): JSX.Element {
    const model = this._model;
    const notebook = model.notebook.panel;
    const path = model.notebook.path ?? '';
    return (
      <>
        <div className="jp-RestifiedPanel-header">
          <h2 className="jp-RestifiedPanel-title">Notebook endpoint</h2>
          {notebook ? (
            <div
              className="jp-RestifiedPanel-value jp-RestifiedPanel-path"
              title={path}
            >
              {path}
            </div>
          ) : (
            <div className="jp-RestifiedPanel-empty">
              Open a notebook to see its endpoint.
            </div>
          )}
        </div>
        {notebook ? (
          <>
            <Section id="tags" title="Cell tags">
              <TagControls model={model} commands={this._commands} />
            </Section>
            <Section
              id="endpoint"
              title="Endpoint"
              actions={
                <RefreshButton
                  label="Read the saved notebook again"
                  resource={model.endpoint}
                />
              }
            >
              <Preview model={model} commands={this._commands} />
            </Section>
            <Section id="try" title="Try it">
              <TryIt model={model} />
            </Section>
            <Section
              id="runs"
              title="Runs"
              actions={
                <RefreshButton label="Refresh the runs" resource={model.runs} />
              }
            >
              <Runs key={path} model={model} commands={this._commands} />
            </Section>
            <Section
              id="share"
              title="Share"
              actions={
                <RefreshButton label="Refresh the keys" resource={model.keys} />
              }
            >
              <Share key={path} model={model} />
            </Section>
          </>
        ) : null}
        <Footer status={model.status} />
      </>
    );
  }

  private _onNotebookChanged(): void {
    this.update();
  }
}

/**
 * The server extension's version, or why it is unavailable.
 */
function Footer(props: { status: ServerStatus }): JSX.Element {
  const { status } = props;
  useSignals(status.changed);
  return (
    <footer className="jp-RestifiedPanel-footer">
      {status.status ? (
        <span className="jp-RestifiedPanel-version">
          notebook_restified {status.status.version}
        </span>
      ) : status.error ? (
        <span className="jp-RestifiedPanel-error">
          Server extension unavailable: {status.error}
        </span>
      ) : (
        <span className="jp-RestifiedPanel-empty">Checking…</span>
      )}
    </footer>
  );
}

/**
 * Fetch a resource again; spins while it loads.
 */
function RefreshButton(props: {
  label: string;
  resource: IResource;
}): JSX.Element {
  const { resource } = props;
  useSignals(resource.changed);
  const busy = resource.state === 'loading';
  return (
    <button
      type="button"
      className={`jp-RestifiedPanel-iconButton${busy ? ' jp-mod-busy' : ''}`}
      aria-label={props.label}
      title={props.label}
      onClick={() => void resource.refresh()}
    >
      <refreshIcon.react tag="span" className="jp-RestifiedPanel-buttonIcon" />
    </button>
  );
}
