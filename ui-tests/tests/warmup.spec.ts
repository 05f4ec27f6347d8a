import { expect, test } from '@jupyterlab/galata';
import type { APIRequestContext } from '@playwright/test';

import { openNotebook, openPanel, uploadExample } from './helpers';

/** `metadata.restified` of the notebook as saved on the server. */
async function savedRestified(
  request: APIRequestContext,
  notebookPath: string
): Promise<Record<string, unknown> | undefined> {
  const response = await request.get(
    `/api/contents/${notebookPath}?type=notebook&content=1`
  );
  expect(response.status()).toBe(200);
  const model = (await response.json()) as {
    content: { metadata: { restified?: Record<string, unknown> } };
  };
  return model.content.metadata.restified;
}

test.describe('Declared warm-up switch', () => {
  test('writes metadata.restified.warmup and shows the saved state', async ({
    page,
    request,
    tmpPath
  }) => {
    const notebookPath = `${tmpPath}/fibonacci.ipynb`;
    await uploadExample(page, 'fibonacci.ipynb', notebookPath);
    await openNotebook(page, notebookPath);
    const panel = await openPanel(page);

    const toggle = panel.getByRole('switch', {
      name: 'Warm up with the defaults'
    });
    const state = panel.locator('.jp-RestifiedPanel-warmupState');
    await expect(toggle).not.toBeChecked();
    await expect(state).toContainText('no warm-up');
    const cache = panel.locator('.jp-RestifiedPanel-cache');
    await expect(cache).toContainText('every call runs');

    // On: the notebook's metadata changes (unsaved), then the saved file has it.
    await toggle.click();
    await expect(toggle).toBeChecked();
    await page.notebook.save();
    await expect
      .poll(() => savedRestified(request, notebookPath))
      .toEqual({ warmup: true });
    // The spec of the saved version declares one run.
    await expect(state).toContainText('one run of the body after setup');

    // The endpoint serves with it (called from the page, as the panel does);
    // the spec route says the kernel ran the warm-up.
    const answer = await page.evaluate(async url => {
      const response = await fetch(url);
      return { status: response.status, body: await response.json() };
    }, `/restified/${notebookPath}?n=12`);
    expect(answer).toEqual({ status: 200, body: 144 });
    const spec = await request.get(`/api/restified/spec/${notebookPath}`);
    expect((await spec.json()).warmup_state).toEqual({
      runs: 1,
      done: 1,
      on: 'setup'
    });

    // Off again.
    await toggle.click();
    await expect(toggle).not.toBeChecked();
    await page.notebook.save();
    await expect
      .poll(() => savedRestified(request, notebookPath))
      .toEqual({ warmup: false });
    await expect(state).toContainText('no warm-up');

    // The result cache the saved version declares is said beside it.
    await page.evaluate(() => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const model = (window as any).jupyterapp.shell.currentWidget.content
        .model;
      model.setMetadata('restified', {
        ...model.getMetadata('restified'),
        cache: { ttl: 300 }
      });
    });
    await page.notebook.save();
    await expect(cache).toContainText('an answer is kept 5 min');
  });
});
