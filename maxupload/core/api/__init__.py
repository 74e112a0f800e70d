"""The Max AI Public API: transport, session and retries, endpoints, wire parsing, errors."""

import sys

# httpx loads its own command-line client (``httpx._main``) when click, rich and pygments are
# installed, about 80 ms at every start of the window and the command line; MaxUpload never
# runs it. A None entry makes that import fail as httpx expects where they are missing.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
