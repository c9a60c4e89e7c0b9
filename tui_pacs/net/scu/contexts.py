"""Presentation-context planning for C-STORE and C-GET (PS3.8 9.3.2.2, PS3.7 Annex D.3.3.4).

An association carries at most 128 presentation contexts, and proposing the
whole storage catalogue with every transfer syntax is both over the limit and
rude. So we propose exactly the SOP classes that will travel:

* for each (SOP class, encapsulated transfer syntax) an instance uses, one
  context offering that syntax alone, so the peer can take the bytes as they
  are stored;
* for each SOP class, one context offering Explicit then Implicit VR Little
  Endian, the fallback every peer supports (PS3.5 10.1). If the peer accepts
  only that one, the sender decompresses first.

When the plan needs more than 128 contexts it is split into several
associations, by SOP class, so nothing is dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pydicom.uid import (
    JPEG2000,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLosslessSV1,
    JPEGLSLossless,
    RLELossless,
)
from pynetdicom.presentation import PresentationContext, build_context, build_role

# Choosing among the accepted contexts, and converting to the chosen one, is shared with
# the C-MOVE/C-GET SCP's sub-operations (net/conversion.py); re-exported for the SCU.
from tui_pacs.net.conversion import UNCOMPRESSED, choose_context, is_uncompressed

__all__ = ["COMMON_ENCAPSULATED", "MAX_CONTEXTS", "UNCOMPRESSED", "ContextPlan", "choose_context",
           "is_uncompressed", "plan_get_contexts", "plan_store_contexts"]

MAX_CONTEXTS = 128
# What we accept as C-GET storage SCP when the instances' own syntaxes are unknown.
COMMON_ENCAPSULATED: tuple[str, ...] = (
    JPEGLosslessSV1, JPEGLSLossless, JPEG2000Lossless, RLELossless,
    JPEGBaseline8Bit, JPEGExtended12Bit, JPEG2000,
)


@dataclass
class ContextPlan:
    """The contexts of one association and the SOP classes they cover."""

    contexts: list[PresentationContext] = field(default_factory=list)
    sop_classes: set[str] = field(default_factory=set)


def _contexts_for_class(sop_class: str, syntaxes: Iterable[str]) -> list[PresentationContext]:
    # Encapsulated, big endian and deflated syntaxes each get a context of their own.
    own = sorted(set(syntaxes) - set(UNCOMPRESSED))
    contexts = [build_context(sop_class, [ts]) for ts in own]
    contexts.append(build_context(sop_class, list(UNCOMPRESSED)))
    return contexts[-MAX_CONTEXTS:]


def plan_store_contexts(items: Iterable[tuple[str, str]]) -> list[ContextPlan]:
    """Plan the associations needed to send instances given as (SOP class, transfer syntax)."""
    by_class: dict[str, set[str]] = {}
    for sop_class, transfer_syntax in items:
        by_class.setdefault(sop_class, set()).add(transfer_syntax)
    plans: list[ContextPlan] = []
    current = ContextPlan()
    for sop_class, syntaxes in by_class.items():
        contexts = _contexts_for_class(sop_class, syntaxes)
        if current.contexts and len(current.contexts) + len(contexts) > MAX_CONTEXTS:
            plans.append(current)
            current = ContextPlan()
        current.contexts.extend(contexts)
        current.sop_classes.add(sop_class)
    if current.contexts:
        plans.append(current)
    return plans


def plan_get_contexts(query_model: str, sop_classes: Iterable[tuple[str, Iterable[str]]]
                      ) -> tuple[list[PresentationContext], list[object]]:
    """Contexts and SCP/SCU role selection items for a C-GET (PS3.4 C.4.3, PS3.7 D.3.3.4).

    ``sop_classes`` pairs each storage SOP class with the transfer syntaxes
    its instances are known to use (may be empty). We take the SCP role for
    each class. The peer picks one syntax per context and cannot send an
    instance in another, so each encapsulated syntax gets a context of its
    own while the 128-context budget allows; with many classes they are
    merged into one encapsulated context per class, then into one context.
    """
    classes = [(uid, [ts for ts in known if ts not in UNCOMPRESSED]) for uid, known in sop_classes]
    classes = classes[:MAX_CONTEXTS - 1]
    budget = MAX_CONTEXTS - 1
    encapsulated = {uid: list(dict.fromkeys([*own, *COMMON_ENCAPSULATED])) for uid, own in classes}
    separate = sum(1 + len(e) for e in encapsulated.values())
    contexts = [build_context(query_model)]
    for uid, _own in classes:
        if separate <= budget:
            groups = [list(UNCOMPRESSED)] + [[ts] for ts in encapsulated[uid]]
        elif 2 * len(classes) <= budget:
            groups = [list(UNCOMPRESSED), encapsulated[uid]]
        else:
            groups = [[*UNCOMPRESSED, *encapsulated[uid]]]
        contexts.extend(build_context(uid, group) for group in groups)
    roles: list[object] = [build_role(uid, scp_role=True) for uid, _own in classes]
    return contexts, roles
