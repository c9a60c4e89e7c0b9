"""The command line: bare ``tui-pacs`` runs the TUI; subcommands run headless.

Subcommands live one group per module and are imported lazily, so
``tui-pacs ls`` never pays for (or imports) Textual, pynetdicom or numpy.
To add a command, add one line to ``_COMMANDS``.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from tui_pacs.cli.context import AppContext, run_guarded

# name -> "module:attribute", imported only when the command runs or help is shown.
_COMMANDS: dict[str, str] = {
    "import": "tui_pacs.cli.archive_cmds:import_cmd",
    "ls": "tui_pacs.cli.archive_cmds:ls_cmd",
    "delete": "tui_pacs.cli.archive_cmds:delete_cmd",
    "prune": "tui_pacs.cli.archive_cmds:prune_cmd",
    "export": "tui_pacs.cli.export_cmd:export_cmd",
    "dump": "tui_pacs.cli.dump_cmd:dump_cmd",
    "config": "tui_pacs.cli.config_cmds:config_group",
    "demo": "tui_pacs.cli.demo_cmd:demo_cmd",
    "serve": "tui_pacs.cli.serve_cmd:serve_cmd",
    "preview": "tui_pacs.cli.preview_cmd:preview_cmd",
    "nodes": "tui_pacs.cli.node_cmds:nodes_group",
    "echo": "tui_pacs.cli.node_cmds:echo_cmd",
    "find": "tui_pacs.cli.query_cmds:find_cmd",
    "move": "tui_pacs.cli.transfer_cmds:move_cmd",
    "get": "tui_pacs.cli.transfer_cmds:get_cmd",
    "send": "tui_pacs.cli.transfer_cmds:send_cmd",
    "jobs": "tui_pacs.cli.transfer_cmds:jobs_group",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(_COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module_name, attribute = target.split(":")
        command: click.Command = getattr(importlib.import_module(module_name), attribute)
        return command


@click.group(cls=LazyGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    type=click.Path(file_okay=False),
    envvar="TUI_PACS_HOME",
    help="Keep config, index, store and logs in this directory (also TUI_PACS_HOME).",
)
@click.option("-v", "--verbose", count=True, help="More log detail on stderr (-vv for debug).")
@click.version_option(package_name="tui-pacs")
@click.pass_context
def cli(ctx: click.Context, home: str | None, verbose: int) -> None:
    """tui-pacs: a DICOM workstation in the terminal.

    Run without a command to open the workstation.
    """
    ctx.obj = AppContext(home=home, verbosity=verbose)
    if ctx.invoked_subcommand is None:
        _run_tui(ctx.obj)


def _run_tui(app_ctx: AppContext) -> None:
    try:
        run_module = importlib.import_module("tui_pacs.ui.run")
    except ModuleNotFoundError:
        click.echo("The workstation UI is not available in this build; see `tui-pacs --help`.", err=True)
        sys.exit(2)
    run_module.run_workstation(app_ctx)


def main(argv: list[str] | None = None) -> Any:
    """Entry point of the ``tui-pacs`` script; turns expected errors into one line."""
    return run_guarded(lambda: cli.main(args=argv, prog_name="tui-pacs", standalone_mode=False))
