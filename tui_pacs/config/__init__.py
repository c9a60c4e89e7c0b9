"""Configuration: where things live (paths) and what the node is (TOML config).

Reading uses ``tomllib``; writing back uses ``tomlkit`` so a user's comments
survive. Nothing here touches the disk at import time.
"""

from tui_pacs.config.model import Config, LocalNode, RemoteNode, Timeouts
from tui_pacs.config.paths import Paths, resolve_paths

__all__ = ["Config", "LocalNode", "Paths", "RemoteNode", "Timeouts", "resolve_paths"]
