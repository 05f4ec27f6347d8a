import { expect, test } from '@jupyterlab/galata';
import type { Locator } from '@playwright/test';

import { openNotebook, openPanel, uploadExample } from './helpers';

/**
 * Whether an element's content fits its box (nothing cut or scrolled
 * sideways) and the element stays inside `container`.
 */
async function fitsInside(element: Locator, container: Locator) {
  const box = await container.evaluate(node => {
    const rect = node.getBoundingClientRect();
    return { left: rect.left, right: rect.right };
  });
  return element.evaluate((node, outer) => {
    const rect = node.getBoundingClientRect();
    return {
      contentFits: node.scrollWidth <= node.clientWidth,
      inside: rect.left >= outer.left - 0.5 && rect.right <= outer.right + 0.5
    };
  }, box);
}

test.describe('Layout at 1440 px', () => {
  test.use({ viewport: { width: 1440, height: 900 } });

  test('badges, snippets and tracebacks are read whole', async ({
    page,
    tmpPath
  }) => {
    await uploadExample(
      page,
      'error_path.ipynb',
      `${tmpPath}/error_path.ipynb`
    );
    await openNotebook(page, `${tmpPath}/error_path.ipynb`);
    const panel = await openPanel(page);

    // The 'parameters' badge (a ::after of the prompt) lies inside the
    // prompt's box: not cut to "arameters".
    const prompt = page
      .locator('.jp-RestifiedCell-parameters .jp-InputArea-prompt')
      .first();
    await expect(prompt).toBeVisible();
    const badge = await prompt.evaluate(node => {
      const style = getComputedStyle(node, '::after');
      const width =
        parseFloat(style.width) +
        parseFloat(style.paddingLeft) +
        parseFloat(style.paddingRight);
      const shift =
        style.transform && style.transform !== 'none'
          ? new DOMMatrix(style.transform).m41
          : 0;
      const left =
        style.left !== 'auto'
          ? parseFloat(style.left) + shift
          : node.clientWidth - parseFloat(style.right) - width + shift;
      return {
        content: style.content,
        left,
        right: left + width,
        room: node.clientWidth
      };
    });
    expect(badge.content).toBe('"parameters"');
    expect(badge.left).toBeGreaterThanOrEqual(0);
    expect(badge.right).toBeLessThanOrEqual(badge.room);

    // The curl snippet wraps inside the panel.
    const snippet = panel.locator('.jp-RestifiedPanel-snippets pre');
    await expect(snippet).toContainText('curl');
    expect(await fitsInside(snippet, panel)).toEqual({
      contentFits: true,
      inside: true
    });

    // So does a traceback.
    const tryIt = panel.locator('.jp-RestifiedPanel-tryIt');
    await tryIt.getByLabel('divisor float').fill('0');
    await tryIt.getByRole('button', { name: 'Send' }).click();
    const traceback = tryIt.locator('.jp-RestifiedPanel-traceback pre');
    await expect(traceback).toContainText('safe_divide', { timeout: 60_000 });
    expect(await fitsInside(traceback, panel)).toEqual({
      contentFits: true,
      inside: true
    });
  });
});
