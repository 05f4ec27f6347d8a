import { JupyterFrontEnd } from '@jupyterlab/application';
import { ReactWidget, refreshIcon } from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';
import * as React from 'react';

import { restifiedIcon } from '../icons';
import { EndpointModel } from '../model';
import { Section } from './common';
import { Preview } from './preview';
import { Share } from './share';
import { TagControls } from './tagControls';
import { TryIt } from './tryIt';

/**
 * The right-sidebar panel: follows the active notebook and its active cell;
 * tags, endpoint preview, try-it and share.
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
    _model.changed.connect(this._onModelChanged, this);
    void _model.refreshStatus();
  }

  dispose(): void {
    this._model.changed.disconnect(this._onModelChanged, this);
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    // Keys are used from elsewhere: show fresh call counts.
    void this._model.refreshKeys();
  }

  protected render(): JSX.Element {
    const model = this._model;
    const notebook = model.notebook;
    const path = model.path ?? '';
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
                  busy={model.specState === 'loading'}
                  onClick={() => void model.refreshSpec()}
                />
              }
            >
              <Preview model={model} commands={this._commands} />
            </Section>
            <Section id="try" title="Try it">
              <TryIt key={path} model={model} />
            </Section>
            <Section
              id="share"
              title="Share"
              actions={
                <RefreshButton
                  label="Refresh the keys"
                  busy={model.keysState === 'loading'}
                  onClick={() => void model.refreshKeys()}
                />
              }
            >
              <Share key={path} model={model} />
            </Section>
          </>
        ) : null}
        <footer className="jp-RestifiedPanel-footer">
          {model.status ? (
            <span className="jp-RestifiedPanel-version">
              notebook_restified {model.status.version}
            </span>
          ) : model.statusError ? (
            <span className="jp-RestifiedPanel-error">
              Server extension unavailable: {model.statusError}
            </span>
          ) : (
            <span className="jp-RestifiedPanel-empty">Checking…</span>
          )}
        </footer>
      </>
    );
  }

  private _onModelChanged(): void {
    this.update();
  }
}

function RefreshButton(props: {
  label: string;
  busy: boolean;
  onClick: () => void;
}): JSX.Element {
  return (
    <button
      type="button"
      className={`jp-RestifiedPanel-iconButton${props.busy ? ' jp-mod-busy' : ''}`}
      aria-label={props.label}
      title={props.label}
      onClick={props.onClick}
    >
      <refreshIcon.react tag="span" className="jp-RestifiedPanel-buttonIcon" />
    </button>
  );
}
