/**
 * Panel speed on long notebooks: from the input event to the panel showing
 * the change, timed in the page (performance.now()), medians of 10.
 *
 * - toggle: a click on Skip until the toggle shows it pressed;
 * - save: an edited parameters cell saved (from the save's start) until the
 *   parameters table shows the new default;
 * - savePaused: the same, the save made after the edits paused for 600 ms
 *   (as a person's Ctrl+S after typing: the panel asks for the spec ahead);
 * - switch: another notebook made current until its endpoint preview is
 *   complete (its path, its parameters, its snippet);
 * - labSave, labSwitch: baselines, JupyterLab's own part: the save alone, and
 *   the tab switch until the next frame.
 *
 * BENCHMARK_LAB_ONLY=1 (`jlpm test:benchmark:lab`, which also disables this
 * extension in the page) measures the baselines only: JupyterLab as it is
 * without the extension.
 *
 * BENCHMARK_WINDOWING sets the notebooks' windowing mode (JupyterLab's
 * setting, `contentVisibility` by default: every cell in the page; `full`:
 * only the cells in view).
 */
import {
  expect,
  galata,
  IJupyterLabPageFixture,
  test
} from '@jupyterlab/galata';

import {
  longNotebook,
  openNotebook,
  openPanel,
  PANEL_CAPTION
} from '../tests/helpers';

const RUNS = 10;
const SIZES = (process.env.BENCHMARK_CELLS ?? '500,2000')
  .split(',')
  .map(Number);
const WINDOWING = process.env.BENCHMARK_WINDOWING;
const LAB_ONLY = Boolean(process.env.BENCHMARK_LAB_ONLY);

if (WINDOWING) {
  test.use({
    mockSettings: {
      ...galata.DEFAULT_SETTINGS,
      '@jupyterlab/notebook-extension:tracker': {
        ...galata.DEFAULT_SETTINGS['@jupyterlab/notebook-extension:tracker'],
        windowingMode: WINDOWING
      }
    }
  });
}

const DEFAULT_CELL = '#jp-restified-panel .jp-RestifiedPanel-default';
const SKIP_TOGGLE = '#jp-restified-panel .jp-RestifiedPanel-toggle.jp-mod-skip';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? sorted[middle]
    : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** A long notebook whose `n` default is `n`. */
function notebookText(cells: number, n: number): string {
  const notebook = longNotebook(cells) as {
    cells: { source: string }[];
  };
  notebook.cells[1].source = notebook.cells[1].source.replace(
    'n: int = 10',
    `n: int = ${n}`
  );
  return JSON.stringify(notebook);
}

/** Time `action` in the page until `done` holds, in ms. */
async function timeInPage(
  page: IJupyterLabPageFixture,
  action: string,
  done: string,
  arg: unknown
): Promise<number> {
  return page.evaluate(
    async ({ action, done, arg }) => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const app = (window as any).jupyterapp;
      const act = new Function('app', 'arg', action);
      const check = new Function('app', 'arg', done);
      const started = performance.now();
      await act(app, arg);
      while (!check(app, arg)) {
        await new Promise(resolve => setTimeout(resolve, 1));
      }
      return performance.now() - started;
    },
    { action, done, arg }
  );
}

/** Set the current notebook's `n` default to `n` (an unsaved edit). */
async function editDefault(
  page: IJupyterLabPageFixture,
  n: number
): Promise<void> {
  await page.evaluate(n => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const app = (window as any).jupyterapp;
    const cell = app.shell.currentWidget.content.model.cells.get(1);
    cell.sharedModel.setSource(
      cell.sharedModel.getSource().replace(/n: int = \d+/, `n: int = ${n}`)
    );
  }, n);
}

/**
 * The default edited to `n` and saved (after `pause` ms): from the save's
 * start (the panel need not wait for its end) until the parameters table
 * shows `n`; the save is over before this returns.
 */
async function timeSave(
  page: IJupyterLabPageFixture,
  n: number,
  pause = 0
): Promise<number> {
  await editDefault(page, n);
  if (pause) {
    await page.waitForTimeout(pause);
  }
  const figure = await timeInPage(
    page,
    'window.benchmarkSave = app.shell.currentWidget.context.save();',
    `return document.querySelector('${DEFAULT_CELL}')?.textContent === String(arg);`,
    n
  );
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  await page.evaluate(() => (window as any).benchmarkSave);
  return figure;
}

/** The main area's notebook widgets' ids, by path. */
async function notebookIds(
  page: IJupyterLabPageFixture
): Promise<Record<string, string>> {
  return page.evaluate(() => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const app = (window as any).jupyterapp;
    const found: Record<string, string> = {};
    for (const widget of app.shell.widgets('main')) {
      if (widget.context?.path) {
        found[widget.context.path] = widget.id;
      }
    }
    return found;
  });
}

/** JupyterLab's own part: the save alone, and the tab switch alone. */
async function labBaselines(
  page: IJupyterLabPageFixture,
  paths: [string, string],
  figures: Record<string, number[]>
): Promise<void> {
  for (let i = 0; i < RUNS; i++) {
    await editDefault(page, 200 + i);
    figures.labSave.push(
      await timeInPage(
        page,
        'return app.shell.currentWidget.context.save();',
        'return true;',
        null
      )
    );
  }
  // The tab switch alone, until the next frame is painted.
  const ids = await notebookIds(page);
  for (let i = 0; i < RUNS; i++) {
    figures.labSwitch.push(
      await timeInPage(
        page,
        `app.shell.activateById(arg.id);
         return new Promise(resolve => requestAnimationFrame(() => setTimeout(resolve, 0)));`,
        'return true;',
        { id: ids[paths[(i + 1) % 2]] }
      )
    );
  }
}

/** The panel's figures (see the file's comment). */
async function panelFigures(
  page: IJupyterLabPageFixture,
  paths: [string, string],
  figures: Record<string, number[]>
): Promise<void> {
  const [a, b] = paths;
  // Toggle Skip on cell 2 (on, then off: one figure each).
  await page.notebook.selectCells(2);
  for (let i = 0; i < RUNS; i++) {
    figures.toggle.push(
      await timeInPage(
        page,
        `document.querySelector('${SKIP_TOGGLE}').click();`,
        `return document.querySelector('${SKIP_TOGGLE}').getAttribute('aria-pressed') === arg;`,
        i % 2 === 0 ? 'true' : 'false'
      )
    );
  }
  for (let i = 0; i < RUNS; i++) {
    figures.save.push(await timeSave(page, 100 + i));
  }
  for (let i = 0; i < RUNS; i++) {
    figures.savePaused.push(await timeSave(page, 300 + i, 600));
  }
  const last = 300 + RUNS - 1;
  await expect(page.locator(DEFAULT_CELL).first()).toHaveText(String(last));

  // Switch between the two notebooks until the preview is the other's.
  const ids = await notebookIds(page);
  for (let i = 0; i < RUNS; i++) {
    const [path, n] = i % 2 === 0 ? [b, '20'] : [a, String(last)];
    figures.switch.push(
      await timeInPage(
        page,
        'app.shell.activateById(arg.id);',
        `const panel = document.querySelector('#jp-restified-panel');
         return panel.querySelector('.jp-RestifiedPanel-path')?.textContent === arg.path &&
           panel.querySelector('.jp-RestifiedPanel-default')?.textContent === arg.n &&
           panel.querySelector('.jp-RestifiedPanel-snippets pre')?.textContent.includes(arg.path.split('/').pop());`,
        { id: ids[path], path, n }
      )
    );
  }
}

for (const cells of SIZES) {
  test(`panel speed, ${cells} cells`, async ({ page, tmpPath }, testInfo) => {
    const a = `${tmpPath}/a.ipynb`;
    const b = `${tmpPath}/b.ipynb`;
    await page.contents.uploadContent(notebookText(cells, 10), 'text', a);
    await page.contents.uploadContent(notebookText(cells, 20), 'text', b);
    const figures: Record<string, number[]> = LAB_ONLY
      ? { labSave: [], labSwitch: [] }
      : {
          toggle: [],
          save: [],
          savePaused: [],
          switch: [],
          // Baselines: JupyterLab's own part, which bounds the panel's figures.
          labSave: [],
          labSwitch: []
        };
    if (LAB_ONLY) {
      await openNotebook(page, b);
      await openNotebook(page, a);
      // The extension is not in the page: no panel's tab in the sidebar.
      await expect(
        page.locator(`.lm-TabBar-tab[title="${PANEL_CAPTION}"]`)
      ).toHaveCount(0);
    } else {
      const panel = await openPanel(page);
      await openNotebook(page, b);
      await openNotebook(page, a);
      await expect(
        panel.locator('.jp-RestifiedPanel-default').first()
      ).toHaveText('10');
      await panelFigures(page, [a, b], figures);
    }
    await labBaselines(page, [a, b], figures);

    const summary = Object.fromEntries(
      Object.entries(figures).map(([name, values]) => [
        name,
        Math.round(median(values))
      ])
    );
    const mode = `windowing ${WINDOWING ?? 'default'}${LAB_ONLY ? ', JupyterLab alone' : ''}`;
    console.log(`panel speed, ${cells} cells, ${mode}, medians (ms):`, summary);
    console.log(JSON.stringify(figures));
    await testInfo.attach(`panel-speed-${cells}.json`, {
      body: JSON.stringify({ cells, mode, medians: summary, figures }, null, 1),
      contentType: 'application/json'
    });
  });
}
