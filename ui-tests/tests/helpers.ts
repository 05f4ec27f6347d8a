/**
 * Shared steps of the notebook-restified Galata tests.
 */
import { expect, IJupyterLabPageFixture } from '@jupyterlab/galata';
import type { APIRequestContext, Locator, TestInfo } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';

/** The panel's widget id, which is also its sidebar tab's `data-id`. */
export const PANEL_ID = 'jp-restified-panel';
/** The caption of the panel's sidebar tab (its `title` attribute). */
export const PANEL_CAPTION = 'Notebook endpoint';

export const EXAMPLES = path.resolve(__dirname, '../../examples');

interface INotebookJSON {
  cells: { cell_type: string; metadata: { tags?: string[] } }[];
}

/**
 * Upload `examples/<example>` to `destination`; `untagged` removes every
 * cell's tags first (an author's notebook before they met the product).
 */
export async function uploadExample(
  page: IJupyterLabPageFixture,
  example: string,
  destination: string,
  options: { untagged?: boolean } = {}
): Promise<void> {
  const notebook = JSON.parse(
    fs.readFileSync(path.join(EXAMPLES, example), 'utf-8')
  ) as INotebookJSON;
  if (options.untagged) {
    for (const cell of notebook.cells) {
      delete cell.metadata.tags;
    }
  }
  expect(
    await page.contents.uploadContent(
      JSON.stringify(notebook, null, 1),
      'text',
      destination
    )
  ).toBe(true);
}

/**
 * Open a notebook by path and make it the active one.
 */
export async function openNotebook(
  page: IJupyterLabPageFixture,
  notebookPath: string
): Promise<void> {
  expect(await page.notebook.openByPath(notebookPath)).toBe(true);
  expect(await page.notebook.activate(path.basename(notebookPath))).toBe(true);
}

/**
 * Open the panel through its right-sidebar tab; returns the panel.
 */
export async function openPanel(
  page: IJupyterLabPageFixture
): Promise<Locator> {
  const tab = page.locator(
    `.jp-SideBar.jp-mod-right .lm-TabBar-tab[title="${PANEL_CAPTION}"]`
  );
  await expect(tab).toHaveCount(1);
  if (!(await page.sidebar.isTabOpen(PANEL_ID))) {
    await tab.click();
  }
  await expect.poll(() => page.sidebar.isTabOpen(PANEL_ID)).toBe(true);
  const panel = page.locator(`#${PANEL_ID}.jp-RestifiedPanel`);
  await expect(panel).toBeVisible();
  return panel;
}

/**
 * A tag toggle of the panel, by its label.
 */
export function tagToggle(
  panel: Locator,
  label: 'Parameters' | 'Skip' | 'Return'
): Locator {
  return panel
    .locator('.jp-RestifiedPanel-toggles')
    .getByRole('button', { name: label, exact: true });
}

/**
 * Each cell's tags in the notebook as saved on the server.
 */
export async function savedTags(
  request: APIRequestContext,
  notebookPath: string
): Promise<(string[] | undefined)[]> {
  const response = await request.get(
    `/api/contents/${notebookPath}?type=notebook&content=1`
  );
  expect(response.status()).toBe(200);
  const model = (await response.json()) as { content: INotebookJSON };
  return model.content.cells.map(cell => cell.metadata.tags);
}

/**
 * The index of the active cell of the current notebook.
 */
export async function activeCellIndex(
  page: IJupyterLabPageFixture
): Promise<number> {
  return page.evaluate(() => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const app = (window as any).jupyterapp;
    return app.shell.currentWidget?.content?.activeCellIndex ?? -1;
  });
}

/**
 * Keep a picture of the panel with the test's output (not a snapshot test).
 */
export async function attachScreenshot(
  target: Locator,
  testInfo: TestInfo,
  name: string
): Promise<string> {
  const file = testInfo.outputPath(`${name}.png`);
  await target.screenshot({ path: file });
  await testInfo.attach(name, { path: file, contentType: 'image/png' });
  return file;
}
