/**
 * Shared steps of the notebook-restified Galata tests.
 */
import { expect, IJupyterLabPageFixture } from '@jupyterlab/galata';
import type { APIRequestContext, Locator, TestInfo } from '@playwright/test';
import { execFileSync } from 'child_process';
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

/**
 * The Python version of the kernels the test server starts (the server's own
 * Python), as the kernel writes it into `language_info`.
 */
const LANGUAGE_VERSION = execFileSync('python', [
  '-c',
  'import platform; print(platform.python_version())'
])
  .toString()
  .trim();

/**
 * A long notebook (`cells` cells, nbformat 4.5 with ids): a parameters cell
 * (1, `n: int = 10`, `ratio: float = 2.0`), code and markdown cells, a
 * skipped cell (3), a cell that fails for a negative `n` (last but one), and
 * the return cell last.
 */
export function longNotebook(cells: number): Record<string, unknown> {
  const list: Record<string, unknown>[] = [];
  const code = (source: string, tags: string[] = []) => ({
    cell_type: 'code',
    execution_count: null,
    id: `cell-${list.length}`,
    metadata: tags.length > 0 ? { tags } : {},
    outputs: [],
    source
  });
  list.push({
    cell_type: 'markdown',
    id: 'cell-0',
    metadata: {},
    source: '# A long notebook'
  });
  list.push(
    code('n: int = 10  # how many\nratio: float = 2.0  # a ratio', [
      'parameters'
    ])
  );
  list.push(code('total = 0'));
  list.push(code('print("exploring")', ['skip']));
  while (list.length < cells - 2) {
    const i = list.length;
    list.push(
      i % 10 === 0
        ? {
            cell_type: 'markdown',
            id: `cell-${i}`,
            metadata: {},
            source: `## Step ${i}`
          }
        : code(`total += ${i} * n  # step ${i}`)
    );
  }
  list.push(code('assert n >= 0, "n must not be negative"'));
  list.push(code('total * ratio', ['return']));
  return {
    cells: list,
    metadata: {
      // As the kernel describes itself: starting it changes nothing.
      kernelspec: {
        name: 'python3',
        display_name: 'Python 3 (ipykernel)',
        language: 'python'
      },
      language_info: {
        name: 'python',
        version: LANGUAGE_VERSION,
        mimetype: 'text/x-python',
        codemirror_mode: { name: 'ipython', version: 3 },
        pygments_lexer: 'ipython3',
        nbconvert_exporter: 'python',
        file_extension: '.py'
      }
    },
    nbformat: 4,
    nbformat_minor: 5
  };
}

/**
 * Upload a long notebook (see `longNotebook`) to `destination`.
 */
export async function uploadLongNotebook(
  page: IJupyterLabPageFixture,
  destination: string,
  cells = 500
): Promise<void> {
  expect(
    await page.contents.uploadContent(
      JSON.stringify(longNotebook(cells), null, 1),
      'text',
      destination
    )
  ).toBe(true);
}
