/**
 * The panel speed benchmark (`jlpm test:benchmark`): the main configuration,
 * on the benchmark folder, which the default `jlpm test` does not run.
 *
 * With BENCHMARK_LAB_ONLY set (`jlpm test:benchmark:lab`), the server reads
 * benchmark/lab-only's page configuration too, which disables this
 * extension in the page: JupyterLab's own figures, for comparison.
 */
const path = require('path');

const config = require('./playwright.config');

if (process.env.BENCHMARK_LAB_ONLY) {
  // The Jupyter server started by Playwright inherits this environment.
  process.env.JUPYTER_CONFIG_PATH = [
    path.resolve(__dirname, 'benchmark', 'lab-only'),
    process.env.JUPYTER_CONFIG_PATH
  ]
    .filter(Boolean)
    .join(path.delimiter);
}

module.exports = {
  ...config,
  testDir: './benchmark',
  retries: 0,
  timeout: 15 * 60 * 1000
};
