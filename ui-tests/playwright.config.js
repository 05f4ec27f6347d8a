/**
 * Playwright configuration for the notebook-restified Galata tests.
 *
 * Extends galata's defaults; drives Debian's chromium (/usr/bin/chromium)
 * instead of a Playwright-downloaded browser, and starts the Jupyter server
 * itself (`jlpm start`) on a free port, so a JupyterLab already running on 8888
 * (`bash .ci/lab`) is no obstacle. UI_TESTS_PORT=8888 runs against a server
 * started by hand with `jlpm start` instead (reused outside CI).
 */
const { execFileSync } = require('child_process');
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

// Playwright loads this file again in each worker process: pick the port once, in
// the first process, and hand it down through the environment the workers inherit.
if (!process.env.UI_TESTS_PORT) {
  // The kernel's pick of a free port, asked synchronously (a config cannot wait).
  process.env.UI_TESTS_PORT = execFileSync(process.execPath, [
    '-e',
    `const s = require('net').createServer();
     s.listen(0, '127.0.0.1', () => { process.stdout.write(String(s.address().port)); s.close(); });`
  ]).toString();
}
const PORT = process.env.UI_TESTS_PORT;
const BASE_URL = `http://localhost:${PORT}`;

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic'
];

module.exports = {
  ...baseConfig,
  testDir: './tests',
  // One worker: every test shares the same Jupyter server, and the test
  // machines have 2 cores.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: process.env.CI ? 1 : 0,
  timeout: 90 * 1000,
  expect: { timeout: 15 * 1000 },
  reporter: [['list'], ['html', { open: 'never' }]],
  use: {
    ...baseConfig.use,
    browserName: 'chromium',
    baseURL: BASE_URL,
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: CHROMIUM_ARGS
    },
    // Video recording needs Playwright's own ffmpeg, which is not installed.
    video: 'off',
    // Traces need no ffmpeg.
    trace: 'retain-on-failure'
  },
  webServer: {
    // Overrides galata's port 8888 (port_retries stays 0: a taken port fails fast).
    command: `jlpm start --ServerApp.port=${PORT}`,
    url: `${BASE_URL}/lab`,
    timeout: 180 * 1000,
    reuseExistingServer: !process.env.CI,
    // Stop JupyterLab as Ctrl-C would, so the server extension stops its kernels and
    // removes their sockets (a kill would leave them behind).
    gracefulShutdown: { signal: 'SIGTERM', timeout: 15 * 1000 }
  }
};
