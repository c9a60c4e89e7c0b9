"""``tui-pacs nodes add|list|remove`` and ``tui-pacs echo NODE``.

Nodes are written with :mod:`tui_pacs.config.writer`, so comments and layout
of the config file survive.
"""

from __future__ import annotations

import click

from tui_pacs.cli.context import AppContext, pass_app
from tui_pacs.cli.output import print_json, print_table
from tui_pacs.config.model import RemoteNode, RetrieveMethod
from tui_pacs.domain.errors import DomainError
from tui_pacs.domain.uids import normalise_ae_title


@click.group("nodes")
def nodes_group() -> None:
    """The remote DICOM nodes this workstation talks to."""


@nodes_group.command("add")
@click.argument("name")
@click.option("--aet", required=True, help="The node's AE title.")
@click.option("--host", required=True, help="Host name or address.")
@click.option("--port", required=True, type=click.IntRange(1, 65535), help="DICOM port.")
@click.option("--retrieve", type=click.Choice(["move", "get"]), default="move", show_default=True,
              help="How studies are pulled from it.")
@click.option("--note", default="", help="Free text shown in the node list.")
@pass_app
def nodes_add(app: AppContext, name: str, aet: str, host: str, port: int, retrieve: str, note: str) -> None:
    """Add NAME (or update it, keeping its other settings)."""
    from tui_pacs.config.writer import save_node

    if not name or not all(ch.isalnum() or ch in "-_." for ch in name):
        raise DomainError("node names may hold letters, digits, '-', '_' and '.' only")
    existing = app.config.nodes.get(name)
    node = RemoteNode(name=name, ae_title=normalise_ae_title(aet), host=host, port=port,
                      retrieve=RetrieveMethod(retrieve), note=note,
                      tls=existing.tls if existing else False)
    save_node(app.paths.config_file, node)
    click.echo(f"{'updated' if existing else 'added'} {name}: {node.ae_title}@{host}:{port}")


@nodes_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def nodes_list(app: AppContext, as_json: bool) -> None:
    """List the configured nodes."""
    rows = [{"name": n.name, "ae_title": n.ae_title, "host": n.host, "port": n.port,
             "retrieve": n.retrieve.value, "tls": n.tls, "note": n.note}
            for n in sorted(app.config.nodes.values(), key=lambda n: n.name)]
    if as_json:
        print_json(rows)
    elif rows:
        print_table(["name", "ae_title", "host", "port", "retrieve", "note"], rows)
    else:
        click.echo("no nodes configured; add one with `tui-pacs nodes add NAME --aet AET --host HOST --port PORT`")


@nodes_group.command("remove")
@click.argument("name")
@pass_app
def nodes_remove(app: AppContext, name: str) -> int:
    """Remove NAME from the configuration."""
    from tui_pacs.config.writer import remove_node

    if not remove_node(app.paths.config_file, name):
        click.echo(f"error: no node named {name!r}", err=True)
        return 1
    click.echo(f"removed {name}")
    return 0


@click.command("echo")
@click.argument("node_name", metavar="NODE")
@pass_app
def echo_cmd(app: AppContext, node_name: str) -> None:
    """Send a C-ECHO to NODE and print the round trip."""
    import time

    from tui_pacs.net.scu.echo import send_c_echo
    from tui_pacs.services.jobs import node_named

    app.setup_logging()
    node = node_named(app.config, node_name)
    start = time.perf_counter()
    rtt = send_c_echo(app.config.local.ae_title, node)
    total = time.perf_counter() - start
    click.echo(f"{node.name} ({node.ae_title}@{node.host}:{node.port}): C-ECHO {rtt * 1000:.1f} ms "
               f"(with association {total * 1000:.1f} ms)")
