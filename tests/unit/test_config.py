"""Configuration: defaults, one-line errors naming file and key, comments kept on write-back."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui_pacs.config.loader import ConfigError, load_config
from tui_pacs.config.model import AccessPolicy, RemoteNode, RetrieveMethod
from tui_pacs.config.paths import resolve_paths
from tui_pacs.config.writer import remove_node, save_node, set_value


def test_defaults_without_a_file(tmp_path: Path) -> None:
    config = load_config(tmp_path / "missing.toml")
    assert config.local.port == 11112 and config.local.tls_port == 2762
    assert 1 <= len(config.local.ae_title) <= 16 and config.local.ae_title == config.local.ae_title.upper()
    assert config.nodes == {}


def test_full_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        """
[local]
ae_title = "MYNODE"
port = 4104
access = "known-host"
[local.timeouts]
dimse = 5
[nodes.pacs]
ae_title = "ORTHANC"
host = "127.0.0.1"
port = 4242
retrieve = "get"
note = "the lab PACS"
[nodes.pacs.timeouts]
artim = 3.5
[archive]
duplicates = "replace"
retention_days = 30
quota_gb = 2.5
flush = "files"
[ui]
theme = "light"
[ui.keymap]
echo = "ctrl+e"
""",
        encoding="utf-8",
    )
    config = load_config(path)
    assert config.local.ae_title == "MYNODE" and config.local.access is AccessPolicy.KNOWN_HOST
    assert config.local.timeouts.dimse == 5.0
    node = config.nodes["pacs"]
    assert (node.ae_title, node.port, node.retrieve, node.timeouts.artim) == ("ORTHANC", 4242, RetrieveMethod.GET, 3.5)
    assert config.archive.retention_days == 30 and config.theme == "light" and config.keymap == {"echo": "ctrl+e"}
    assert config.archive.flush == "files"


@pytest.mark.parametrize(
    "body, key",
    [
        ('[local]\nport = "x"', "local.port"),
        ("[local]\nport = 70000", "local.port"),
        ('[local]\nae_title = "WAY_TOO_LONG_AE_TITLE"', "local.ae_title"),
        ('[local]\nae_title = "BAD\\\\AE"', "local.ae_title"),
        ('[nodes.x]\nae_title = "X"\nport = 104', "nodes.x.host"),
        ('[nodes.x]\nae_title = "X"\nhost = "h"', "nodes.x.port"),
        ('[nodes.x]\nae_title = "X"\nhost = "h"\nport = 1\nretrieve = "fetch"', "nodes.x.retrieve"),
        ("[local]\ncolour = 1", "local.colour"),
        ('[archive]\nduplicates = "maybe"', "archive.duplicates"),
        ('[archive]\nflush = "never"', "archive.flush"),
        ("[local.timeouts]\ndimse = -1", "local.timeouts.dimse"),
    ],
)
def test_bad_values_name_file_and_key(tmp_path: Path, body: str, key: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == key
    assert str(caught.value).startswith(f"{path}: {key}: ")
    assert "\n" not in str(caught.value)


def test_not_toml(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[local\nport=", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)


def test_write_back_keeps_comments(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('# my workstation\n[local]\nae_title = "ME"  # do not change\n', encoding="utf-8")
    save_node(path, RemoteNode("pacs", "PACS", "127.0.0.1", 104, note="lab"))
    set_value(path, "local.port", 4444)
    text = path.read_text(encoding="utf-8")
    assert "# my workstation" in text and "# do not change" in text
    config = load_config(path)
    assert config.local.port == 4444 and config.nodes["pacs"].note == "lab"
    assert remove_node(path, "pacs") and not remove_node(path, "pacs")
    assert "# do not change" in path.read_text(encoding="utf-8")


def test_invalid_write_is_refused_and_file_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("# keep me\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        set_value(path, "local.port", 0)
    assert path.read_text(encoding="utf-8") == "# keep me\n"


def test_home_moves_everything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUI_PACS_HOME", str(tmp_path))
    paths = resolve_paths()
    for location in (paths.config_file, paths.index_file, paths.store_dir, paths.log_dir, paths.socket_file):
        assert tmp_path in location.parents
