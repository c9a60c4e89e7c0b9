"""Orthanc as a test peer: its JSON config and a tiny REST client (urllib only).

Orthanc is the reference PACS our client side is tested against: it is a
C-FIND/C-MOVE/C-GET/C-STORE SCP, a DICOMweb server (plugin) and it has a
REST API we can use to look at what it holds without going through DICOM.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DICOMWEB_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")

# Loopback only: never route test traffic through an http_proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def orthanc_config(workdir: Path, *, aet: str, dicom_port: int, http_port: int,
                   modalities: Mapping[str, tuple[str, str, int]] | None = None,
                   dicomweb: bool = True, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A self-contained Orthanc configuration that keeps all state under ``workdir``.

    ``modalities`` maps a symbolic name to ``(AE title, host, port)``: the
    destinations Orthanc may C-MOVE to and the peers it may C-STORE to.
    """
    config: dict[str, Any] = {
        "Name": f"tui-pacs test {aet}",
        "StorageDirectory": str(workdir / "storage"),
        "IndexDirectory": str(workdir / "index"),
        "DicomAet": aet,
        "DicomPort": dicom_port,
        "HttpPort": http_port,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "DicomCheckCalledAet": False,
        "DicomAlwaysAllowFind": True,
        "DicomAlwaysAllowStore": True,
        "DicomAlwaysAllowMove": True,
        "DicomAlwaysAllowGet": True,
        "UnknownSopClassAccepted": True,
        "DicomModalities": {name: list(spec) for name, spec in (modalities or {}).items()},
        "DicomModalitiesInDatabase": False,
        # Close our outgoing associations at once, so a C-MOVE is over when it says so.
        "DicomAssociationCloseDelay": 0,
        "SaveJobs": False,
        "StorageCompression": False,
        "HttpDescribeErrors": True,
        "Plugins": [],
    }
    if dicomweb and DICOMWEB_PLUGIN.exists():
        config["Plugins"] = [str(DICOMWEB_PLUGIN)]
        config["DicomWeb"] = {"Enable": True, "Root": "/dicom-web/", "EnableWado": True}
    if extra:
        config.update(extra)
    return config


class OrthancRestError(RuntimeError):
    """A REST call failed; carries the HTTP status and Orthanc's error body."""


@dataclass(frozen=True)
class OrthancRest:
    """Just enough of Orthanc's REST API for tests to check what arrived."""

    base_url: str
    timeout: float = 30.0

    def request(self, method: str, path: str, body: bytes | None = None,
                content_type: str = "application/json") -> bytes:
        req = urllib.request.Request(self.base_url + path, data=body, method=method)
        if body is not None:
            req.add_header("Content-Type", content_type)
        try:
            with _OPENER.open(req, timeout=self.timeout) as response:
                data: bytes = response.read()
                return data
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")
            raise OrthancRestError(f"{method} {path}: HTTP {exc.code}: {detail}") from exc

    def get_json(self, path: str) -> Any:
        return json.loads(self.request("GET", path))

    def post_json(self, path: str, payload: Any) -> Any:
        return json.loads(self.request("POST", path, json.dumps(payload).encode()))

    def system(self) -> dict[str, Any]:
        result: dict[str, Any] = self.get_json("/system")
        return result

    def statistics(self) -> dict[str, Any]:
        """Counts of patients/studies/series/instances (``CountInstances`` etc.)."""
        result: dict[str, Any] = self.get_json("/statistics")
        return result

    def instances(self) -> list[str]:
        """Orthanc identifiers of every stored instance."""
        result: list[str] = self.get_json("/instances")
        return result

    def find(self, level: str, query: Mapping[str, str], expand: bool = False) -> list[Any]:
        """``/tools/find``: ``level`` is Patient, Study, Series or Instance."""
        result: list[Any] = self.post_json(
            "/tools/find", {"Level": level, "Query": dict(query), "Expand": expand})
        return result

    def upload(self, source: os.PathLike[str] | str | bytes) -> dict[str, Any]:
        """POST one DICOM file (path or bytes) to ``/instances``; returns Orthanc's answer."""
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        result: dict[str, Any] = json.loads(
            self.request("POST", "/instances", data, "application/dicom"))
        return result

    def answers(self) -> bool:
        """True when the REST server is up (used while waiting for start-up)."""
        try:
            self.system()
        except (OSError, OrthancRestError, ValueError):
            return False
        return True
