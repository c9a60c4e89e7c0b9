"""Parsing ``-k KEYWORD=VALUE`` options, shared by ``ls``, ``export``, ``find``, ``move`` and ``get``."""

from __future__ import annotations

from collections.abc import Sequence

import click


def parse_keys(options: Sequence[str]) -> dict[str, str]:
    """``["PatientName=DOE*", "StudyDate"]`` -> ``{"PatientName": "DOE*", "StudyDate": ""}``.

    A keyword without ``=`` asks for the key to be returned (universal matching).
    """
    keys: dict[str, str] = {}
    for option in options:
        keyword, _, value = option.partition("=")
        keyword = keyword.strip()
        if not keyword:
            raise click.BadParameter(f"{option!r}: expected KEYWORD=VALUE", param_hint="-k")
        keys[keyword] = value
    return keys


key_option = click.option(
    "-k", "--key", "keys", multiple=True, metavar="KEYWORD=VALUE",
    help="A DICOM keyword and match value (wildcards *, ?, ranges A-B, UID lists a\\b). Repeatable.",
)
