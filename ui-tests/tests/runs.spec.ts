import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import type { Locator } from '@playwright/test';

import {
  activeCellIndex,
  attachScreenshot,
  openNotebook,
  openPanel,
  uploadExample
} from './helpers';

/** A notebook that prints and sleeps across cells: `steps` seconds in all. */
function slowNotebook(): string {
  const code = (source: string, tags?: string[]) => ({
    cell_type: 'code',
    execution_count: null,
    metadata: tags ? { tags } : {},
    outputs: [],
    source
  });
  return JSON.stringify({
    cells: [
      code('steps: int = 2  # seconds of work', ['parameters']),
      code(
        'import time\n' +
          'for i in range(steps):\n' +
          '    print(f"step {i}", flush=True)\n' +
          '    time.sleep(1)'
      ),
      code('time.sleep(0.5)\nprint("second cell", flush=True)'),
      code('steps * 2', ['return'])
    ],
    metadata: {
      kernelspec: {
        display_name: 'Python 3',
        language: 'python',
        name: 'python3'
      },
      language_info: { name: 'python' }
    },
    nbformat: 4,
    nbformat_minor: 5
  });
}

/** Send the try-it form in the background. */
async function sendInBackground(panel: Locator): Promise<void> {
  const tryIt = panel.locator('.jp-RestifiedPanel-tryIt');
  const toggle = tryIt.getByRole('switch', { name: 'Run in background' });
  await toggle.check();
  await tryIt.getByRole('button', { name: 'Send' }).click();
  await expect(
    tryIt.locator('.jp-RestifiedPanel-response .jp-RestifiedPanel-status')
  ).toHaveText('202 Accepted', { timeout: 60_000 });
}

/**
 * A notebook name of its own: run records outlive a test (they are kept on
 * the server), so a rerun must not find the last one's.
 */
function unique(name: string): string {
  return `${name}-${Date.now().toString(36)}.ipynb`;
}

async function openSlow(
  page: IJupyterLabPageFixture,
  tmpPath: string
): Promise<Locator> {
  const name = unique('slow');
  expect(
    await page.contents.uploadContent(
      slowNotebook(),
      'text',
      `${tmpPath}/${name}`
    )
  ).toBe(true);
  await openNotebook(page, `${tmpPath}/${name}`);
  await page.sidebar.setWidth(420, 'right');
  return openPanel(page);
}

test.describe('Runs', () => {
  test('a background run shows its progress and output, ends in the list, opens executed', async ({
    page,
    tmpPath
  }, testInfo) => {
    const panel = await openSlow(page, tmpPath);
    const runs = panel.locator('.jp-RestifiedPanel-section-runs');
    await expect(runs).toContainText('No runs yet', { timeout: 30_000 });
    await panel
      .locator('.jp-RestifiedPanel-tryIt')
      .getByLabel('steps int')
      .fill('3');

    await sendInBackground(panel);
    const run = runs.locator('.jp-RestifiedPanel-run').first();
    // Live: the cell running, then the printed output as it comes.
    await expect(run.locator('.jp-RestifiedPanel-runProgressText')).toHaveText(
      /Cell \d of 4/,
      { timeout: 60_000 }
    );
    await expect(run.locator('.jp-RestifiedPanel-runOutput')).toContainText(
      'step 1',
      { timeout: 60_000 }
    );
    await expect(run.locator('.jp-RestifiedPanel-runStatus')).toHaveText(
      'Running'
    );
    await attachScreenshot(panel, testInfo, 'runs-live');
    // The try-it section follows the same run.
    await expect(
      panel.locator('.jp-RestifiedPanel-tryIt .jp-RestifiedPanel-runProgress')
    ).toBeVisible();

    await expect(run.locator('.jp-RestifiedPanel-runStatus')).toHaveText(
      'Succeeded',
      { timeout: 60_000 }
    );
    await expect(run.locator('.jp-RestifiedPanel-runOutput')).toContainText(
      'step 2\nsecond cell'
    );
    await expect(run.locator('.jp-RestifiedPanel-runProgressText')).toHaveText(
      '4 of 4 cells ran'
    );
    await expect(run.locator('.jp-RestifiedPanel-runParameters')).toHaveText(
      'steps=3'
    );
    await expect(run.locator('.jp-RestifiedPanel-runDuration')).toHaveText(
      /^\d+(\.\d)? s$/
    );

    // Still listed after the list is read again from the server.
    await runs.getByRole('button', { name: 'Refresh the runs' }).click();
    await expect(runs.locator('.jp-RestifiedPanel-run')).toHaveCount(1);
    await expect(
      runs.locator('.jp-RestifiedPanel-run .jp-RestifiedPanel-runStatus')
    ).toHaveText('Succeeded');

    // The executed notebook, read-only in a tab of its own.
    const item = runs.locator('.jp-RestifiedPanel-run').first();
    if (await item.locator('.jp-RestifiedPanel-runDetails').isHidden()) {
      await item.locator('.jp-RestifiedPanel-runSummary').click();
    }
    await item.getByRole('button', { name: 'Open executed notebook' }).click();
    const tab = page.locator('.lm-DockPanel-tabBar .lm-TabBar-tab', {
      hasText: /slow-\w+\.ipynb · run [0-9a-f]{8}/
    });
    await expect(tab).toHaveCount(1);
    const view = page.locator('.jp-RestifiedPanel-executedNotebook');
    await expect(view).toBeVisible();
    await expect(view.locator('.jp-OutputArea-output').first()).toContainText(
      'step 0'
    );
    await expect(view.locator('.jp-Cell')).toHaveCount(5); // + injected parameters
    await expect(view).toContainText('steps = 3');
    // Nothing can be typed into it.
    const source = view.locator('.jp-CodeCell .cm-content').nth(1);
    const before = await source.textContent();
    await source.click();
    await page.keyboard.type('oops');
    await expect(source).toHaveText(before ?? '');
  });

  test('Cancel stops a long run', async ({ page, tmpPath }) => {
    const panel = await openSlow(page, tmpPath);
    await panel
      .locator('.jp-RestifiedPanel-tryIt')
      .getByLabel('steps int')
      .fill('120');
    await sendInBackground(panel);
    const runs = panel.locator('.jp-RestifiedPanel-section-runs');
    const run = runs.locator('.jp-RestifiedPanel-run').first();
    await expect(run.locator('.jp-RestifiedPanel-runOutput')).toContainText(
      'step 0',
      { timeout: 60_000 }
    );
    await run.getByRole('button', { name: 'Cancel', exact: true }).click();
    await expect(run.locator('.jp-RestifiedPanel-runStatus')).toHaveText(
      'Cancelled',
      { timeout: 30_000 }
    );
    await expect(
      run.getByRole('button', { name: 'Cancel', exact: true })
    ).toHaveCount(0);
    // The server says so too.
    await runs.getByRole('button', { name: 'Refresh the runs' }).click();
    await expect(
      runs.locator('.jp-RestifiedPanel-run .jp-RestifiedPanel-runStatus')
    ).toHaveText('Cancelled');
  });

  test("a failed run's Replay in editor sets its parameters and selects the failed cell", async ({
    page,
    tmpPath
  }) => {
    const name = unique('error_path');
    await uploadExample(page, 'error_path.ipynb', `${tmpPath}/${name}`);
    await openNotebook(page, `${tmpPath}/${name}`);
    await page.sidebar.setWidth(420, 'right');
    const panel = await openPanel(page);
    await page.notebook.selectCells(0);
    const tryIt = panel.locator('.jp-RestifiedPanel-tryIt');
    await tryIt.getByLabel('divisor float').fill('0');
    await sendInBackground(panel);

    const run = panel
      .locator('.jp-RestifiedPanel-section-runs .jp-RestifiedPanel-run')
      .first();
    await expect(run.locator('.jp-RestifiedPanel-runStatus')).toHaveText(
      'Failed',
      { timeout: 60_000 }
    );
    await expect(run.locator('.jp-RestifiedPanel-runError')).toContainText(
      '(cell 4)'
    );
    await run.getByRole('button', { name: 'Replay in editor' }).click();
    await expect.poll(() => activeCellIndex(page), { timeout: 30_000 }).toBe(4);

    // The notebook's own kernel now holds the run's values (floats as floats).
    const values = await page.evaluate(async () => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const app = (window as any).jupyterapp;
      const kernel = app.shell.currentWidget.sessionContext.session.kernel;
      const reply = await kernel.requestExecute({
        code: '',
        silent: true,
        user_expressions: { v: 'repr((numerator, divisor))' }
      }).done;
      return reply.content.user_expressions.v.data['text/plain'];
    });
    expect(values).toBe("'(10.0, 0.0)'");
  });
});
