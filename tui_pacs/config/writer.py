"""Write configuration changes back with ``tomlkit`` so comments and layout survive."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import tomlkit
from tomlkit.items import Table

from tui_pacs.config.loader import ConfigError, parse_config
from tui_pacs.config.model import RemoteNode


def _read_document(path: Path) -> tomlkit.TOMLDocument:
    if not path.exists():
        return tomlkit.document()
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8"))
    except Exception as exc:  # tomlkit raises several unrelated types
        raise ConfigError(path, "", f"not valid TOML ({exc})") from exc


def _write_document(path: Path, document: tomlkit.TOMLDocument) -> None:
    """Validate, then replace the file atomically so a crash never leaves half a config."""
    parse_config(document.unwrap(), path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".config-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(tomlkit.dumps(document))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_node(path: Path, node: RemoteNode) -> None:
    """Add or update ``[nodes.NAME]``, keeping everything else in the file as it was."""
    document = _read_document(path)
    nodes = document.get("nodes")
    if nodes is None:
        nodes = tomlkit.table(is_super_table=True)
        document["nodes"] = nodes
    table = nodes.get(node.name)
    if not isinstance(table, Table):
        table = tomlkit.table()
        nodes[node.name] = table
    table["ae_title"] = node.ae_title
    table["host"] = node.host
    table["port"] = node.port
    table["retrieve"] = node.retrieve.value
    if node.tls or "tls" in table:
        table["tls"] = node.tls
    if node.note or "note" in table:
        table["note"] = node.note
    _write_document(path, document)


def remove_node(path: Path, name: str) -> bool:
    """Remove ``[nodes.NAME]``; False when there was no such node."""
    document = _read_document(path)
    nodes = document.get("nodes")
    if nodes is None or name not in nodes:
        return False
    del nodes[name]
    _write_document(path, document)
    return True


def set_value(path: Path, dotted_key: str, value: object) -> None:
    """Set one value such as ``local.ae_title``, creating tables as needed."""
    document = _read_document(path)
    *parents, leaf = dotted_key.split(".")
    table: tomlkit.TOMLDocument | Table = document
    for part in parents:
        child = table.get(part)
        if child is None:
            child = tomlkit.table()
            table[part] = child
        table = child
    table[leaf] = value
    _write_document(path, document)
