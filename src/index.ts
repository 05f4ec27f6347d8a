import {
  ILabShell,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IEditorServices } from '@jupyterlab/codeeditor';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import { RestifiedClient } from './api';
import { trackBadges } from './badges';
import { addCommands } from './commands';
import { EndpointModel } from './model/endpointModel';
import { addRunCommands } from './runCommands';
import { RestifiedPanel } from './widgets/panel';

/**
 * Wires the endpoint panel into JupyterLab's right sidebar, with its commands
 * and the badges on tagged cells.
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: 'notebook-restified:plugin',
  description: 'Turn a tagged notebook into an HTTP endpoint.',
  autoStart: true,
  requires: [INotebookTracker, ILabShell],
  optional: [ICommandPalette, IRenderMimeRegistry, IEditorServices],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    labShell: ILabShell,
    palette: ICommandPalette | null,
    rendermime: IRenderMimeRegistry | null,
    editorServices: IEditorServices | null
  ) => {
    // One client, on the application's server settings, for every request.
    const client = new RestifiedClient(app.serviceManager.serverSettings);
    const model = new EndpointModel(tracker, labShell, client);
    const panel = new RestifiedPanel(model, app.commands);
    labShell.add(panel, 'right', { rank: 600 });
    addCommands(app, tracker, model, {
      palette,
      openPanel: () => labShell.activateById(panel.id)
    });
    trackBadges(tracker);
    addRunCommands(
      app,
      model,
      rendermime && editorServices ? { rendermime, editorServices } : null
    );
  }
};

export default plugin;
