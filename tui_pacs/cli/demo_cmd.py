"""``tui-pacs demo``: a fresh temporary home with the sample data, so a newcomer sees something real."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from tui_pacs.cli.context import AppContext, pass_app

SAMPLE_DATA = Path(__file__).resolve().parents[2] / "sample_data"


def find_sample_data() -> Path:
    """The repository's sample_data (an installed wheel carries none; then say so)."""
    if SAMPLE_DATA.is_dir():
        return SAMPLE_DATA
    raise click.ClickException("sample data not found; run the demo from a checkout (./scripts/demo)")


@click.command("demo")
@click.option("--keep", is_flag=True, help="Keep the temporary home and print where it is.")
@click.option("--headless", is_flag=True, help="Only import and list; do not open the workstation.")
@pass_app
def demo_cmd(app: AppContext, keep: bool, headless: bool) -> None:
    """Import the sample data into a fresh temporary home and open the workstation on it.

    Besides the local archive, a demo PACS node (``demo-pacs``) serves the
    second sample set on a loopback port for as long as the workstation is
    open, so echo, query, retrieve and send work with no configuration.
    """
    from tui_pacs.cli.output import print_table
    from tui_pacs.config.paths import resolve_paths
    from tui_pacs.domain.attributes import DEFAULT_KEYS, Level
    from tui_pacs.store.archive import Archive
    from tui_pacs.store.importer import import_paths
    from tui_pacs.store.query import Query

    source = find_sample_data()
    home = Path(tempfile.mkdtemp(prefix="tui-pacs-demo-"))
    demo = AppContext(home=str(home), verbosity=app.verbosity)
    paths = resolve_paths(home)
    paths.ensure()
    pacs = None
    try:
        if headless:
            local = source / "local" if (source / "local").is_dir() else source
            with Archive.open(paths) as archive:
                report = import_paths(archive, [local])
        else:
            from tui_pacs.services.demo import prepare_demo

            setup, pacs = prepare_demo(home, source)
            report = setup.report
        with Archive.open(paths) as archive:
            rows = archive.index.find(Query(Level.STUDY, {k: "" for k in DEFAULT_KEYS[Level.STUDY]}))
        click.echo(f"demo home: {home}")
        click.echo(f"imported {report.imported} sample instances in {len(report.study_uids)} studies\n")
        print_table(DEFAULT_KEYS[Level.STUDY], rows)
        if pacs is not None:
            from tui_pacs.ui.run import run_workstation

            run_workstation(demo)
    finally:
        if pacs is not None:
            pacs.stop()
        if not keep:
            import shutil

            shutil.rmtree(home, ignore_errors=True)
    if keep:
        click.echo(f"\nkept {home}; try: tui-pacs --home {home} ls --level series")
