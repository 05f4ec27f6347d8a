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
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';

import { longNotebook, openNotebook, openPanel } from '../tests/helpers';

const RUNS = 10;
const SIZES = (process.env.BENCHMARK_CELLS ?? '500,2000')
  .split(',')
  .map(Number);

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

for (const cells of SIZES) {
  test(`panel speed, ${cells} cells`, async ({ page, tmpPath }, testInfo) => {
    const a = `${tmpPath}/a.ipynb`;
    const b = `${tmpPath}/b.ipynb`;
    await page.contents.uploadContent(notebookText(cells, 10), 'text', a);
    await page.contents.uploadContent(notebookText(cells, 20), 'text', b);
    const panel = await openPanel(page);
    await openNotebook(page, b);
    await openNotebook(page, a);
    await expect(
      panel.locator('.jp-RestifiedPanel-default').first()
    ).toHaveText('10');
    const figures: Record<string, number[]> = {
      toggle: [],
      save: [],
      savePaused: [],
      switch: [],
      // Baselines: JupyterLab's own part, which bounds the panel's figures.
      labSave: [],
      labSwitch: []
    };

    // Toggle Skip on cell 2 (on, then off: one figure each).
    await page.notebook.selectCells(2);
    for (let i = 0; i < RUNS; i++) {
      const pressed = i % 2 === 0 ? 'true' : 'false';
      figures.toggle.push(
        await timeInPage(
          page,
          `document.querySelector('#jp-restified-panel .jp-RestifiedPanel-toggle.jp-mod-skip').click();`,
          `return document.querySelector('#jp-restified-panel .jp-RestifiedPanel-toggle.jp-mod-skip').getAttribute('aria-pressed') === '${pressed}';`,
          null
        )
      );
    }

    // Edit the parameters cell's default, save, until the table shows it.
    for (let i = 0; i < RUNS; i++) {
      const n = 100 + i;
      await page.evaluate(n => {
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        const app = (window as any).jupyterapp;
        const cell = app.shell.currentWidget.content.model.cells.get(1);
        cell.sharedModel.setSource(
          cell.sharedModel.getSource().replace(/n: int = \d+/, `n: int = ${n}`)
        );
      }, n);
      // From the save's start (not its end: the panel need not wait for it).
      figures.save.push(
        await timeInPage(
          page,
          `window.benchmarkSave = app.shell.currentWidget.context.save();`,
          `return document.querySelector('#jp-restified-panel .jp-RestifiedPanel-default')?.textContent === String(arg);`,
          n
        )
      );
      // The save over before the next edit.
      await page.evaluate(
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        () => (window as any).benchmarkSave
      );
    }

    // The same, the save after a pause in the edits.
    for (let i = 0; i < RUNS; i++) {
      const n = 300 + i;
      await page.evaluate(n => {
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        const app = (window as any).jupyterapp;
        const cell = app.shell.currentWidget.content.model.cells.get(1);
        cell.sharedModel.setSource(
          cell.sharedModel.getSource().replace(/n: int = \d+/, `n: int = ${n}`)
        );
      }, n);
      await page.waitForTimeout(600);
      figures.savePaused.push(
        await timeInPage(
          page,
          `window.benchmarkSave = app.shell.currentWidget.context.save();`,
          `return document.querySelector('#jp-restified-panel .jp-RestifiedPanel-default')?.textContent === String(arg);`,
          n
        )
      );
      await page.evaluate(
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        () => (window as any).benchmarkSave
      );
    }

    // Baseline: the save alone (no wait for the panel).
    for (let i = 0; i < RUNS; i++) {
      const n = 200 + i;
      await page.evaluate(n => {
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        const app = (window as any).jupyterapp;
        const cell = app.shell.currentWidget.content.model.cells.get(1);
        cell.sharedModel.setSource(
          cell.sharedModel.getSource().replace(/n: int = \d+/, `n: int = ${n}`)
        );
      }, n);
      figures.labSave.push(
        await timeInPage(
          page,
          `return app.shell.currentWidget.context.save();`,
          'return true;',
          n
        )
      );
    }
    await expect(
      panel.locator('.jp-RestifiedPanel-default').first()
    ).toHaveText(String(200 + RUNS - 1));

    // Switch between the two notebooks until the preview is the other's.
    const ids = await page.evaluate(() => {
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
    for (let i = 0; i < RUNS; i++) {
      const [path, n] = i % 2 === 0 ? [b, '20'] : [a, String(200 + RUNS - 1)];
      figures.switch.push(
        await timeInPage(
          page,
          `app.shell.activateById(arg.id);`,
          `const panel = document.querySelector('#jp-restified-panel');
           return panel.querySelector('.jp-RestifiedPanel-path')?.textContent === arg.path &&
             panel.querySelector('.jp-RestifiedPanel-default')?.textContent === arg.n &&
             panel.querySelector('.jp-RestifiedPanel-snippets pre')?.textContent.includes(arg.path.split('/').pop());`,
          { id: ids[path], path, n }
        )
      );
    }

    // Baseline: the tab switch alone, until the next frame is painted.
    for (let i = 0; i < RUNS; i++) {
      const path = i % 2 === 0 ? b : a;
      figures.labSwitch.push(
        await timeInPage(
          page,
          `app.shell.activateById(arg.id);
           return new Promise(resolve => requestAnimationFrame(() => setTimeout(resolve, 0)));`,
          'return true;',
          { id: ids[path] }
        )
      );
    }

    const summary = Object.fromEntries(
      Object.entries(figures).map(([name, values]) => [
        name,
        Math.round(median(values))
      ])
    );
    console.log(`panel speed, ${cells} cells, medians (ms):`, summary);
    console.log(JSON.stringify(figures));
    await testInfo.attach(`panel-speed-${cells}.json`, {
      body: JSON.stringify({ cells, medians: summary, figures }, null, 1),
      contentType: 'application/json'
    });
  });
}
