"""``tui-pacs config show|path``."""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any

import click

from tui_pacs.cli.context import AppContext, pass_app
from tui_pacs.cli.output import print_json


@click.group("config")
def config_group() -> None:
    """Show the configuration and where it lives."""


@config_group.command("path")
@pass_app
def config_path(app: AppContext) -> None:
    """Print the config file path (and the data and log directories)."""
    paths = app.paths
    click.echo(f"config: {paths.config_file}")
    click.echo(f"index:  {paths.index_file}")
    click.echo(f"store:  {paths.store_dir}")
    click.echo(f"logs:   {paths.log_dir}")


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@config_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def config_show(app: AppContext, as_json: bool) -> None:
    """Print the effective configuration (file values over defaults)."""
    data = _plain(app.config)
    if as_json:
        print_json(data)
        return
    import tomlkit

    click.echo(f"# {app.paths.config_file}{'' if app.paths.config_file.exists() else ' (not created yet: defaults)'}")
    cleaned = {k: v for k, v in data.items() if v not in (None, {}, "")}
    click.echo(tomlkit.dumps(_drop_none(cleaned)))


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    return value
