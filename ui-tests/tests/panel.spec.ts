import { expect, test } from '@jupyterlab/galata';
import * as fs from 'fs';
import * as path from 'path';

/** The panel's widget id, which is also its sidebar tab's `data-id`. */
const PANEL_ID = 'jp-restified-panel';
/** The caption of the panel's sidebar tab (its `title` attribute). */
const PANEL_CAPTION = 'Notebook endpoint';

const EXAMPLE_NOTEBOOK = path.resolve(
  __dirname,
  '../../examples/fibonacci.ipynb'
);
const ROOT_PACKAGE_JSON = path.resolve(__dirname, '../../package.json');

/** The version the server extension reports comes from the root package.json. */
function expectedVersion(): string {
  return JSON.parse(fs.readFileSync(ROOT_PACKAGE_JSON, 'utf-8')).version;
}

test.describe('Notebook endpoint panel', () => {
  test.beforeEach(async ({ page, tmpPath }) => {
    expect(
      await page.contents.uploadFile(
        EXAMPLE_NOTEBOOK,
        `${tmpPath}/fibonacci.ipynb`
      )
    ).toBe(true);
  });

  test('follows the active notebook and shows the server version', async ({
    page,
    tmpPath
  }, testInfo) => {
    const version = expectedVersion();
    expect(version).toMatch(/^\d+\.\d+\.\d+/);

    // Open the example notebook.
    expect(await page.notebook.openByPath(`${tmpPath}/fibonacci.ipynb`)).toBe(
      true
    );
    await page.notebook.activate('fibonacci.ipynb');

    // Open the panel through its right-sidebar tab, found by its caption.
    const tab = page.locator(
      `.jp-SideBar.jp-mod-right .lm-TabBar-tab[title="${PANEL_CAPTION}"]`
    );
    await expect(tab).toHaveCount(1);
    await expect(tab).toHaveAttribute('data-id', PANEL_ID);
    await tab.click();
    await expect.poll(() => page.sidebar.isTabOpen(PANEL_ID)).toBe(true);

    const panel = page.locator(`#${PANEL_ID}.jp-RestifiedPanel`);
    await expect(panel).toBeVisible();

    const notebookPath = panel.locator('.jp-RestifiedPanel-path');
    const serverVersion = panel.locator('.jp-RestifiedPanel-version');

    await expect(notebookPath).toHaveText(`${tmpPath}/fibonacci.ipynb`);
    await expect(serverVersion).toHaveText(/notebook_restified \d+\.\d+\.\d+/);
    await expect(serverVersion).toHaveText(`notebook_restified ${version}`);
    await expect(panel.locator('.jp-RestifiedPanel-error')).toHaveCount(0);

    // Keep a picture of the panel with the test's output (not a snapshot test).
    const screenshot = testInfo.outputPath('panel.png');
    await panel.screenshot({ path: screenshot });
    await testInfo.attach('panel', {
      path: screenshot,
      contentType: 'image/png'
    });

    // A second notebook becomes the active one: the panel follows it.
    const secondName = await page.notebook.createNew();
    expect(secondName).toBeTruthy();
    await expect(notebookPath).toHaveText(`${tmpPath}/${secondName}`);
    await expect(panel).toBeVisible();

    // And back to the first one.
    await page.activity.activateTab('fibonacci.ipynb');
    await expect(notebookPath).toHaveText(`${tmpPath}/fibonacci.ipynb`);
    await expect(serverVersion).toHaveText(`notebook_restified ${version}`);
  });
});
