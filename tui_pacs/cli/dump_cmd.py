"""``tui-pacs dump FILE``: the elements of one DICOM file, as a tag tree or DICOM JSON.

Works on any file without touching the archive or the config, like
``dcmdump``. Anything that is not a readable DICOM file (missing, not DICOM,
truncated) becomes one ``error:`` line and exit status 1.
"""

from __future__ import annotations

import json
import logging
import struct
from pathlib import Path
from typing import Any

import click

from tui_pacs.cli.context import AppContext, pass_app
from tui_pacs.store.errors import NotDicom

log = logging.getLogger(__name__)

#: Binary values above this many bytes are left out of --json (bulk data, PS3.18 F.2.7).
JSON_BULK_THRESHOLD = 256


@click.command("dump")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True,
              help="Print the DICOM JSON model (PS3.18 F) without bulk data.")
@click.option("-w", "--max-value", type=click.IntRange(min=0), default=80, show_default=True,
              help="Cut longer values to this many characters (0: never cut).")
@click.option("-f", "--force", is_flag=True,
              help="Read files without the 128-byte preamble and DICM prefix.")
@pass_app
def dump_cmd(app: AppContext, file: Path, as_json: bool, max_value: int, force: bool) -> None:
    """Show the elements of FILE: file meta first, sequences indented, text decoded."""
    from tui_pacs.store.tagtree import build_tree, render_lines

    app.setup_logging(to_file=False)
    if app.verbosity == 0:  # pydicom's own log lines would otherwise reach stderr unasked
        logging.getLogger("pydicom").addHandler(logging.NullHandler())
    ds = read_dataset(file, force=force)
    try:
        if as_json:
            lines = [json.dumps(dataset_json(ds), ensure_ascii=False, indent=2)]
        else:
            lines = render_lines(build_tree(ds, max_value=max_value))
    except (ValueError, TypeError, KeyError, AttributeError, struct.error, OSError) as exc:
        # A value that cannot be decoded (bad VR length, broken sequence): the file is damaged.
        log.debug("decoding %s failed", file, exc_info=True)
        raise NotDicom(f"{file}: cannot decode: {exc}") from exc
    for line in lines:
        click.echo(line)


def read_dataset(path: Path, *, force: bool = False) -> Any:
    """Read a whole file with pydicom; raise :class:`NotDicom` with a one-line reason."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    from tui_pacs.store.tagtree import find_truncation

    try:
        ds = pydicom.dcmread(path, force=force)
    except FileNotFoundError as exc:
        raise NotDicom(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise NotDicom(f"{path}: is a directory") from exc
    except PermissionError as exc:
        raise NotDicom(f"{path}: permission denied") from exc
    except InvalidDicomError as exc:
        raise NotDicom(f"{path}: not a DICOM file (no DICM prefix; --force reads it anyway)") \
            from exc
    except (OSError, EOFError, ValueError, TypeError, KeyError, struct.error) as exc:
        log.debug("reading %s failed", path, exc_info=True)
        raise NotDicom(f"{path}: unreadable or truncated: {exc}") from exc
    reason = find_truncation(ds)
    if reason is not None:
        raise NotDicom(f"{path}: {reason}")
    return ds


def dataset_json(ds: Any) -> dict[str, Any]:
    """The DICOM JSON model of the data set; binary values over the threshold are omitted.

    An omitted value keeps its ``vr`` and loses ``InlineBinary``/``BulkDataURI``,
    which PS3.18 F.2.5 allows as an element without a value.
    """

    def drop_bulk(_elem: Any) -> str:
        return ""

    result: dict[str, Any] = ds.to_json_dict(
        bulk_data_threshold=JSON_BULK_THRESHOLD, bulk_data_element_handler=drop_bulk,
        suppress_invalid_tags=True,
    )
    _strip_empty_bulk(result)
    return result


def _strip_empty_bulk(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("BulkDataURI") == "":
            del node["BulkDataURI"]
        for value in node.values():
            _strip_empty_bulk(value)
    elif isinstance(node, list):
        for value in node:
            _strip_empty_bulk(value)
