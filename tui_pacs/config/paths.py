"""Where config, index, store and logs live.

By default they follow the platform conventions (``platformdirs``). One
directory given by ``--home`` or ``TUI_PACS_HOME`` moves everything at once:
tests, demos and portable installs rely on it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HOME_ENV = "TUI_PACS_HOME"
CONFIG_ENV = "TUI_PACS_CONFIG"
APP_NAME = "tui-pacs"


@dataclass(frozen=True)
class Paths:
    """Every location the application writes to."""

    config_file: Path
    data_dir: Path
    log_dir: Path
    runtime_dir: Path

    @property
    def index_file(self) -> Path:
        """The SQLite index of the archive."""
        return self.data_dir / "index.sqlite"

    @property
    def store_dir(self) -> Path:
        """The root of the instance files."""
        return self.data_dir / "store"

    @property
    def socket_file(self) -> Path:
        """The UNIX socket a running ``serve`` publishes events and takes commands on."""
        return self.runtime_dir / "tui-pacs.sock"

    def ensure(self) -> None:
        """Create the directories (called by commands, never at import)."""
        for directory in (self.config_file.parent, self.data_dir, self.log_dir, self.runtime_dir):
            directory.mkdir(parents=True, exist_ok=True)


def resolve_paths(home: str | os.PathLike[str] | None = None) -> Paths:
    """Paths for an explicit home, else ``TUI_PACS_HOME``, else platform defaults.

    ``TUI_PACS_CONFIG`` overrides only the config file location.
    """
    chosen = home if home is not None else os.environ.get(HOME_ENV)
    if chosen:
        root = Path(chosen).expanduser().absolute()
        paths = Paths(
            config_file=root / "config.toml",
            data_dir=root / "data",
            log_dir=root / "logs",
            runtime_dir=root / "run",
        )
    else:
        import platformdirs

        dirs = platformdirs.PlatformDirs(APP_NAME, appauthor=False)
        paths = Paths(
            config_file=Path(dirs.user_config_dir) / "config.toml",
            data_dir=Path(dirs.user_data_dir),
            log_dir=Path(dirs.user_log_dir),
            runtime_dir=Path(dirs.user_runtime_dir),
        )
    override = os.environ.get(CONFIG_ENV)
    if override:
        paths = Paths(Path(override).expanduser().absolute(), paths.data_dir, paths.log_dir, paths.runtime_dir)
    return paths
