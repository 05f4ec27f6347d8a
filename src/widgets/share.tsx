/**
 * Share: endpoint keys for this notebook. Create one (the secret is shown
 * once, as a link and a curl command), list them, revoke one.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Time } from '@jupyterlab/coreutils';
import { HTMLSelect } from '@jupyterlab/ui-components';
import * as React from 'react';

import { ICreatedEndpointKey, IEndpointKey } from '../api';
import {
  curlWithKey,
  exampleFiles,
  exampleValues,
  snippetResultOf
} from '../core/snippets';
import { formatRelative } from '../core/time';
import { EndpointModel } from '../model/endpointModel';
import { madeBy } from '../model/keys';
import { Callout, CopyButton } from './common';
import { useSignals } from './useSignals';

/**
 * The expiry choices, in days (null: never).
 */
const EXPIRY_CHOICES: { label: string; days: number | null }[] = [
  { label: 'Never', days: null },
  { label: '1 day', days: 1 },
  { label: '7 days', days: 7 },
  { label: '30 days', days: 30 }
];

/**
 * Why "Create key" waits: every key is labelled, to know whose to revoke.
 */
const NEEDS_LABEL = 'Say who the key is for to create it.';

export function Share(props: { model: EndpointModel }): JSX.Element {
  const { model } = props;
  useSignals(model.notebook.changed);
  const [label, setLabel] = React.useState('');
  const [expiry, setExpiry] = React.useState('');
  const [busy, setBusy] = React.useState(false);
  const [error, setError] = React.useState<string | null>(null);
  const [created, setCreated] = React.useState<ICreatedEndpointKey | null>(
    null
  );

  const create = async (): Promise<void> => {
    const trimmed = label.trim();
    if (!trimmed || busy) {
      return;
    }
    const days = EXPIRY_CHOICES.find(
      c => String(c.days ?? '') === expiry
    )?.days;
    const expires =
      typeof days === 'number'
        ? new Date(Date.now() + days * 24 * 3600 * 1000).toISOString()
        : null;
    setBusy(true);
    setError(null);
    try {
      setCreated(await model.keys.create(trimmed, expires));
      setLabel('');
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="jp-RestifiedPanel-share">
      <p className="jp-RestifiedPanel-hint">
        A key lets someone call this notebook&apos;s endpoint, and nothing else
        on this server. Revoke it any time.
      </p>
      <form
        className="jp-RestifiedPanel-keyForm"
        aria-label="Create a key"
        onSubmit={event => {
          event.preventDefault();
          void create();
        }}
      >
        <div className="jp-RestifiedPanel-param">
          <label
            htmlFor="jp-restified-key-label"
            className="jp-RestifiedPanel-paramLabel"
          >
            Who is it for?
          </label>
          <input
            id="jp-restified-key-label"
            className="jp-mod-styled jp-RestifiedPanel-input"
            type="text"
            value={label}
            maxLength={200}
            placeholder="e.g. Alice, finance dashboard"
            onChange={event => setLabel(event.target.value)}
          />
        </div>
        <div className="jp-RestifiedPanel-param">
          <label
            htmlFor="jp-restified-key-expiry"
            className="jp-RestifiedPanel-paramLabel"
          >
            Expires
          </label>
          <HTMLSelect
            id="jp-restified-key-expiry"
            className="jp-RestifiedPanel-select"
            value={expiry}
            onChange={event => setExpiry(event.target.value)}
            options={EXPIRY_CHOICES.map(choice => ({
              value: String(choice.days ?? ''),
              label: choice.days === null ? choice.label : `In ${choice.label}`
            }))}
          />
        </div>
        <div className="jp-RestifiedPanel-actions">
          <button
            type="submit"
            className="jp-RestifiedPanel-button jp-mod-accept jp-RestifiedPanel-createKey"
            disabled={!label.trim() || busy}
            title={label.trim() ? undefined : NEEDS_LABEL}
            aria-describedby={
              label.trim() ? undefined : 'jp-restified-key-needs-label'
            }
          >
            {busy ? 'Creating…' : 'Create key'}
          </button>
          {label.trim() ? null : (
            <span
              className="jp-RestifiedPanel-muted"
              id="jp-restified-key-needs-label"
            >
              {NEEDS_LABEL}
            </span>
          )}
        </div>
      </form>
      <div aria-live="polite">
        {error ? <Callout kind="error">{error}</Callout> : null}
        {created && created.path === model.notebook.path ? (
          <NewKey
            created={created}
            model={model}
            onDone={() => setCreated(null)}
          />
        ) : null}
      </div>
      <KeyList model={model} />
    </div>
  );
}

/**
 * The key just created: its secret, once, as a link and a curl command.
 */
function NewKey(props: {
  created: ICreatedEndpointKey;
  model: EndpointModel;
  onDone: () => void;
}): JSX.Element {
  const { created, model } = props;
  // The curl command calls with the example values of the current spec.
  useSignals(model.endpoint.changed);
  const parameters = model.endpoint.spec?.parameters ?? [];
  const curl = curlWithKey(
    created.url,
    exampleValues(parameters),
    created.secret,
    exampleFiles(parameters),
    snippetResultOf(
      model.notebook.outputsOf(model.endpoint.spec?.return_cell ?? null)
    )
  );
  return (
    <Callout kind="success" className="jp-RestifiedPanel-newKey">
      <div className="jp-RestifiedPanel-newKeyTitle">
        New key <strong>“{created.label}”</strong>. Copy it now: the secret is
        shown only once.
      </div>
      <div className="jp-RestifiedPanel-field">
        <span className="jp-RestifiedPanel-label" id="jp-restified-link-label">
          Link
        </span>
        <div className="jp-RestifiedPanel-urlRow">
          <SecretField
            className="jp-RestifiedPanel-keyLink"
            value={created.link}
            labelledBy="jp-restified-link-label"
          />
          <CopyButton label="Copy the link with the key" text={created.link} />
        </div>
      </div>
      <div className="jp-RestifiedPanel-field">
        <span className="jp-RestifiedPanel-label" id="jp-restified-curl-label">
          curl
        </span>
        <div className="jp-RestifiedPanel-urlRow">
          <SecretField
            className="jp-RestifiedPanel-keyCurl"
            value={curl}
            labelledBy="jp-restified-curl-label"
          />
          <CopyButton label="Copy the curl command with the key" text={curl} />
        </div>
      </div>
      <div className="jp-RestifiedPanel-calloutActions">
        <button
          type="button"
          className="jp-RestifiedPanel-button"
          onClick={props.onDone}
        >
          Done, hide the secret
        </button>
      </div>
    </Callout>
  );
}

/**
 * A one-line, read-only field holding a secret: focus selects it all.
 */
function SecretField(props: {
  value: string;
  labelledBy: string;
  className: string;
}): JSX.Element {
  return (
    <input
      type="text"
      readOnly
      className={`jp-mod-styled jp-RestifiedPanel-input jp-RestifiedPanel-secret ${props.className}`}
      value={props.value}
      aria-labelledby={props.labelledBy}
      spellCheck={false}
      onFocus={event => event.target.select()}
    />
  );
}

/**
 * This notebook's keys, with last use and call count; revoke one.
 */
function KeyList(props: { model: EndpointModel }): JSX.Element {
  const { keys: part } = props.model;
  useSignals(part.changed);
  const keys = part.keys;
  const revoke = async (key: IEndpointKey): Promise<void> => {
    const result = await showDialog({
      title: 'Revoke this key?',
      body: `Calls with the key "${key.label}" will be refused at once. This cannot be undone.`,
      buttons: [
        Dialog.cancelButton(),
        Dialog.warnButton({ label: 'Revoke', ariaLabel: 'Revoke the key' })
      ]
    });
    if (result.button.accept) {
      try {
        await part.revoke(key.id);
      } catch {
        // The refresh that follows shows the state either way.
      }
    }
  };
  return (
    <div className="jp-RestifiedPanel-field jp-RestifiedPanel-keys">
      <span className="jp-RestifiedPanel-label" id="jp-restified-keys-label">
        Keys for this notebook{keys ? ` (${keys.length})` : ''}
      </span>
      {part.error ? <Callout kind="error">{part.error}</Callout> : null}
      {keys === null ? (
        <p className="jp-RestifiedPanel-empty">Loading…</p>
      ) : keys.length === 0 ? (
        <p className="jp-RestifiedPanel-empty">No keys yet.</p>
      ) : (
        <ul
          className="jp-RestifiedPanel-keyList"
          aria-labelledby="jp-restified-keys-label"
        >
          {keys.map(key => (
            <KeyItem
              key={key.id}
              item={key}
              onRevoke={() => void revoke(key)}
            />
          ))}
        </ul>
      )}
    </div>
  );
}

function KeyItem(props: {
  item: IEndpointKey;
  onRevoke: () => void;
}): JSX.Element {
  const { item } = props;
  const expired =
    item.expires !== null && new Date(item.expires).getTime() <= Date.now();
  return (
    <li
      className={`jp-RestifiedPanel-key${expired ? ' jp-mod-expired' : ''}`}
      data-key-id={item.id}
    >
      <div className="jp-RestifiedPanel-keyHeader">
        <span className="jp-RestifiedPanel-keyLabel">{item.label}</span>
        <button
          type="button"
          className="jp-RestifiedPanel-button jp-mod-warn jp-RestifiedPanel-revoke"
          aria-label={`Revoke the key ${item.label}`}
          onClick={props.onRevoke}
        >
          Revoke
        </button>
      </div>
      <dl className="jp-RestifiedPanel-keyMeta">
        <dt>Created</dt>
        <dd>
          <When value={item.created} />
        </dd>
        <dt>Made by</dt>
        <dd className="jp-RestifiedPanel-madeBy">{madeBy(item)}</dd>
        <dt>Expires</dt>
        <dd>
          {item.expires === null ? 'never' : <When value={item.expires} />}
          {expired ? ' (expired)' : ''}
        </dd>
        <dt>Last used</dt>
        <dd className="jp-RestifiedPanel-lastUsed">
          {item.last_used === null ? 'never' : <When value={item.last_used} />}
        </dd>
        <dt>Calls</dt>
        <dd className="jp-RestifiedPanel-calls">{item.calls}</dd>
      </dl>
    </li>
  );
}

/**
 * "5 minutes ago", with the exact time on hover.
 */
function When(props: { value: string }): JSX.Element {
  return (
    <time dateTime={props.value} title={Time.format(props.value)}>
      {formatRelative(
        props.value,
        Date.now(),
        document.documentElement.lang || 'en'
      )}
    </time>
  );
}
