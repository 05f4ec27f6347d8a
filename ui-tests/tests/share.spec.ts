import { expect, test } from '@jupyterlab/galata';

import {
  attachScreenshot,
  openNotebook,
  openPanel,
  uploadExample
} from './helpers';

test.use({ permissions: ['clipboard-read', 'clipboard-write'] });

test.describe('Share', () => {
  test('create a key, copy its link, call with it, see the call, revoke it', async ({
    baseURL,
    page,
    playwright,
    request,
    tmpPath
  }, testInfo) => {
    const notebookPath = `${tmpPath}/fibonacci.ipynb`;
    // Keys outlive the server's runs (its data directory): start clean.
    const listed = await request.get(
      `/api/restified/keys?path=${encodeURIComponent(notebookPath)}`
    );
    for (const key of (await listed.json()).keys) {
      await request.delete(`/api/restified/keys/${key.id}`);
    }
    await uploadExample(page, 'fibonacci.ipynb', notebookPath);
    await openNotebook(page, notebookPath);
    await page.sidebar.setWidth(380, 'right');
    const panel = await openPanel(page);
    const share = panel.locator('.jp-RestifiedPanel-share');
    await expect(share.locator('.jp-RestifiedPanel-keys')).toContainText(
      'No keys yet.'
    );

    // Create: a label is required, the expiry is optional.
    const create = share.getByRole('button', { name: 'Create key' });
    await expect(create).toBeDisabled();
    // Disabled, and says why.
    await expect(create).toHaveAccessibleDescription(
      'Say who the key is for to create it.'
    );
    await expect(share).toContainText('Say who the key is for to create it.');
    // The README's own label: not announced as "Key for for Alice".
    await share.getByLabel('Who is it for?').fill('for Alice');
    await expect(share).not.toContainText('Say who the key is for');
    await share.getByLabel('Who is it for?').fill('Alice in finance');
    await share.getByLabel('Expires').selectOption({ label: 'In 7 days' });
    await create.click();

    // The secret, once: a link and a curl command, each with a copy button.
    const newKey = share.locator('.jp-RestifiedPanel-newKey');
    await expect(newKey).toContainText('the secret is shown only once');
    await expect(newKey.locator('.jp-RestifiedPanel-newKeyTitle')).toHaveText(
      'New key “Alice in finance”. Copy it now: the secret is shown only once.'
    );
    const endpoint = `${baseURL}/restified/${tmpPath}/fibonacci.ipynb`;
    const link = await newKey
      .locator('.jp-RestifiedPanel-keyLink')
      .inputValue();
    // The key is in the fragment, which browsers never send (the page reads it).
    expect(link.startsWith(`${endpoint}?shared#key=nrk_`)).toBe(true);
    const secret = link.slice(link.indexOf('#key=') + 5);
    const keyed = `${endpoint}?key=${secret}`;
    await expect(newKey.locator('.jp-RestifiedPanel-keyCurl')).toHaveValue(
      `curl -H 'Authorization: Bearer ${secret}' '${endpoint}?n=10'`
    );
    await newKey
      .getByRole('button', { name: 'Copy the link with the key' })
      .click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(
      link
    );

    // The key is listed, unused.
    const item = share.locator('.jp-RestifiedPanel-key');
    await expect(item).toHaveCount(1);
    await expect(item.locator('.jp-RestifiedPanel-keyLabel')).toHaveText(
      'Alice in finance'
    );
    await expect(item.locator('.jp-RestifiedPanel-calls')).toHaveText('0');
    await expect(item.locator('.jp-RestifiedPanel-lastUsed')).toHaveText(
      'never'
    );
    await expect(item).toContainText('in 7 days');
    // Who made it: this Lab user, as the server knows them.
    const me = await page.request.get(`${baseURL}/api/me`);
    expect(me.status()).toBe(200);
    const { identity } = await me.json();
    expect(identity.username).toBeTruthy();
    const shown =
      identity.display_name && identity.display_name !== identity.username
        ? `${identity.display_name} (${identity.username})`
        : identity.username;
    await expect(item.locator('.jp-RestifiedPanel-madeBy')).toHaveText(shown);
    await attachScreenshot(panel, testInfo, 'panel-share');

    // A colleague calls with the key alone: no server token, no cookie.
    const colleague = await playwright.request.newContext();
    try {
      const answer = await colleague.get(keyed);
      expect(answer.status()).toBe(200);
      expect(await answer.json()).toBe(55);
      // With the header, as in the curl command.
      const posted = await colleague.post(endpoint, {
        headers: { Authorization: `Bearer ${secret}` },
        data: { n: 12 }
      });
      expect(posted.status()).toBe(200);
      expect(await posted.json()).toBe(144);

      // The panel counts the calls.
      await panel.getByRole('button', { name: 'Refresh the keys' }).click();
      await expect(item.locator('.jp-RestifiedPanel-calls')).toHaveText('2');
      await expect(item.locator('.jp-RestifiedPanel-lastUsed')).not.toHaveText(
        'never'
      );

      // Hide the secret.
      await newKey
        .getByRole('button', { name: 'Done, hide the secret' })
        .click();
      await expect(newKey).toHaveCount(0);

      // Revoke, after a confirmation.
      await item
        .getByRole('button', { name: 'Revoke the key Alice in finance' })
        .click();
      const dialog = page.locator('.jp-Dialog');
      await expect(dialog).toContainText('Revoke this key?');
      await dialog.getByRole('button', { name: 'Revoke the key' }).click();
      await expect(item).toHaveCount(0);
      await expect(share.locator('.jp-RestifiedPanel-keys')).toContainText(
        'No keys yet.'
      );

      // The same call is now refused.
      const refused = await colleague.get(keyed);
      expect(refused.status()).toBe(403);
      expect((await refused.json()).error.type).toBe('forbidden');
    } finally {
      await colleague.dispose();
    }
  });
});
