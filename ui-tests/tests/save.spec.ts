/**
 * A save as the endpoint preview tells it: the endpoint of what the save
 * writes as soon as it starts (not once JupyterLab has written the file),
 * and, when the save fails, the saved file's endpoint again with the edits
 * shown as unsaved.
 */
import { expect, test } from '@jupyterlab/galata';

import { longNotebook, openNotebook, openPanel } from './helpers';

test.describe('Saving', () => {
  test('the preview shows the saved endpoint from the save start; a failed save puts it back', async ({
    page,
    tmpPath
  }) => {
    const file = `${tmpPath}/saved.ipynb`;
    await page.contents.uploadContent(
      JSON.stringify(longNotebook(40)),
      'text',
      file
    );
    const panel = await openPanel(page);
    await openNotebook(page, file);
    const defaultOfN = panel.locator('.jp-RestifiedPanel-default').first();
    const unsaved = panel.locator('.jp-RestifiedPanel-unsaved');
    await expect(defaultOfN).toHaveText('10');

    // An edit: the endpoint is still the saved one, and says so.
    await page.evaluate(() => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const app = (window as any).jupyterapp;
      const cell = app.shell.currentWidget.content.model.cells.get(1);
      cell.sharedModel.setSource(
        cell.sharedModel.getSource().replace('n: int = 10', 'n: int = 42')
      );
    });
    await expect(unsaved).toBeVisible();
    await expect(defaultOfN).toHaveText('10');

    // The file's write held back, then failed.
    let release = () => {};
    const held = new Promise<void>(resolve => (release = resolve));
    await page.route('**/api/contents/**', async route => {
      if (route.request().method() !== 'PUT') {
        await route.continue();
        return;
      }
      await held;
      await route.fulfill({
        status: 500,
        contentType: 'application/json',
        body: JSON.stringify({ message: 'The disk is full.', reason: null })
      });
    });
    await page.evaluate(() => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const app = (window as any).jupyterapp;
      void app.shell.currentWidget.context.save().catch(() => undefined);
    });
    // While it is written: the endpoint of what is being saved, nothing unsaved.
    await expect(defaultOfN).toHaveText('42');
    await expect(unsaved).toHaveCount(0);
    release();
    // Failed: the saved file's endpoint, and the edit unsaved again.
    await expect(page.locator('.jp-Dialog')).toContainText('File Save Error');
    await page
      .locator('.jp-Dialog')
      .getByRole('button', { name: 'Close' })
      .click();
    await expect(defaultOfN).toHaveText('10');
    await expect(unsaved).toBeVisible();

    // Saved for real: the new endpoint, which the server reads from the file.
    await page.unroute('**/api/contents/**');
    await page.notebook.save();
    await expect(defaultOfN).toHaveText('42');
    await expect(unsaved).toHaveCount(0);
    // What was shown from the part of the notebook sent at the save's start
    // is what the saved file makes.
    const preview = panel.locator('.jp-RestifiedPanel-preview');
    const shown = await preview.innerText();
    const refresh = panel.getByRole('button', {
      name: 'Read the saved notebook again'
    });
    const fetched = page.waitForResponse(
      response =>
        response.request().method() === 'GET' &&
        response.url().includes('/api/restified/spec/')
    );
    await refresh.click();
    expect((await fetched).status()).toBe(200);
    await expect(refresh).not.toHaveClass(/jp-mod-busy/);
    expect(await preview.innerText()).toBe(shown);
    await expect(defaultOfN).toHaveText('42');
  });
});
