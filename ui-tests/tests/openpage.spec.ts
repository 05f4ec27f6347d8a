import { expect, galata, test } from '@jupyterlab/galata';
import type { Request } from '@playwright/test';
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';

import { EXAMPLES, openNotebook, openPanel } from './helpers';

/**
 * The shared test server has no token and no XSRF check (galata's
 * configuration), so nothing there shows that the endpoint page works with
 * JupyterLab's login cookie. This spec starts a server of its own with the same
 * configuration, a token and the XSRF check on, as a Lab user's server is.
 */
const UI_TESTS = path.resolve(__dirname, '..');
const TOKEN = `openpage-${process.pid}-${Date.now()}`;
const NOTEBOOK = 'parameter_types.ipynb';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

let server: ChildProcess | null = null;
let serverURL = '';

test.describe('Open endpoint page', () => {
  test.beforeAll(async ({ playwright }, testInfo) => {
    const port = await freePort();
    serverURL = `http://localhost:${port}`;
    const log = fs.openSync(testInfo.outputPath('server.log'), 'w');
    server = spawn(
      'jupyter',
      [
        'lab',
        '--config',
        'jupyter_server_test_config.py',
        `--ServerApp.port=${port}`,
        `--IdentityProvider.token=${TOKEN}`,
        '--ServerApp.disable_check_xsrf=False'
      ],
      { cwd: UI_TESTS, stdio: ['ignore', log, log] }
    );
    fs.closeSync(log); // the server has its own copy
    const exited = new Promise<string>(resolve => {
      server!.once('exit', code => resolve(`exit code ${code}`));
      server!.once('error', error => resolve(String(error)));
    });
    // Jupyter Server says its URL before it listens: ask until it answers.
    const program = await playwright.request.newContext({
      extraHTTPHeaders: { Authorization: `token ${TOKEN}` }
    });
    try {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const status = await program
          .get(`${serverURL}/api/status`, { timeout: 2_000 })
          .then(r => r.status())
          .catch(() => 0);
        if (status === 200) {
          break;
        }
        const ended = await Promise.race([
          exited,
          new Promise<null>(resolve => setTimeout(() => resolve(null), 250))
        ]);
        if (ended !== null || Date.now() > deadline) {
          throw new Error(
            `the test server did not start (${ended ?? 'timed out'}); see server.log`
          );
        }
      }
      // The notebook, put there by a program with the token.
      const content = fs.readFileSync(path.join(EXAMPLES, NOTEBOOK), 'utf-8');
      const put = await program.put(`${serverURL}/api/contents/${NOTEBOOK}`, {
        data: { type: 'notebook', format: 'json', content: JSON.parse(content) }
      });
      expect(put.status()).toBe(201);
    } finally {
      await program.dispose();
    }
  });

  test.afterAll(async () => {
    if (server?.pid !== undefined && server.exitCode === null) {
      // As Ctrl-C: the server stops its kernels.
      const exited = new Promise(resolve => server!.once('exit', resolve));
      server.kill('SIGTERM');
      const timer = setTimeout(() => server?.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    server = null;
  });

  test('a Lab user opens it from the panel, runs it, and sends a file', async ({
    browser,
    playwright,
    waitForApplication
  }) => {
    const context = await browser.newContext();
    try {
      // Lab as its user has it: logged in with the token once, then the cookie.
      const page = galata.addHelpersToPage(
        await context.newPage(),
        serverURL,
        waitForApplication
      );
      await page.goto(`${serverURL}/lab?token=${TOKEN}`);
      await openNotebook(page, NOTEBOOK);
      const panel = await openPanel(page);
      const endpoint = `${serverURL}/restified/${NOTEBOOK}`;
      await expect(panel.locator('.jp-RestifiedPanel-url')).toHaveText(
        endpoint
      );

      // The endpoint page's requests for its data (Lab makes none), to see
      // what they send.
      const pageDataRequests: Request[] = [];
      context.on('request', request => {
        if (request.url().startsWith(`${serverURL}/api/restified/page/`)) {
          pageDataRequests.push(request);
        }
      });
      const openButton = panel.getByRole('link', {
        name: 'Open endpoint page'
      });
      await expect(openButton).toBeVisible();
      const [endpointPage] = await Promise.all([
        context.waitForEvent('page'),
        openButton.click()
      ]);

      // The endpoint's page for that notebook: its form from the page data.
      expect(endpointPage.url()).toBe(endpoint);
      await expect(endpointPage).toHaveTitle(
        'Parameter types — notebook endpoint'
      );
      await expect(endpointPage.locator('h1')).toHaveText('Parameter types');
      const form = endpointPage.locator('form.rp-form');
      const field = (name: string) =>
        form.locator(`.rp-field[data-name="${name}"]`);
      await expect(form.locator('.rp-field')).toHaveCount(12);
      expect(
        await form
          .locator('.rp-field')
          .evaluateAll(nodes => nodes.map(n => n.getAttribute('data-name')))
      ).toEqual([
        'statistic',
        'values',
        'weights',
        'size',
        'start',
        'until',
        'cutoff',
        'output',
        'percent',
        'title',
        'data',
        'keep'
      ]);
      const percent = field('percent').locator('input');
      await expect(percent).toHaveAttribute('type', 'number');
      await expect(percent).toHaveValue('50');
      await expect(field('statistic').locator('option')).toHaveText([
        'default (mean)',
        'mean',
        'median',
        'max'
      ]);
      const data = field('data').locator('input');
      await expect(data).toHaveAttribute('type', 'file');

      // The page data came with the login cookie alone: no token.
      expect(pageDataRequests).toHaveLength(1);
      const pageData = pageDataRequests[0];
      const pageDataHeaders = await pageData.allHeaders();
      expect(pageDataHeaders['authorization']).toBeUndefined();
      expect(pageDataHeaders['cookie']).toContain(
        `username-localhost-${new URL(serverURL).port}=`
      );
      expect((await pageData.response())?.status()).toBe(200);

      // Run with one value changed: the values go in the query (GET).
      const result = endpointPage.locator('section.rp-result');
      // A leaf of the result's tree: `key: value`.
      const value = (key: string) =>
        result
          .locator('.rp-key', { hasText: new RegExp(`^${key}:\\s*$`) })
          .locator('xpath=following-sibling::span[1]');
      await percent.fill('73');
      const run = form.getByRole('button', { name: 'Run' });
      await run.click();
      await expect(result.locator('.rp-status')).toHaveText(
        /^Done in \d+ ms\.$/,
        { timeout: 60_000 }
      );
      await expect(value('percent')).toHaveText('73');
      await expect(value('title')).toHaveText('"Report"');
      await expect(value('statistic')).toHaveText('"mean"');
      await expect(value('bytes')).toHaveText('0');

      // A file: multipart POST with the cookie, which needs the XSRF header.
      const file = Buffer.alloc(1234, 7);
      file.write('restified', 0, 'latin1');
      await data.setInputFiles({
        name: 'upload.bin',
        mimeType: 'application/octet-stream',
        buffer: file
      });
      const [post] = await Promise.all([
        endpointPage.waitForRequest(
          r => r.method() === 'POST' && r.url() === endpoint
        ),
        run.click()
      ]);
      const postHeaders = await post.allHeaders();
      expect(postHeaders['authorization']).toBeUndefined();
      expect(postHeaders['content-type']).toMatch(/^multipart\/form-data;/);
      const xsrf = (await context.cookies(serverURL)).find(
        c => c.name === '_xsrf'
      );
      expect(xsrf).toBeDefined();
      expect(postHeaders['x-xsrftoken']).toBe(decodeURIComponent(xsrf!.value));
      expect((await post.response())?.status()).toBe(200);
      await expect(result.locator('.rp-status')).toHaveText(
        /^Done in \d+ ms\.$/
      );
      await expect(value('bytes')).toHaveText('1234');
      await expect(value('head')).toHaveText(
        `"${file.subarray(0, 16).toString('hex')}"`
      );
      await expect(value('percent')).toHaveText('73');

      // This server does check both: the same POST without the header is
      // refused, and the page data without the cookie.
      const withoutHeader = await endpointPage.evaluate(async url => {
        const body = new FormData();
        body.append('data', new Blob(['x']), 'x.bin');
        const response = await fetch(url, {
          method: 'POST',
          body,
          headers: { Accept: 'application/json' },
          credentials: 'same-origin'
        });
        return response.status;
      }, endpoint);
      expect(withoutHeader).toBe(403);
      const stranger = await playwright.request.newContext();
      try {
        const refused = await stranger.get(
          `${serverURL}/api/restified/page/${NOTEBOOK}`
        );
        expect(refused.status()).toBe(403);
      } finally {
        await stranger.dispose();
      }
    } finally {
      await context.close();
    }
  });
});
