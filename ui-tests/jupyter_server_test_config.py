"""Jupyter Server configuration for the Galata (Playwright) UI tests.

Used by `jlpm start`, which Playwright's `webServer` runs. Never use this
configuration outside of tests: it removes every security protection.
"""

from jupyterlab.galata import configure_jupyter_server

c = get_config()  # noqa: F821

# Port 8888 (playwright.config.js passes a free port on the command line instead),
# no token/password/XSRF, a fresh temporary root_dir and workspaces dir per start,
# and the galata helper extension.
configure_jupyter_server(c)

# The test machines (and many CI containers) run as root.
c.ServerApp.allow_root = True

# Endpoint keys made by the tests live and die with this server (Playwright stops it
# with SIGTERM, after which Python runs its exit handlers).
import atexit  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402

_keys_dir = tempfile.mkdtemp(prefix="restified-keys-")
atexit.register(shutil.rmtree, _keys_dir, ignore_errors=True)
c.RestifiedApp.keys_file = os.path.join(_keys_dir, "keys.json")
