import {
  ILabShell,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { INotebookTracker } from '@jupyterlab/notebook';

import { RestifiedPanel } from './widgets/panel';

/**
 * Wires the endpoint panel into JupyterLab's right sidebar.
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: 'notebook-restified:plugin',
  description: 'Turn a tagged notebook into an HTTP endpoint.',
  autoStart: true,
  requires: [INotebookTracker, ILabShell],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    labShell: ILabShell
  ) => {
    const panel = new RestifiedPanel(tracker);
    labShell.add(panel, 'right', { rank: 600 });
  }
};

export default plugin;
