"""The key map: every binding has an id, and ``[ui.keymap]`` in the config remaps it.

``[ui.keymap]`` maps a binding id to comma-separated keys, for example
``"local.delete" = "ctrl+d"``. Unknown ids are reported once (a typo should
not silently do nothing) and otherwise ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from textual.binding import Binding, BindingType
from textual.dom import DOMNode


@dataclass(frozen=True)
class BoundAction:
    """One binding and the widget class that owns it."""

    owner: type[DOMNode]
    binding: Binding

    @property
    def id(self) -> str:
        return self.binding.id or ""


def _as_binding(item: BindingType) -> Binding | None:
    return item if isinstance(item, Binding) else None


def catalogue(owners: Iterable[type[DOMNode]]) -> list[BoundAction]:
    """Every identified binding of ``owners`` (own BINDINGS only, so nothing is listed twice)."""
    seen: set[str] = set()
    found: list[BoundAction] = []
    for owner in owners:
        for item in owner.__dict__.get("BINDINGS", []):
            binding = _as_binding(item)
            if binding is None or not binding.id or binding.id in seen:
                continue
            seen.add(binding.id)
            found.append(BoundAction(owner, binding))
    return found


def unknown_ids(keymap: Mapping[str, str], known: Iterable[BoundAction]) -> list[str]:
    ids = {bound.id for bound in known}
    return sorted(k for k in keymap if k not in ids)


def keys_for(bound: BoundAction, keymap: Mapping[str, str]) -> str:
    """The keys a binding answers to now, in the config's spelling or the default one."""
    return keymap.get(bound.id) or bound.binding.key
