/**
 * What the Runs section does in Lab: open a run's executed notebook in a
 * read-only tab (nothing written to the user's files, no kernel), and
 * replay a failed run in the editor (its parameters run in the notebook's
 * own kernel, the failed cell selected).
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget, Notification } from '@jupyterlab/apputils';
import { IEditorServices } from '@jupyterlab/codeeditor';
import {
  Notebook,
  NotebookModel,
  NotebookPanel,
  StaticNotebook
} from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import { IParameter, IRun } from './api';
import { parametersSource } from './core/replay';
import { EndpointModel } from './model/endpointModel';
import { RUN_COMMANDS } from './widgets/runs';

/** The notebook JSON `NotebookModel.fromJSON` takes. */
type NotebookContent = Parameters<NotebookModel['fromJSON']>[0];

/**
 * What a read-only notebook view is made with: Lab's own renderers and
 * editors.
 */
export interface INotebookViewServices {
  rendermime: IRenderMimeRegistry;
  editorServices: IEditorServices;
}

/**
 * Register the Runs section's commands (`{id}`: the run's id).
 */
export function addRunCommands(
  app: JupyterFrontEnd,
  model: EndpointModel,
  factory: INotebookViewServices | null
): void {
  const open = new Map<string, MainAreaWidget<Notebook>>();

  app.commands.addCommand(RUN_COMMANDS.open, {
    label: 'Open Executed Notebook',
    caption: "Open a run's executed notebook, read-only",
    isEnabled: () => factory !== null,
    execute: async args => {
      const id = String(args.id ?? '');
      const existing = open.get(id);
      if (existing && !existing.isDisposed) {
        app.shell.activateById(existing.id);
        return;
      }
      if (!factory) {
        throw new Error('The notebook viewer is not available.');
      }
      const run = model.runs.run(id) ?? (await model.client.getRun(id));
      const content = await model.client.getRunNotebook(id);
      const widget = executedNotebookWidget(factory, run, content);
      open.set(id, widget);
      widget.disposed.connect(() => open.delete(id));
      app.shell.add(widget, 'main');
      app.shell.activateById(widget.id);
    }
  });

  app.commands.addCommand(RUN_COMMANDS.replay, {
    label: 'Replay Run in Editor',
    caption:
      "Run a run's parameters in the notebook's kernel and select the cell that failed",
    execute: async args => {
      const id = String(args.id ?? '');
      const run = model.runs.run(id) ?? (await model.client.getRun(id));
      await replayRun(model, run);
    }
  });
}

/**
 * A read-only view of an executed notebook: a Notebook widget on a model of
 * its own, with no session (nothing can run) and read-only cells.
 */
export function executedNotebookWidget(
  services: INotebookViewServices,
  run: IRun,
  json: unknown
): MainAreaWidget<Notebook> {
  // Every cell marked not editable, as Lab reads `metadata.editable`.
  const content = json as NotebookContent;
  const notebook: NotebookContent = {
    ...content,
    cells: content.cells.map(cell => ({
      ...cell,
      metadata: { ...cell.metadata, editable: false }
    }))
  };
  const model = new NotebookModel();
  model.fromJSON(notebook);
  model.readOnly = true;
  model.dirty = false;
  const { rendermime, editorServices } = services;
  const view = new Notebook({
    // Its own registry: outputs rendered as Lab renders them, untrusted.
    rendermime: rendermime.clone(),
    contentFactory: new NotebookPanel.ContentFactory({
      editorFactory: editorServices.factoryService.newInlineEditor
    }),
    mimeTypeService: editorServices.mimeTypeService,
    notebookConfig: {
      ...StaticNotebook.defaultNotebookConfig,
      windowingMode: 'none'
    }
  });
  view.model = model;
  const widget = new MainAreaWidget({ content: view });
  const name = run.path.split('/').pop() ?? run.path;
  widget.id = `jp-restified-run-notebook-${run.id}`;
  widget.addClass('jp-RestifiedPanel-executedNotebook');
  widget.title.label = `${name} · run ${run.id.slice(0, 8)}`;
  widget.title.caption = `${run.path}, run ${run.id} (${run.status}, ${run.created}), read-only`;
  widget.title.closable = true;
  widget.disposed.connect(() => model.dispose());
  return widget;
}

/**
 * Set a run's parameters in the followed notebook's kernel (as the run's
 * injected cell did) and select the cell that failed.
 *
 * @throws Error when the run is not this notebook's, has no failed cell, or
 *   the notebook has no kernel.
 */
export async function replayRun(
  model: EndpointModel,
  run: IRun
): Promise<void> {
  const panel = model.notebook.panel;
  if (!panel || model.notebook.path !== run.path) {
    throw new Error(`Open ${run.path} to replay its run.`);
  }
  const cell = run.error?.cell_index;
  if (typeof cell !== 'number') {
    throw new Error('This run did not fail in a cell.');
  }
  const types: Record<string, IParameter> = {};
  for (const parameter of model.endpoint.spec?.parameters ?? []) {
    types[parameter.name] = parameter;
  }
  const code = parametersSource(run.parameters, types, run.id);
  await panel.sessionContext.ready;
  const kernel = panel.sessionContext.session?.kernel;
  if (!kernel) {
    throw new Error('Start the notebook\u2019s kernel to replay the run.');
  }
  const reply = await kernel.requestExecute({
    code,
    store_history: false,
    silent: false
  }).done;
  if (reply.content.status !== 'ok') {
    throw new Error('Setting the parameters in the kernel failed.');
  }
  await model.notebook.goToCell(cell);
  const names = Object.keys(run.parameters);
  Notification.info(
    `${names.length ? names.join(', ') : 'No parameters'} set as in run ${run.id.slice(0, 8)}; cell ${cell} failed there.`,
    { autoClose: 5000 }
  );
}
