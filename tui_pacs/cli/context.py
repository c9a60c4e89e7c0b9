"""What every command shares: resolved paths, the loaded config, logging, error policy."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import click

from tui_pacs.config.loader import ConfigError, load_config
from tui_pacs.config.model import Config
from tui_pacs.config.paths import Paths, resolve_paths
from tui_pacs.domain.errors import TuiPacsError

log = logging.getLogger("tui_pacs.cli")

EXIT_FAILURE = 1
EXIT_USAGE = 2


@dataclass
class AppContext:
    """Lazily resolved state shared by the subcommands of one invocation."""

    home: str | None = None
    verbosity: int = 0
    _paths: Paths | None = field(default=None, repr=False)
    _config: Config | None = field(default=None, repr=False)

    @property
    def paths(self) -> Paths:
        if self._paths is None:
            self._paths = resolve_paths(self.home)
        return self._paths

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.paths.config_file)
        return self._config

    def reload_config(self) -> Config:
        self._config = None
        return self.config

    def setup_logging(self, *, to_file: bool = True) -> None:
        """stderr gets warnings (or more with -v); the log file keeps full detail."""
        root = logging.getLogger("tui_pacs")
        root.setLevel(logging.DEBUG)
        level = logging.WARNING - 10 * min(self.verbosity, 2)
        stderr = logging.StreamHandler(sys.stderr)
        stderr.setLevel(level)
        stderr.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(stderr)
        # Library warnings (pydicom's "Expected explicit VR...") belong in the log, not on the screen.
        logging.captureWarnings(True)
        warnings_log = logging.getLogger("py.warnings")
        warnings_log.propagate = False
        warnings_log.addHandler(logging.NullHandler())
        if to_file:
            self.paths.log_dir.mkdir(parents=True, exist_ok=True)
            handler = logging.FileHandler(self.paths.log_dir / "tui-pacs.log", encoding="utf-8")
            handler.setLevel(logging.DEBUG)
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
            root.addHandler(handler)
            warnings_log.addHandler(handler)


def run_guarded(action: Callable[[], Any]) -> Any:
    """Run a command; expected failures become one readable line and an exit status.

    Configuration errors exit 2, other expected failures 1. Unexpected
    exceptions still print one line, and the log file has the traceback.
    """
    try:
        result = action()
    except ConfigError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(EXIT_USAGE)
    except TuiPacsError as exc:
        log.debug("command failed", exc_info=True)
        click.echo(f"error: {exc.title}: {exc.message}", err=True)
        sys.exit(EXIT_FAILURE)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(EXIT_FAILURE)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(EXIT_FAILURE)
    except Exception as exc:  # last resort: one line for the user, detail in the log
        log.exception("unexpected failure")
        click.echo(f"error: unexpected {type(exc).__name__}: {exc} (details in the log)", err=True)
        sys.exit(EXIT_FAILURE)
    if isinstance(result, int) and result:
        sys.exit(result)
    return result


pass_app = click.make_pass_decorator(AppContext)
