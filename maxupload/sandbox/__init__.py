"""A local implementation of the Max AI API contract, for demo mode and tests.

``SandboxServer(SandboxConfig(...)).start()`` serves the demo clinic on loopback; see
:mod:`maxupload.sandbox.server` for the control endpoints under ``/_sandbox/``.
"""

from maxupload.sandbox.config import Faults, SandboxConfig
from maxupload.sandbox.demo_data import DemoData
from maxupload.sandbox.server import SandboxServer

__all__ = ["DemoData", "Faults", "SandboxConfig", "SandboxServer"]
