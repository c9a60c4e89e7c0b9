"""Read and validate the TOML configuration.

A bad file gives one :class:`ConfigError` naming the file, the key and what is
wrong; the CLI turns it into one line and exit status 2.
"""

from __future__ import annotations

import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

from tui_pacs.config.model import (
    AccessPolicy,
    ArchiveSettings,
    Config,
    DuplicatePolicy,
    LocalNode,
    RemoteNode,
    RetrieveMethod,
    Timeouts,
    default_ae_title,
)
from tui_pacs.domain.errors import InvalidAETitle, TuiPacsError
from tui_pacs.domain.uids import normalise_ae_title

THEMES = ("dark", "light", "high-contrast")
GRAPHICS = ("auto", "kitty", "sixel", "iterm", "blocks")


class ConfigError(TuiPacsError):
    """The configuration file is unreadable or holds an invalid value."""

    title = "Configuration error"

    def __init__(self, file: Path, key: str, problem: str) -> None:
        super().__init__(f"{file}: {key}: {problem}" if key else f"{file}: {problem}")
        self.file = file
        self.key = key
        self.problem = problem


def load_config(path: Path) -> Config:
    """Load ``path``; a missing file gives the defaults."""
    if not path.exists():
        return Config(local=LocalNode(ae_title=default_ae_title()))
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "", f"not valid TOML ({exc})") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, "", f"cannot be read ({exc})") from exc
    return parse_config(data, path)


def parse_config(data: dict[str, Any], path: Path) -> Config:
    """Turn a parsed TOML document into a :class:`Config`, validating every key."""
    reader = _Reader(path)
    reader.only(data, "", {"local", "nodes", "archive", "ui"})
    local = reader.local(reader.table(data, "local"))
    nodes_table = reader.table(data, "nodes")
    nodes = {name: reader.node(name, reader.table(nodes_table, name, "nodes")) for name in nodes_table}
    archive = reader.archive(reader.table(data, "archive"))
    ui = reader.table(data, "ui")
    reader.only(ui, "ui", {"theme", "graphics", "keymap"})
    theme = reader.choice(ui, "ui.theme", "theme", THEMES, "dark")
    graphics = reader.choice(ui, "ui.graphics", "graphics", GRAPHICS, "auto")
    keymap_table = reader.table(ui, "keymap", "ui")
    keymap = {k: reader.string(keymap_table, f"ui.keymap.{k}", k, "") for k in keymap_table}
    return Config(local=local, nodes=nodes, archive=archive, theme=theme, graphics=graphics, keymap=keymap)


class _Reader:
    """Typed accessors that know the dotted key they are reading, for error messages."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(self.path, key, problem)

    def only(self, table: dict[str, Any], prefix: str, allowed: set[str]) -> None:
        for key in table:
            if key not in allowed:
                dotted = f"{prefix}.{key}" if prefix else key
                raise self.fail(dotted, f"unknown key (expected one of: {', '.join(sorted(allowed))})")

    def table(self, parent: dict[str, Any], key: str, prefix: str = "") -> dict[str, Any]:
        value = parent.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(f"{prefix}.{key}" if prefix else key, "must be a table")
        return value

    def string(self, table: dict[str, Any], dotted: str, key: str, default: str) -> str:
        value = table.get(key, default)
        if not isinstance(value, str):
            raise self.fail(dotted, "must be a string")
        return value

    def boolean(self, table: dict[str, Any], dotted: str, key: str, default: bool) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(dotted, "must be true or false")
        return value

    def integer(self, table: dict[str, Any], dotted: str, key: str, default: int, lo: int, hi: int) -> int:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise self.fail(dotted, f"must be a whole number from {lo} to {hi}")
        return value

    def number(self, table: dict[str, Any], dotted: str, key: str, default: float | None) -> float | None:
        value = table.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise self.fail(dotted, "must be a positive number")
        return float(value)

    def choice(self, table: dict[str, Any], dotted: str, key: str, options: tuple[str, ...], default: str) -> str:
        value = table.get(key, default)
        if value not in options:
            raise self.fail(dotted, f"must be one of: {', '.join(options)}")
        return str(value)

    def ae_title(self, table: dict[str, Any], dotted: str, default: str | None) -> str:
        value = table.get("ae_title", default)
        if value is None:
            raise self.fail(dotted, "is required")
        try:
            return normalise_ae_title(value)
        except InvalidAETitle as exc:
            raise self.fail(dotted, exc.message) from None

    def timeouts(self, table: dict[str, Any], prefix: str) -> Timeouts:
        sub = self.table(table, "timeouts", prefix)
        names = {f.name for f in fields(Timeouts)}
        self.only(sub, f"{prefix}.timeouts", names)
        defaults = Timeouts()
        values = {
            name: self.number(sub, f"{prefix}.timeouts.{name}", name, getattr(defaults, name))
            for name in names
        }
        return Timeouts(**values)  # type: ignore[arg-type]

    def local(self, table: dict[str, Any]) -> LocalNode:
        self.only(table, "local", {f.name for f in fields(LocalNode)})
        return LocalNode(
            ae_title=self.ae_title(table, "local.ae_title", default_ae_title()),
            bind=self.string(table, "local.bind", "bind", "0.0.0.0"),
            port=self.integer(table, "local.port", "port", 11112, 1, 65535),
            tls_port=self.integer(table, "local.tls_port", "tls_port", 2762, 1, 65535),
            max_associations=self.integer(table, "local.max_associations", "max_associations", 50, 1, 1000),
            access=AccessPolicy(self.choice(table, "local.access", "access", tuple(p.value for p in AccessPolicy), "any")),
            check_called_ae=self.boolean(table, "local.check_called_ae", "check_called_ae", True),
            timeouts=self.timeouts(table, "local"),
        )

    def node(self, name: str, table: dict[str, Any]) -> RemoteNode:
        prefix = f"nodes.{name}"
        if not name or not all(ch.isalnum() or ch in "-_." for ch in name):
            raise self.fail(prefix, "node names may hold letters, digits, '-', '_' and '.' only")
        self.only(table, prefix, {f.name for f in fields(RemoteNode)} - {"name"})
        host = self.string(table, f"{prefix}.host", "host", "")
        if not host:
            raise self.fail(f"{prefix}.host", "is required")
        if "port" not in table:
            raise self.fail(f"{prefix}.port", "is required")
        return RemoteNode(
            name=name,
            ae_title=self.ae_title(table, f"{prefix}.ae_title", None),
            host=host,
            port=self.integer(table, f"{prefix}.port", "port", 104, 1, 65535),
            tls=self.boolean(table, f"{prefix}.tls", "tls", False),
            retrieve=RetrieveMethod(
                self.choice(table, f"{prefix}.retrieve", "retrieve", ("move", "get"), "move")
            ),
            timeouts=self.timeouts(table, prefix),
            note=self.string(table, f"{prefix}.note", "note", ""),
        )

    def archive(self, table: dict[str, Any]) -> ArchiveSettings:
        self.only(table, "archive", {f.name for f in fields(ArchiveSettings)})
        days = table.get("retention_days")
        if days is not None:
            days = self.integer(table, "archive.retention_days", "retention_days", 0, 0, 100_000)
        return ArchiveSettings(
            duplicates=DuplicatePolicy(
                self.choice(table, "archive.duplicates", "duplicates", ("keep", "replace"), "keep")
            ),
            retention_days=days,
            quota_gb=self.number(table, "archive.quota_gb", "quota_gb", None),
            flush=self.choice(table, "archive.flush", "flush", ("filesystem", "files"), "filesystem"),
        )
