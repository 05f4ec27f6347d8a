import { expect, test } from '@jupyterlab/galata';

import {
  attachScreenshot,
  openNotebook,
  openPanel,
  savedTags,
  tagToggle,
  uploadExample
} from './helpers';

test.use({ permissions: ['clipboard-read', 'clipboard-write'] });

const NAME = 'fibonacci_untagged.ipynb';

test.describe('Cell tags', () => {
  test('tag an untagged notebook from the panel, save, see the endpoint', async ({
    baseURL,
    page,
    request,
    tmpPath
  }, testInfo) => {
    const notebookPath = `${tmpPath}/${NAME}`;
    await uploadExample(page, 'fibonacci.ipynb', notebookPath, {
      untagged: true
    });
    await openNotebook(page, notebookPath);
    const panel = await openPanel(page);

    // An untagged notebook: the panel says what to do.
    await expect(panel.locator('.jp-RestifiedPanel-start')).toContainText(
      'Make this notebook an HTTP endpoint'
    );
    await attachScreenshot(panel, testInfo, 'panel-untagged');

    // The panel follows the active cell.
    await page.notebook.selectCells(2);
    await expect(panel.locator('.jp-RestifiedPanel-cellLabel')).toContainText(
      'Active cell 2'
    );
    const parameters = tagToggle(panel, 'Parameters');
    await expect(parameters).toHaveAttribute('aria-pressed', 'false');
    await parameters.click();
    await expect(parameters).toHaveAttribute('aria-pressed', 'true');
    const cell2 = (await page.notebook.getCellLocator(2))!;
    await expect(cell2).toHaveClass(/jp-RestifiedCell-parameters/);
    await expect(panel.locator('.jp-RestifiedPanel-start')).toHaveCount(0);

    // A markdown cell cannot be tagged.
    await page.notebook.selectCells(0);
    await expect(panel.locator('.jp-RestifiedPanel-cellLabel')).toContainText(
      'Active cell 0'
    );
    await expect(tagToggle(panel, 'Return')).toBeDisabled();

    // Return on cell 3, then on cell 5: the tag moves, and the panel says so.
    await page.notebook.selectCells(3);
    await tagToggle(panel, 'Return').click();
    await expect((await page.notebook.getCellLocator(3))!).toHaveClass(
      /jp-RestifiedCell-return/
    );
    await page.notebook.selectCells(5);
    await expect(tagToggle(panel, 'Return')).toHaveAttribute(
      'aria-pressed',
      'false'
    );
    await tagToggle(panel, 'Return').click();
    await expect(panel.locator('.jp-RestifiedPanel-message')).toContainText(
      "Moved the 'return' tag from cell 3 to cell 5"
    );
    await expect((await page.notebook.getCellLocator(3))!).not.toHaveClass(
      /jp-RestifiedCell-return/
    );
    await expect((await page.notebook.getCellLocator(5))!).toHaveClass(
      /jp-RestifiedCell-return/
    );

    // Unsaved: the preview says the endpoint still runs the saved file.
    await expect(panel.locator('.jp-RestifiedPanel-unsaved')).toContainText(
      'the endpoint runs the saved version; save to update'
    );
    // One story, not two: what the saved endpoint does, and what the unsaved
    // tags will make of it; the tags section marks what is unsaved.
    await expect(panel.locator('.jp-RestifiedPanel-tagChanges')).toContainText(
      "Result: the saved endpoint answers null (no return cell); after saving, cell 5's value."
    );
    await expect(panel.locator('.jp-RestifiedPanel-specWarning')).toContainText(
      "In the saved version: No cell is tagged 'return'"
    );
    await expect(
      panel.locator('.jp-RestifiedPanel-overview dd').nth(1)
    ).toHaveText('cell 5 (unsaved)');

    // Skip on cell 4 with the keyboard (command mode), Alt+S: a shortcut from
    // the extension's settings schema, which the toggle's tooltip shows.
    await expect(tagToggle(panel, 'Skip')).toHaveAttribute(
      'title',
      /\(Alt\+S\)$/
    );
    await page.notebook.selectCells(4);
    await page.keyboard.press('Alt+s');
    const cell4 = (await page.notebook.getCellLocator(4))!;
    await expect(cell4).toHaveClass(/jp-RestifiedCell-skip/);
    await expect(tagToggle(panel, 'Skip')).toHaveAttribute(
      'aria-pressed',
      'true'
    );

    // Undo like any other notebook edit (Z in command mode), then redo.
    await page.keyboard.press('z');
    await expect(cell4).not.toHaveClass(/jp-RestifiedCell-skip/);
    await page.keyboard.press('Shift+z');
    await expect(cell4).toHaveClass(/jp-RestifiedCell-skip/);

    await attachScreenshot(
      page.locator('.jp-NotebookPanel-notebook'),
      testInfo,
      'badges'
    );

    // Save; the saved file carries the tags.
    await page.notebook.save();
    await expect(panel.locator('.jp-RestifiedPanel-unsaved')).toHaveCount(0);
    expect(await savedTags(request, notebookPath)).toEqual([
      undefined,
      undefined,
      ['parameters'],
      undefined,
      ['skip'],
      ['return']
    ]);

    // The preview read the saved notebook: URL, parameters.
    const url = `${baseURL}/restified/${tmpPath}/${NAME}`;
    await expect(
      panel.locator('.jp-RestifiedPanel-preview .jp-RestifiedPanel-url')
    ).toHaveText(url);
    const rows = panel.locator('.jp-RestifiedPanel-paramRow');
    await expect(rows).toHaveCount(1);
    await expect(rows.locator('td')).toHaveText(['n', 'int', '10']);
    await expect(panel.locator('.jp-RestifiedPanel-help')).toHaveText(
      'which Fibonacci number to compute'
    );
    await expect(panel.locator('.jp-RestifiedPanel-specWarning')).toHaveCount(
      0
    );
    await expect(
      panel.locator('.jp-RestifiedPanel-code[data-language="curl"]')
    ).toContainText('Authorization: Bearer <TOKEN>');
    await expect(
      panel.locator('.jp-RestifiedPanel-code[data-language="curl"]')
    ).toContainText(url);
    await expect(panel.locator('.jp-RestifiedPanel-openapi')).toHaveAttribute(
      'href',
      `${baseURL}/api/restified/openapi/${tmpPath}/${NAME}`
    );

    // Copy the URL.
    const copy = panel.getByRole('button', { name: 'Copy endpoint URL' });
    await copy.click();
    await expect(copy).toHaveClass(/jp-mod-copied/);
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(url);
  });

  test('moved tag by keyboard, undo from the notification, context menu, invalid tags', async ({
    page,
    request,
    tmpPath
  }, testInfo) => {
    const notebookPath = `${tmpPath}/fibonacci.ipynb`;
    await uploadExample(page, 'fibonacci.ipynb', notebookPath);
    await openNotebook(page, notebookPath);
    const panel = await openPanel(page);
    await expect(panel.locator('.jp-RestifiedPanel-paramRow')).toHaveCount(1);

    // Alt+P on cell 3 moves the parameters tag from cell 2: a notification
    // says so, and its Undo puts it back.
    await page.notebook.selectCells(3);
    await page.keyboard.press('Alt+p');
    const toast = page.locator('.Toastify__toast').filter({
      hasText: "Moved the 'parameters' tag from cell 2 to cell 3"
    });
    await expect(toast).toBeVisible();
    await expect((await page.notebook.getCellLocator(3))!).toHaveClass(
      /jp-RestifiedCell-parameters/
    );
    await toast.getByRole('button', { name: 'Undo' }).click();
    await expect((await page.notebook.getCellLocator(2))!).toHaveClass(
      /jp-RestifiedCell-parameters/
    );
    await expect((await page.notebook.getCellLocator(3))!).not.toHaveClass(
      /jp-RestifiedCell-parameters/
    );

    // The cell context menu has the same commands: make cell 1 the return
    // cell, before the parameters cell.
    await page.notebook.selectCells(1);
    await (await page.notebook.getCellLocator(1))!.click({ button: 'right' });
    // (Lumino gives a submenu item no role.)
    await page
      .locator('.lm-Menu-item[data-type="submenu"]', {
        hasText: 'Notebook Endpoint'
      })
      .hover();
    await page.getByRole('menuitem', { name: 'Return Cell' }).click();
    await expect((await page.notebook.getCellLocator(1))!).toHaveClass(
      /jp-RestifiedCell-return/
    );
    const problem = panel.locator('.jp-RestifiedPanel-tagProblem');
    await expect(problem).toContainText(
      'The return cell (1) comes before the parameters cell (2)'
    );

    // Saved, the server refuses the tags (409) and names the cells; the
    // button selects the offending cell.
    await page.notebook.save();
    const specError = panel.locator('.jp-RestifiedPanel-specError');
    await expect(specError).toContainText('The saved tags make no endpoint');
    await attachScreenshot(panel, testInfo, 'panel-invalid');
    expect((await savedTags(request, notebookPath))[1]).toEqual(['return']);
    await page.notebook.selectCells(4);
    await specError.getByRole('button', { name: 'Go to cell 1' }).click();
    await expect((await page.notebook.getCellLocator(1))!).toHaveClass(
      /jp-mod-active/
    );

    // The palette has the commands too.
    await page.keyboard.press('Control+Shift+c');
    await page.locator('.lm-CommandPalette-input').fill('Toggle Return');
    await expect(
      page.locator('.lm-CommandPalette-item', {
        hasText: 'Toggle Return Tag of the Active Cell'
      })
    ).toHaveCount(1);
    await page.keyboard.press('Escape');

    // Open the panel from the palette.
    await page.sidebar.close('right');
    await expect(panel).toBeHidden();
    await page.keyboard.press('Control+Shift+c');
    await page.locator('.lm-CommandPalette-input').fill('Open Endpoint Panel');
    await page.keyboard.press('Enter');
    await expect(panel).toBeVisible();
  });
});
