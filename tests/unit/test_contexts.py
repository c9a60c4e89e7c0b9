"""Presentation-context planning: exact SOP classes, own syntax plus uncompressed, 128 at most."""

from __future__ import annotations

from pydicom.uid import (
    CTImageStorage,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLSLossless,
    MRImageStorage,
)
from pynetdicom.presentation import PresentationContext
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelGet  # type: ignore[attr-defined]

from tui_pacs.net.scu.contexts import (
    MAX_CONTEXTS,
    choose_context,
    plan_get_contexts,
    plan_store_contexts,
)


def _accepted(abstract: str, syntax: str, cx_id: int = 1) -> PresentationContext:
    cx = PresentationContext()
    cx.context_id = cx_id
    cx.abstract_syntax = abstract
    cx.transfer_syntax = [syntax]
    return cx


def test_own_syntax_and_uncompressed_per_class() -> None:
    (plan,) = plan_store_contexts([(CTImageStorage, JPEGLSLossless), (CTImageStorage, ExplicitVRLittleEndian),
                                   (MRImageStorage, ImplicitVRLittleEndian)])
    offered = [(cx.abstract_syntax, tuple(cx.transfer_syntax)) for cx in plan.contexts]
    assert offered == [
        (CTImageStorage, (JPEGLSLossless,)),
        (CTImageStorage, (ExplicitVRLittleEndian, ImplicitVRLittleEndian)),
        (MRImageStorage, (ExplicitVRLittleEndian, ImplicitVRLittleEndian)),
    ]
    assert plan.sop_classes == {CTImageStorage, MRImageStorage}


def test_many_classes_split_into_associations_of_at_most_128() -> None:
    items = [(f"1.2.3.{n}", JPEG2000Lossless) for n in range(100)]
    plans = plan_store_contexts(items)
    assert len(plans) == 2
    assert all(len(p.contexts) <= MAX_CONTEXTS for p in plans)
    assert set().union(*(p.sop_classes for p in plans)) == {uid for uid, _ in items}


def test_choose_prefers_the_exact_syntax_then_decompresses() -> None:
    exact = _accepted(CTImageStorage, JPEGLSLossless, 1)
    plain = _accepted(CTImageStorage, ExplicitVRLittleEndian, 3)
    assert choose_context([plain, exact], CTImageStorage, JPEGLSLossless) == (exact, False)
    assert choose_context([plain], CTImageStorage, JPEGLSLossless) == (plain, True)
    assert choose_context([plain], CTImageStorage, ImplicitVRLittleEndian) == (plain, False)


def test_choose_without_a_context_says_what_was_accepted() -> None:
    import pytest

    from tui_pacs.net.errors import NoPresentationContext

    with pytest.raises(NoPresentationContext, match="CT Image Storage"):
        choose_context([_accepted(MRImageStorage, ExplicitVRLittleEndian)], CTImageStorage, JPEGLSLossless)


def test_get_contexts_take_the_scp_role_and_fit_the_budget() -> None:
    model = StudyRootQueryRetrieveInformationModelGet
    few, roles = plan_get_contexts(model, [(CTImageStorage, [JPEGLSLossless])])
    assert few[0].abstract_syntax == model
    assert [tuple(cx.transfer_syntax) for cx in few[1:3]] == [(ExplicitVRLittleEndian, ImplicitVRLittleEndian),
                                                               (JPEGLSLossless,)]
    assert len(roles) == 1 and roles[0].scp_role
    many, roles = plan_get_contexts(model, [(f"1.2.3.{n}", []) for n in range(200)])
    assert len(many) <= MAX_CONTEXTS and len(roles) == MAX_CONTEXTS - 1
