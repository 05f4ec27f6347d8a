import { expect, test } from '@jupyterlab/galata';

import {
  activeCellIndex,
  attachScreenshot,
  openNotebook,
  openPanel,
  uploadExample
} from './helpers';

test.describe('Try it', () => {
  test('a call from the form, bad input flagged, screenshots in both themes', async ({
    page,
    tmpPath
  }, testInfo) => {
    await uploadExample(page, 'fibonacci.ipynb', `${tmpPath}/fibonacci.ipynb`);
    await openNotebook(page, `${tmpPath}/fibonacci.ipynb`);
    await page.sidebar.setWidth(380, 'right');
    const panel = await openPanel(page);
    const tryIt = panel.locator('.jp-RestifiedPanel-tryIt');

    // The form comes from the typed parameters, defaults filled in.
    const n = tryIt.getByLabel('n int');
    await expect(n).toHaveAttribute('type', 'number');
    await expect(n).toHaveAttribute('step', '1');
    await expect(n).toHaveValue('10');
    const send = tryIt.getByRole('button', { name: 'Send' });

    // Bad input is flagged before sending, and Send waits for a fix.
    await n.fill('1.5');
    await expect(n).toHaveAttribute('aria-invalid', 'true');
    await expect(tryIt.locator('.jp-RestifiedPanel-problem')).toContainText(
      'Expected an integer'
    );
    await expect(send).toBeDisabled();

    await n.fill('12');
    await expect(send).toBeEnabled();
    await send.click();
    const response = tryIt.locator('.jp-RestifiedPanel-response');
    await expect(response.locator('.jp-RestifiedPanel-status')).toHaveText(
      '200 OK',
      { timeout: 60_000 }
    );
    await expect(response.locator('.jp-RestifiedPanel-duration')).toHaveText(
      /^\d+(\.\d+)? m?s$/
    );
    await expect(response.locator('.jp-RestifiedPanel-result')).toHaveText(
      '144'
    );

    // The panel in the light and the dark theme.
    await page.notebook.selectCells(2);
    await page.setViewportSize({ width: 1400, height: 2000 });
    await page.sidebar.setWidth(380, 'right');
    await page.theme.setLightTheme();
    await attachScreenshot(panel, testInfo, 'panel-light');
    await page.theme.setDarkTheme();
    await attachScreenshot(panel, testInfo, 'panel-dark');
    await attachScreenshot(
      page.locator('.jp-NotebookPanel-notebook'),
      testInfo,
      'badges-dark'
    );
    await page.theme.setLightTheme();
  });

  test('a failing call shows the error and jumps to the failing cell', async ({
    page,
    tmpPath
  }, testInfo) => {
    await uploadExample(
      page,
      'error_path.ipynb',
      `${tmpPath}/error_path.ipynb`
    );
    await openNotebook(page, `${tmpPath}/error_path.ipynb`);
    await page.sidebar.setWidth(380, 'right');
    const panel = await openPanel(page);
    const tryIt = panel.locator('.jp-RestifiedPanel-tryIt');

    const divisor = tryIt.getByLabel('divisor float');
    await expect(divisor).toHaveAttribute('step', 'any');
    // A float default as the server wrote it: 2.0, not 2.
    await expect(divisor).toHaveValue('2.0');
    await divisor.fill('0');
    await page.notebook.selectCells(1);
    await tryIt.getByRole('button', { name: 'Send' }).click();

    const response = tryIt.locator('.jp-RestifiedPanel-response');
    await expect(response.locator('.jp-RestifiedPanel-status')).toHaveText(
      '500 Internal Server Error',
      { timeout: 60_000 }
    );
    await expect(response.locator('.jp-RestifiedPanel-errorType')).toHaveText(
      'execution_error'
    );
    await expect(
      response.locator('.jp-RestifiedPanel-errorMessage')
    ).toContainText('ValueError');
    await expect(
      response.locator('.jp-RestifiedPanel-errorMessage')
    ).toContainText('divisor must not be 0');
    await expect(
      response.locator('.jp-RestifiedPanel-traceback pre')
    ).toContainText('safe_divide');
    await attachScreenshot(panel, testInfo, 'panel-error');

    expect(await activeCellIndex(page)).toBe(1);
    await response.getByRole('button', { name: 'Go to cell 4' }).click();
    await expect.poll(() => activeCellIndex(page)).toBe(4);
    const cell4 = (await page.notebook.getCellLocator(4))!;
    await expect(cell4).toHaveClass(/jp-mod-active/);
    await expect(cell4).toBeInViewport();
  });

  test('an image result is shown as an image', async ({ page, tmpPath }) => {
    await uploadExample(
      page,
      'matplotlib_plot.ipynb',
      `${tmpPath}/matplotlib_plot.ipynb`
    );
    await openNotebook(page, `${tmpPath}/matplotlib_plot.ipynb`);
    const panel = await openPanel(page);
    const tryIt = panel.locator('.jp-RestifiedPanel-tryIt');
    await tryIt.getByLabel('points int').fill('20');
    await tryIt.getByLabel('title str').fill('From the panel');
    await tryIt.getByRole('button', { name: 'Send' }).click();
    const response = tryIt.locator('.jp-RestifiedPanel-response');
    await expect(response.locator('.jp-RestifiedPanel-status')).toHaveText(
      '200 OK',
      { timeout: 60_000 }
    );
    await expect(response.locator('.jp-RestifiedPanel-mediaType')).toHaveText(
      'image/png'
    );
    const image = response.getByRole('img');
    await expect(image).toBeVisible();
    expect(
      await image.evaluate(img => (img as HTMLImageElement).naturalWidth)
    ).toBeGreaterThan(100);
  });

  test('each declared type gets its input; JSON is checked before sending', async ({
    page,
    tmpPath
  }) => {
    const code = (source: string, tags: string[]) => ({
      cell_type: 'code',
      execution_count: null,
      metadata: { tags },
      outputs: [],
      source
    });
    const notebook = {
      cells: [
        code(
          [
            'count: int = 3  # how many times',
            'ratio: float = 2.0  # a ratio',
            'loud: bool = False  # shout the word',
            'word: str = "hi"  # the word',
            'items: list = [1, 2]  # some items',
            'options: dict = {"a": 1}  # some options'
          ].join('\n'),
          ['parameters']
        ),
        code(
          '{"ratio": ratio, "word": (word.upper() if loud else word) * count, "items": items, "options": options}',
          ['return']
        )
      ],
      metadata: {
        kernelspec: {
          name: 'python3',
          display_name: 'Python 3',
          language: 'python'
        }
      },
      nbformat: 4,
      nbformat_minor: 4
    };
    await page.contents.uploadContent(
      JSON.stringify(notebook),
      'text',
      `${tmpPath}/types.ipynb`
    );
    await openNotebook(page, `${tmpPath}/types.ipynb`);
    const panel = await openPanel(page);
    const tryIt = panel.locator('.jp-RestifiedPanel-tryIt');

    await expect(tryIt.getByLabel('count int')).toHaveAttribute(
      'type',
      'number'
    );
    // Float defaults as the server wrote them, in the table and the form.
    await expect(tryIt.getByLabel('ratio float')).toHaveValue('2.0');
    const ratioRow = panel
      .locator('.jp-RestifiedPanel-paramRow')
      .filter({ hasText: 'ratio' });
    await expect(ratioRow.locator('.jp-RestifiedPanel-default')).toHaveText(
      '2.0'
    );
    const loud = tryIt.getByLabel('loud bool');
    await expect(loud).toHaveAttribute('type', 'checkbox');
    await expect(loud).not.toBeChecked();
    await expect(tryIt.getByLabel('word str')).toHaveAttribute('type', 'text');
    const items = tryIt.getByLabel('items list');
    await expect(items).toHaveValue('[1,2]');
    const options = tryIt.getByLabel('options dict');
    await expect(options).toHaveValue('{"a":1}');
    const send = tryIt.getByRole('button', { name: 'Send' });

    // Bad input in a number field is flagged; emptied, the default applies.
    const count = tryIt.getByLabel('count int');
    await count.selectText();
    await page.keyboard.type('-');
    await expect(count).toHaveAttribute('aria-invalid', 'true');
    await expect(tryIt.locator('.jp-RestifiedPanel-problem')).toContainText(
      'Not a number'
    );
    await page.keyboard.press('Backspace');
    await expect(count).toHaveValue('');
    await expect(count).not.toHaveAttribute('aria-invalid', 'true');
    await expect(tryIt.locator('.jp-RestifiedPanel-problem')).toHaveCount(0);
    await expect(send).toBeEnabled();

    // Not JSON, or JSON of the wrong kind: flagged, Send disabled.
    await items.fill('[1, 2');
    await expect(items).toHaveAttribute('aria-invalid', 'true');
    await expect(send).toBeDisabled();
    await items.fill('{"a": 1}');
    await expect(tryIt.locator('.jp-RestifiedPanel-problem')).toHaveText(
      'Expected a JSON list, e.g. [1, 2, 3].'
    );
    await items.fill('["x", 3]');
    await expect(send).toBeEnabled();

    await tryIt.getByLabel('count int').fill('2');
    await loud.check();
    await tryIt.getByLabel('word str').fill('ab');
    await options.fill('{"b": [true, null]}');
    await send.click();
    await expect(tryIt.locator('.jp-RestifiedPanel-status')).toHaveText(
      '200 OK',
      { timeout: 60_000 }
    );
    const text = await tryIt.locator('.jp-RestifiedPanel-result').innerText();
    // The float result as the HTTP body has it: 2.0, not 2.
    expect(text).toContain('"ratio": 2.0,');
    const result = JSON.parse(text);
    expect(result).toEqual({
      ratio: 2,
      word: 'ABAB',
      items: ['x', 3],
      options: { b: [true, null] }
    });
  });

  test('choices, bounds, dates and times, and a file (multipart)', async ({
    page,
    tmpPath
  }, testInfo) => {
    await uploadExample(
      page,
      'parameter_types.ipynb',
      `${tmpPath}/parameter_types.ipynb`
    );
    await openNotebook(page, `${tmpPath}/parameter_types.ipynb`);
    await page.sidebar.setWidth(420, 'right');
    const panel = await openPanel(page);
    const tryIt = panel.locator('.jp-RestifiedPanel-tryIt');
    const control = (name: string, tag = 'input') =>
      tryIt.locator(`${tag}#jp-restified-param-${name}`);

    // The parameters table: choices, bounds and formats.
    const row = (name: string) =>
      panel
        .locator('.jp-RestifiedPanel-paramRow')
        .filter({ has: page.locator(`code:text-is("${name}")`) })
        .locator('.jp-RestifiedPanel-type');
    await expect(row('statistic')).toHaveText('one of: mean, median, max');
    await expect(row('percent')).toHaveText('int, 0..100');
    await expect(row('start')).toHaveText('date');
    await expect(row('size')).toHaveText('tuple[int, int]');
    await expect(row('keep')).toHaveText('list[int] or null');

    // The form's inputs.
    const statistic = control('statistic', 'select');
    await expect(statistic.locator('option')).toHaveText([
      'default (mean)',
      'mean',
      'median',
      'max'
    ]);
    await expect(control('start')).toHaveAttribute('type', 'date');
    await expect(control('until')).toHaveAttribute('type', 'datetime-local');
    await expect(control('cutoff')).toHaveAttribute('type', 'time');
    await expect(control('data')).toHaveAttribute('type', 'file');
    const percent = control('percent');
    await expect(percent).toHaveAttribute('max', '100');
    const send = tryIt.getByRole('button', { name: 'Send' });

    // Out of bounds: said at once, Send disabled; null for an Optional list.
    await percent.fill('150');
    await expect(tryIt.locator('.jp-RestifiedPanel-problem')).toHaveText(
      'must be at most 100.'
    );
    await expect(send).toBeDisabled();
    await percent.fill('40');
    await control('keep', 'textarea').fill('null');
    await expect(send).toBeEnabled();

    await statistic.selectOption({ label: 'median' });
    await control('start').fill('2024-01-10');
    await control('until').fill('2024-01-31T08:00');
    await control('cutoff').fill('07:45');
    await control('data').setInputFiles({
      name: 'scan.bin',
      mimeType: 'application/octet-stream',
      buffer: Buffer.from([0, 1, 255])
    });
    await attachScreenshot(tryIt, testInfo, 'tryit-types');
    await send.click();
    await expect(tryIt.locator('.jp-RestifiedPanel-status')).toHaveText(
      '200 OK',
      { timeout: 60_000 }
    );
    const result = JSON.parse(
      await tryIt.locator('.jp-RestifiedPanel-result').innerText()
    );
    expect(result).toMatchObject({
      statistic: 'median',
      days: 21,
      cutoff: '07:45:00',
      percent: 40,
      data: { bytes: 3, head: '0001ff' },
      keep: null
    });
  });
});
