"""Media application profiles (PS3.11) that tui-pacs can create and read.

Each profile says which transfer syntaxes a file-set may hold. Exports keep
an instance's own syntax when the profile allows it and convert otherwise:
to the profile's preferred compressed syntax where we can encode it
losslessly, else to Explicit VR Little Endian, which every general profile
allows.
"""

from __future__ import annotations

from dataclasses import dataclass

from tui_pacs.domain.errors import DomainError

EXPLICIT_LE = "1.2.840.10008.1.2.1"
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
JPEG_EXTENDED = "1.2.840.10008.1.2.4.51"
JPEG_LOSSLESS_P14 = "1.2.840.10008.1.2.4.57"
JPEG_LOSSLESS_SV1 = "1.2.840.10008.1.2.4.70"
J2K_LOSSLESS = "1.2.840.10008.1.2.4.90"
J2K = "1.2.840.10008.1.2.4.91"

CT_MR_CLASSES = frozenset({
    "1.2.840.10008.5.1.4.1.1.2",  # CT Image Storage
    "1.2.840.10008.5.1.4.1.1.2.1",  # Enhanced CT
    "1.2.840.10008.5.1.4.1.1.4",  # MR Image Storage
    "1.2.840.10008.5.1.4.1.1.4.1",  # Enhanced MR
    "1.2.840.10008.5.1.4.1.1.7",  # Secondary Capture (allowed by STD-CTMR, PS3.11 Annex E)
    "1.2.840.10008.5.1.4.1.1.11.1",  # Grayscale Softcopy Presentation State
})


@dataclass(frozen=True)
class MediaProfile:
    """One PS3.11 application profile as far as the FSC needs to know it."""

    name: str
    allowed: frozenset[str]
    encode_to: str | None = None
    """A compressed syntax to encode uncompressed images to (lossless only)."""
    sop_classes: frozenset[str] | None = None
    """Only these SOP classes may be written (None: any)."""


def _general(name: str) -> MediaProfile:
    return MediaProfile(name, frozenset({EXPLICIT_LE}))


def _jpeg(name: str) -> MediaProfile:
    # PS3.11 D.x: JPEG lossless and lossy; uncompressed images stay Explicit VR LE
    # (pydicom has no JPEG encoder, and re-encoding lossy would need new UIDs).
    return MediaProfile(name, frozenset({EXPLICIT_LE, JPEG_BASELINE, JPEG_EXTENDED, JPEG_LOSSLESS_P14,
                                         JPEG_LOSSLESS_SV1}))


def _j2k(name: str) -> MediaProfile:
    return MediaProfile(name, frozenset({EXPLICIT_LE, J2K_LOSSLESS, J2K}), encode_to=J2K_LOSSLESS)


def _ctmr(name: str) -> MediaProfile:
    return MediaProfile(name, frozenset({EXPLICIT_LE, JPEG_LOSSLESS_SV1}), sop_classes=CT_MR_CLASSES)


PROFILES: dict[str, MediaProfile] = {
    p.name: p
    for p in (
        _general("STD-GEN-CD"),
        _general("STD-GEN-DVD-RAM"),
        _general("STD-GEN-USB"),
        _general("STD-GEN-BD"),
        _ctmr("STD-CTMR-CD"),
        _ctmr("STD-CTMR-DVD-RAM"),
        _ctmr("STD-CTMR-DVD"),
        *(_jpeg(f"STD-GEN-{m}-JPEG") for m in ("DVD", "USB", "MMC", "CF", "SD", "BD")),
        *(_j2k(f"STD-GEN-{m}-J2K") for m in ("DVD", "USB", "MMC", "CF", "SD", "BD")),
    )
}


def media_profile(name: str) -> MediaProfile:
    try:
        return PROFILES[name.upper()]
    except KeyError:
        raise DomainError(f"unknown media profile {name!r}; known: {', '.join(PROFILES)}") from None
