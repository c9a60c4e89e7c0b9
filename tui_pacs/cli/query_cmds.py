"""``tui-pacs find NODE``: C-FIND at any level and root, results printed as they arrive."""

from __future__ import annotations

import json
import threading

import click

from tui_pacs.cli.context import AppContext, pass_app
from tui_pacs.cli.keys import key_option, parse_keys

_DEFAULT_KEYS = {
    "PATIENT": ("PatientName", "PatientID", "PatientBirthDate", "NumberOfPatientRelatedStudies"),
    "STUDY": ("PatientName", "PatientID", "StudyDate", "AccessionNumber", "ModalitiesInStudy",
              "StudyDescription", "NumberOfStudyRelatedInstances", "StudyInstanceUID"),
    "SERIES": ("Modality", "SeriesNumber", "SeriesDescription", "NumberOfSeriesRelatedInstances",
               "SeriesInstanceUID"),
    "IMAGE": ("InstanceNumber", "SOPClassUID", "SOPInstanceUID"),
}


@click.command("find")
@click.argument("node_name", metavar="NODE")
@click.option("--root", type=click.Choice(["patient", "study"]), default="study", show_default=True,
              help="Query/retrieve information model.")
@click.option("--level", type=click.Choice(["patient", "study", "series", "image"]), default="study",
              show_default=True, help="Query/Retrieve Level.")
@key_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array of matches.")
@pass_app
def find_cmd(app: AppContext, node_name: str, root: str, level: str, keys: tuple[str, ...], as_json: bool) -> int:
    """Query NODE with a C-FIND; each match is printed as soon as it arrives.

    Without -k, a useful set of keys for the level is asked for. Ctrl-C sends
    a C-CANCEL (PS3.7 9.3.2.3) and stops once the peer confirms.
    """
    import signal

    from tui_pacs.domain.attributes import Level, Root
    from tui_pacs.net.scu.find import RemoteQuery, send_c_find
    from tui_pacs.services.jobs import node_named

    app.setup_logging()
    node = node_named(app.config, node_name)
    asked = parse_keys(keys)
    lvl = Level.parse(level)
    query_keys = dict(asked) if asked else {k: "" for k in _DEFAULT_KEYS[lvl.value]}
    query = RemoteQuery(level=lvl, root=Root(root.upper()), keys=query_keys)
    columns = list(query_keys)
    for unique in ("PatientID", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
        if unique in query.identifier() and unique not in columns:
            columns.append(unique)
    cancel = threading.Event()
    count = 0
    if as_json:
        click.echo("[", nl=False)
    elif not as_json:
        click.echo("\t".join(columns))
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.set())
    try:
        for match in send_c_find(app.config.local.ae_title, node, query, cancel=cancel):
            row = {k: _text(match.get(k)) for k in columns}
            if as_json:
                click.echo(("," if count else "") + "\n  " + json.dumps(row, ensure_ascii=False), nl=False)
            else:
                click.echo("\t".join(row.values()))
            count += 1
    finally:
        signal.signal(signal.SIGINT, previous)
        if as_json:
            click.echo("\n]")
    if cancel.is_set():
        click.echo(f"cancelled after {count} matches", err=True)
        return 130
    click.echo(f"{count} match{'es' if count != 1 else ''}", err=True)
    return 0


def _text(element: object) -> str:
    if element is None:
        return ""
    value = getattr(element, "value", element)
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)  # type: ignore[union-attr,attr-defined]
    return "" if value is None else str(value)
