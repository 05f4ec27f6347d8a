import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';

import {
  activeCellIndex,
  openNotebook,
  openPanel,
  uploadLongNotebook
} from './helpers';

/**
 * Whether the notebook's document has unsaved changes.
 */
function isDirty(page: IJupyterLabPageFixture): Promise<boolean> {
  return page.evaluate(() => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const app = (window as any).jupyterapp;
    return app.shell.currentWidget?.context?.model?.dirty === true;
  });
}

test.describe('A long notebook (500 cells)', () => {
  test('opening it with the panel open does not change it', async ({
    page,
    tmpPath
  }) => {
    const notebookPath = `${tmpPath}/long.ipynb`;
    await uploadLongNotebook(page, notebookPath);
    const panel = await openPanel(page);
    await openNotebook(page, notebookPath);
    await expect(panel.locator('.jp-RestifiedPanel-paramRow')).toHaveCount(2);
    await expect((await page.notebook.getCellLocator(1))!).toHaveClass(
      /jp-RestifiedCell-parameters/
    );
    // Give the panel and the badges time to do whatever they do on open.
    await page.waitForTimeout(1500);
    expect(await isDirty(page)).toBe(false);
    await expect(page.locator('.lm-TabBar-tab.jp-mod-dirty')).toHaveCount(0);
    await expect(panel.locator('.jp-RestifiedPanel-unsaved')).toHaveCount(0);
  });

  test('"Go to cell" scrolls to cells the notebook has not rendered', async ({
    page,
    tmpPath
  }) => {
    test.setTimeout(240_000);
    const notebookPath = `${tmpPath}/long.ipynb`;
    await uploadLongNotebook(page, notebookPath);
    const panel = await openPanel(page);
    await openNotebook(page, notebookPath);
    const overview = panel.locator('.jp-RestifiedPanel-overview');

    // The tags list: the result cell, the last one.
    await overview.getByRole('button', { name: 'Go to cell 499' }).click();
    await expect.poll(() => activeCellIndex(page)).toBe(499);
    // Lab puts the cells into the page a batch at a time, when idle: on 2
    // busy cores about 15 a second, so the last one can take 40 s to exist.
    await expect(page.locator('.jp-Cell.jp-mod-active')).toBeInViewport({
      timeout: 90_000
    });
    await expect(page.locator('.jp-Cell.jp-mod-active')).toContainText(
      'total * ratio'
    );

    // Back to the top, then a link to the parameters cell.
    await overview.getByRole('button', { name: 'Go to cell 1' }).click();
    await expect.poll(() => activeCellIndex(page)).toBe(1);
    await expect(page.locator('.jp-Cell.jp-mod-active')).toBeInViewport();

    // An error's "Go to cell" from try-it.
    const tryIt = panel.locator('.jp-RestifiedPanel-tryIt');
    await tryIt.getByLabel('n int').fill('-1');
    await tryIt.getByRole('button', { name: 'Send' }).click();
    const response = tryIt.locator('.jp-RestifiedPanel-response');
    await expect(
      response.locator('.jp-RestifiedPanel-errorMessage')
    ).toContainText('n must not be negative', { timeout: 60_000 });
    await response.getByRole('button', { name: 'Go to cell 498' }).click();
    await expect.poll(() => activeCellIndex(page)).toBe(498);
    const active = page.locator('.jp-Cell.jp-mod-active');
    await expect(active).toBeInViewport();
    await expect(active).toContainText('n must not be negative');
  });
});
