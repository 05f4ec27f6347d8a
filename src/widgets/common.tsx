/**
 * Small building blocks of the panel: collapsible sections, copy buttons,
 * cell links, callouts.
 */
import { Clipboard } from '@jupyterlab/apputils';
import {
  caretDownIcon,
  caretRightIcon,
  checkIcon,
  copyIcon,
  errorIcon,
  infoIcon,
  LabIcon
} from '@jupyterlab/ui-components';
import * as React from 'react';

/**
 * A section with a header that collapses it (a disclosure button). Its body
 * stays mounted while collapsed, so forms keep what was typed.
 */
export function Section(props: {
  id: string;
  title: string;
  children: React.ReactNode;
  /** Buttons shown at the right of the header. */
  actions?: React.ReactNode;
  defaultOpen?: boolean;
}): JSX.Element {
  const [open, setOpen] = React.useState(props.defaultOpen ?? true);
  const titleId = `jp-restified-${props.id}-title`;
  const bodyId = `jp-restified-${props.id}-body`;
  const Caret = open ? caretDownIcon : caretRightIcon;
  return (
    <section
      className={`jp-RestifiedPanel-section jp-RestifiedPanel-section-${props.id}`}
      aria-labelledby={titleId}
    >
      <div className="jp-RestifiedPanel-sectionHeader">
        <h3 className="jp-RestifiedPanel-sectionTitle">
          <button
            type="button"
            id={titleId}
            className="jp-RestifiedPanel-sectionToggle"
            aria-expanded={open}
            aria-controls={bodyId}
            onClick={() => setOpen(!open)}
          >
            <Caret.react tag="span" className="jp-RestifiedPanel-caret" />
            {props.title}
          </button>
        </h3>
        {open && props.actions ? (
          <div className="jp-RestifiedPanel-sectionActions">
            {props.actions}
          </div>
        ) : null}
      </div>
      <div id={bodyId} className="jp-RestifiedPanel-sectionBody" hidden={!open}>
        {props.children}
      </div>
    </section>
  );
}

/**
 * How long a copy button says "Copied".
 */
const COPIED_MS = 2000;

/**
 * A button that copies text to the clipboard and says so for a moment.
 */
export function CopyButton(props: {
  /** The text to copy (ignored when `onCopy` is given). */
  text?: string;
  /** Copy another way (e.g. through a command). */
  onCopy?: () => unknown;
  /** The accessible name, e.g. "Copy endpoint URL". */
  label: string;
  /** Show "Copy" / "Copied" next to the icon. */
  showText?: boolean;
  className?: string;
}): JSX.Element {
  const [copied, setCopied] = React.useState(false);
  React.useEffect(() => {
    if (!copied) {
      return;
    }
    const timer = window.setTimeout(() => setCopied(false), COPIED_MS);
    return () => window.clearTimeout(timer);
  }, [copied]);
  const Icon = copied ? checkIcon : copyIcon;
  return (
    <button
      type="button"
      className={[
        'jp-RestifiedPanel-iconButton',
        'jp-RestifiedPanel-copy',
        copied ? 'jp-mod-copied' : '',
        props.className ?? ''
      ].join(' ')}
      aria-label={props.label}
      title={copied ? 'Copied' : props.label}
      onClick={() => {
        if (props.onCopy) {
          void props.onCopy();
        } else if (props.text !== undefined) {
          Clipboard.copyToSystem(props.text);
        }
        setCopied(true);
      }}
    >
      <Icon.react tag="span" className="jp-RestifiedPanel-buttonIcon" />
      {props.showText ? <span>{copied ? 'Copied' : 'Copy'}</span> : null}
      <span className="jp-RestifiedPanel-srOnly" role="status">
        {copied ? 'Copied to the clipboard' : ''}
      </span>
    </button>
  );
}

/**
 * A button that selects a cell of the notebook and scrolls to it.
 */
export function CellButton(props: {
  index: number;
  onGo: (index: number) => void;
  /** The visible text; "cell N" by default. */
  children?: React.ReactNode;
}): JSX.Element {
  return (
    <button
      type="button"
      className="jp-RestifiedPanel-link jp-RestifiedPanel-cellLink"
      aria-label={`Go to cell ${props.index}`}
      title={`Select cell ${props.index} (counting from 0) in the notebook`}
      onClick={() => props.onGo(props.index)}
    >
      {props.children ?? `cell ${props.index}`}
    </button>
  );
}

/**
 * Links to several cells: "cell 2", "cells 2 and 4".
 */
export function CellList(props: {
  cells: readonly number[];
  onGo: (index: number) => void;
}): JSX.Element {
  const { cells, onGo } = props;
  return (
    <>
      {cells.map((index, i) => (
        <React.Fragment key={index}>
          {i > 0 ? (i === cells.length - 1 ? ' and ' : ', ') : null}
          <CellButton index={index} onGo={onGo} />
        </React.Fragment>
      ))}
    </>
  );
}

export type CalloutKind = 'info' | 'warning' | 'error' | 'success';

const CALLOUT_ICON: Record<CalloutKind, LabIcon> = {
  info: infoIcon,
  warning: errorIcon,
  error: errorIcon,
  success: checkIcon
};

/**
 * A message box in JupyterLab's colours.
 */
export function Callout(props: {
  kind: CalloutKind;
  children: React.ReactNode;
  className?: string;
}): JSX.Element {
  const Icon = CALLOUT_ICON[props.kind];
  return (
    <div
      className={`jp-RestifiedPanel-callout jp-mod-${props.kind} ${props.className ?? ''}`}
      role={props.kind === 'error' ? 'alert' : 'status'}
    >
      <Icon.react tag="span" className="jp-RestifiedPanel-calloutIcon" />
      <div className="jp-RestifiedPanel-calloutBody">{props.children}</div>
    </div>
  );
}
