/**
 * The extension's commands: the three tag toggles, copy the endpoint URL,
 * open the panel; in the palette, the cell context menu and, for the tags,
 * on the keyboard (command mode).
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Clipboard, ICommandPalette, Notification } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { CommandRegistry } from '@lumino/commands';
import { Menu } from '@lumino/widgets';

import { IAppliedTagChange, revertTagChange, toggleTag } from './actions';
import {
  describePlan,
  ENDPOINT_TAGS,
  EndpointTag,
  readTags,
  TAG_INFO
} from './core/tags';
import { restifiedIcon } from './icons';
import { EndpointModel } from './model/endpointModel';

export namespace CommandIDs {
  export const toggleParameters = 'restified:toggle-parameters';
  export const toggleSkip = 'restified:toggle-skip';
  export const toggleReturn = 'restified:toggle-return';
  export const copyUrl = 'restified:copy-url';
  export const openPanel = 'restified:open-panel';
}

/**
 * The toggle command of each tag.
 */
export const TOGGLE_COMMAND: Record<EndpointTag, string> = {
  parameters: CommandIDs.toggleParameters,
  skip: CommandIDs.toggleSkip,
  return: CommandIDs.toggleReturn
};

/**
 * The palette's category for every command.
 */
export const COMMAND_CATEGORY = 'Notebook Endpoint';

/**
 * Arguments every command takes. `origin: 'panel'` when the panel runs it:
 * the panel then says what happened itself, no notification.
 */
interface ICommandArgs {
  origin?: string;
  isPalette?: boolean;
}

/**
 * Add the commands, their palette and context-menu entries, and the tag
 * shortcuts.
 */
export function addCommands(
  app: JupyterFrontEnd,
  tracker: INotebookTracker,
  model: EndpointModel,
  options: { openPanel: () => void; palette: ICommandPalette | null }
): void {
  const { commands } = app;

  const activeCellTags = (): string[] | null => {
    const cell = tracker.currentWidget?.content.activeCell;
    return cell ? readTags(cell.model.getMetadata('tags')) : null;
  };

  for (const tag of ENDPOINT_TAGS) {
    const info = TAG_INFO[tag];
    commands.addCommand(TOGGLE_COMMAND[tag], {
      label: args =>
        (args as ICommandArgs).isPalette
          ? `Toggle ${info.label} Tag of the Active Cell`
          : `${info.label} Cell`,
      caption: info.description,
      isToggled: () => activeCellTags()?.includes(tag) ?? false,
      isEnabled: () => {
        const cell = tracker.currentWidget?.content.activeCell;
        if (!cell) {
          return false;
        }
        // Only code cells run; an ignored tag on another cell may be removed.
        return (
          cell.model.type === 'code' ||
          readTags(cell.model.getMetadata('tags')).includes(tag)
        );
      },
      execute: args => {
        const panel = tracker.currentWidget;
        if (!panel) {
          return null;
        }
        const change = toggleTag(panel, tag);
        if (change && (args as ICommandArgs).origin !== 'panel') {
          notifyChange(change, () => revertTagChange(panel, change));
        }
        return change;
      }
    });
  }

  commands.addCommand(CommandIDs.copyUrl, {
    label: 'Copy Endpoint URL',
    caption: "Copy the URL of the active notebook's HTTP endpoint",
    isEnabled: () => model.endpoint.url !== null,
    execute: args => {
      const url = model.endpoint.url;
      if (url === null) {
        return null;
      }
      Clipboard.copyToSystem(url);
      if ((args as ICommandArgs).origin !== 'panel') {
        Notification.success(`Copied the endpoint URL: ${url}`, {
          autoClose: 3000
        });
      }
      return url;
    }
  });

  commands.addCommand(CommandIDs.openPanel, {
    label: 'Open Endpoint Panel',
    caption: 'Show the notebook endpoint panel in the right sidebar',
    icon: args =>
      (args as ICommandArgs).isPalette ? undefined : restifiedIcon,
    execute: () => options.openPanel()
  });

  const all = [
    ...ENDPOINT_TAGS.map(t => TOGGLE_COMMAND[t]),
    CommandIDs.copyUrl
  ];
  // The toggles follow the active cell's tags; the URL, the notebook's path
  // and its spec.
  const notify = (): void => {
    for (const id of all) {
      commands.notifyCommandChanged(id);
    }
  };
  model.tags.changed.connect(notify);
  model.notebook.changed.connect(notify);
  model.endpoint.changed.connect(notify);

  // Palette.
  if (options.palette) {
    for (const command of [...all, CommandIDs.openPanel]) {
      options.palette.addItem({
        command,
        category: COMMAND_CATEGORY,
        args: { isPalette: true }
      });
    }
  }

  // Cell context menu: one submenu with everything.
  const submenu = new Menu({ commands });
  submenu.title.label = COMMAND_CATEGORY;
  submenu.title.icon = restifiedIcon;
  submenu.id = 'jp-restified-cell-menu';
  for (const tag of ENDPOINT_TAGS) {
    submenu.addItem({ command: TOGGLE_COMMAND[tag] });
  }
  submenu.addItem({ type: 'separator' });
  submenu.addItem({ command: CommandIDs.copyUrl });
  submenu.addItem({ command: CommandIDs.openPanel });
  app.contextMenu.addItem({
    type: 'submenu',
    submenu,
    selector: '.jp-Notebook .jp-Cell',
    rank: 11
  });
  // Keyboard shortcuts (Alt P/S/R in command mode) come from schema/plugin.json,
  // so users can change them in Settings → Keyboard Shortcuts.
}

/**
 * The shortcut of a tag's toggle as JupyterLab shows it ("Alt+P", "⌥P" on a
 * Mac), as the user's settings have it; empty if it has none.
 */
export function formatShortcut(
  commands: CommandRegistry,
  tag: EndpointTag
): string {
  const binding = commands.keyBindings.find(
    b => b.command === TOGGLE_COMMAND[tag]
  );
  if (!binding) {
    return '';
  }
  return binding.keys
    .map(keystroke => CommandRegistry.formatKeystroke(keystroke))
    .join(', ');
}

/**
 * Say what a toggle did beyond the toggle itself (a moved tag, a replaced
 * one), with an Undo action.
 */
function notifyChange(change: IAppliedTagChange, undo: () => void): void {
  const message = describePlan(change.plan);
  if (message === null) {
    return;
  }
  Notification.info(message, {
    autoClose: 6000,
    actions: [{ label: 'Undo', caption: 'Put the tags back', callback: undo }]
  });
}
