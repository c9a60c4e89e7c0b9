"""What the sample set contains: patients, studies, series and their transfer syntaxes.

Two disjoint sets: ``local`` is what the demo imports into its own archive,
``remote`` is what a demo PACS node serves, so query/retrieve has something
to find that is not already local. The patients' names are spread over
the character sets a workstation meets in practice; every transfer syntax
the decode path handles appears at least once in the local set.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydicom.uid import (
    JPEG2000 as J2K_LOSSY,
)
from pydicom.uid import (
    UID,
)
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian as DEFLATED,
)
from pydicom.uid import (
    ExplicitVRBigEndian as BIG,
)
from pydicom.uid import (
    ExplicitVRLittleEndian as EXPLICIT,
)
from pydicom.uid import (
    ImplicitVRLittleEndian as IMPLICIT,
)
from pydicom.uid import (
    JPEG2000Lossless as J2K,
)
from pydicom.uid import (
    JPEGBaseline8Bit as JPEG_BASE,
)
from pydicom.uid import (
    JPEGLosslessSV1 as JPEG_SV1,
)
from pydicom.uid import (
    JPEGLSLossless as JPEG_LS,
)
from pydicom.uid import (
    RLELossless as RLE,
)

#: A root under Medical Connections' free 1.2.826.0.1.3680043.10 arc; counters follow.
UID_ROOT = "1.2.826.0.1.3680043.10.1234."


@dataclass(frozen=True)
class Patient:
    patient_id: str
    name: str
    charset: list[str]
    birth_date: str
    sex: str


@dataclass(frozen=True)
class Series:
    """``kind`` names a builder in ``sample_modalities``; one syntax per instance."""

    kind: str
    description: str
    syntaxes: list[UID]


@dataclass(frozen=True)
class Study:
    patient: Patient
    date: str
    time: str
    description: str
    accession: str
    series: list[Series] = field(default_factory=list)


MUELLER = Patient("TP0001", "Müller^Jürgen", ["ISO_IR 100"], "19580312", "M")
YAMADA = Patient(
    "TP0002", "Yamada^Tarou=山田^太郎=やまだ^たろう", ["", "ISO 2022 IR 87"], "19700704", "M"
)
IVANOV = Patient("TP0003", "Иванов^Иван^Петрович", ["ISO_IR 144"], "19811123", "M")
WANG = Patient("TP0004", "Wang^XiaoHong=王^小红", ["GB18030"], "19900215", "F")
NGUYEN = Patient("TP0005", "Nguyễn^Thị Hoa", ["ISO_IR 192"], "19650909", "F")

DOE = Patient("RP1001", "Doe^Jane", [], "19770101", "F")
SCHROEDER = Patient("RP1002", "Schröder^Anna^Maria", ["ISO_IR 100"], "20010530", "F")
KOWALSKI = Patient("RP1003", "Kowalski^Łukasz", ["ISO_IR 192"], "19540817", "M")

LOCAL: list[Study] = [
    Study(MUELLER, "20230314", "081500", "CT Schädel nativ", "ACC1001", [
        Series("ct_head", "Kopf axial 5mm", [EXPLICIT, EXPLICIT, IMPLICIT, BIG]),
    ]),
    Study(MUELLER, "20230315", "101000", "Thorax pa", "ACC1002", [
        Series("cr_chest", "Thorax p.a.", [JPEG_SV1]),
    ]),
    Study(YAMADA, "20230402", "140000", "頭部MRI", "ACC1003", [
        Series("mr_brain", "T2 axial", [JPEG_LS, JPEG_LS, JPEG_LS]),
        Series("sc_palette", "Perfusion map (palette)", [EXPLICIT]),
    ]),
    Study(IVANOV, "20230510", "093000", "УЗИ брюшной полости", "ACC1004", [
        Series("us_colour", "Doppler", [RLE, RLE]),
        Series("us_cine", "Cine loop", [JPEG_BASE]),
    ]),
    Study(IVANOV, "20230512", "111500", "Рентген кисти", "ACC1005", [
        Series("dx_hand_mono1", "Hand PA", [RLE]),
    ]),
    Study(WANG, "20230601", "160500", "腹部CT增强", "ACC1006", [
        Series("ct_abdomen", "Abdomen 1mm", [J2K, J2K, J2K]),
        Series("ct_abdomen", "Abdomen 5mm recon", [J2K_LOSSY, J2K_LOSSY]),
        Series("sc_rgb", "3D render", [DEFLATED]),
    ]),
    Study(NGUYEN, "20230720", "074500", "Chụp mạch vành", "ACC1007", [
        Series("xa_cine", "LCA RAO 30", [JPEG_SV1]),
    ]),
    Study(NGUYEN, "20230801", "120000", "MR knee", "ACC1008", [
        Series("mr_knee", "PD sagittal", [IMPLICIT, RLE]),
    ]),
]

REMOTE: list[Study] = [
    Study(DOE, "20220110", "090000", "CT abdomen pelvis", "RACC2001", [
        Series("ct_abdomen", "Portal venous", [EXPLICIT] * 5),
    ]),
    Study(DOE, "20220301", "153000", "MR brain", "RACC2002", [
        Series("mr_brain", "T2 axial", [J2K, J2K, J2K]),
    ]),
    Study(SCHROEDER, "20220420", "101500", "Hand links", "RACC2003", [
        Series("dx_hand_mono2", "Hand d.p.", [JPEG_LS]),
    ]),
    Study(KOWALSKI, "20220905", "083000", "RTG klatki piersiowej", "RACC2004", [
        Series("cr_chest", "PA", [IMPLICIT]),
    ]),
]

SETS: dict[str, list[Study]] = {"local": LOCAL, "remote": REMOTE}
