"""The greyscale display pipeline of PS3.3 C.11 and PS3.14: modality LUT, VOI, presentation.

Stored values go through the Modality LUT (C.11.1: Rescale Slope and
Intercept, or the Modality LUT Sequence), then the VOI transform (C.11.2:
a window with VOI LUT Function LINEAR, LINEAR_EXACT or SIGMOID, or a VOI
LUT Sequence), then the Presentation LUT (C.11.6: IDENTITY or INVERSE, and
MONOCHROME1's inversion, C.7.6.3.1.2) to 8-bit P-values.

For integer pixels the whole chain is evaluated once per distinct stored
value and applied as one table look-up, the way dcmtk does it: a 512x512
CT costs a bincount and an index, not a dozen float passes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydicom.dataset import Dataset

from tui_pacs.imaging.viewstate import ViewState, VoiFunction, Window

# Beyond this many distinct stored values the table stops paying for itself.
_MAX_TABLE = 1 << 20
# Percentiles of the modality values that make the default window (none in the object).
DEFAULT_PERCENTILES = (0.5, 99.5)


def window_presets(ds: Dataset) -> list[Window]:
    """Every Window Center/Width pair of the object with its explanation (C.11.2.1.2)."""
    centers = _as_floats(ds.get("WindowCenter"))
    widths = _as_floats(ds.get("WindowWidth"))
    explanations = _as_strings(ds.get("WindowCenterWidthExplanation"))
    presets = []
    for number, (center, width) in enumerate(zip(centers, widths, strict=False)):
        text = explanations[number] if number < len(explanations) else ""
        presets.append(Window(center, width, text or f"window {number + 1}"))
    return presets


def voi_function(ds: Dataset, view: ViewState) -> VoiFunction:
    """PS3.3 C.11.2.1.3: VOI LUT Function, LINEAR when absent or unknown."""
    if view.voi_function is not None:
        return view.voi_function
    value = str(ds.get("VOILUTFunction", "") or "").strip().upper()
    if value in ("LINEAR_EXACT", "SIGMOID"):
        return value  # type: ignore[return-value]
    return "LINEAR"


def grey_to_display(stored: np.ndarray, ds: Dataset, view: ViewState) -> np.ndarray:
    """Stored greyscale values to 8-bit P-values (0 black, 255 white), same shape."""
    if stored.size == 0:
        return np.zeros(stored.shape, dtype=np.uint8)
    if stored.dtype.kind in "iu":
        low, high = int(stored.min()), int(stored.max())
        if high - low < _MAX_TABLE:
            index_type = np.int64 if stored.dtype.itemsize >= 4 else np.int32
            offsets = np.subtract(stored, low, dtype=index_type)
            domain = np.arange(low, high + 1, dtype=np.float64)
            counts = np.bincount(offsets.ravel(), minlength=domain.size)
            table = _pipeline(domain, ds, view, counts)
            shown: np.ndarray = table[offsets]
            return shown
    values = np.asarray(stored, dtype=np.float64)
    finite = np.isfinite(values)
    if not finite.all():
        values = np.where(finite, values, np.nanmin(np.where(finite, values, np.nan)) if finite.any() else 0.0)
    return _pipeline(values, ds, view, None)


def _pipeline(values: np.ndarray, ds: Dataset, view: ViewState, counts: np.ndarray | None) -> np.ndarray:
    modality = modality_lut(values, ds)
    voi = _voi(modality, ds, view, counts)
    if presentation_inverts(ds) != view.invert:
        voi = 255.0 - voi
    p_values: np.ndarray = np.clip(np.rint(voi), 0, 255).astype(np.uint8)
    return p_values


def presentation_inverts(ds: Dataset) -> bool:
    """Whether the P-values are inverted (C.11.6.1, C.7.6.3.1.2).

    Presentation LUT Shape, where the object has it, says it: INVERSE
    inverts. Without it, MONOCHROME1 (minimum is white) inverts.
    """
    shape = str(ds.get("PresentationLUTShape", "") or "").strip().upper()
    if shape in ("IDENTITY", "INVERSE"):
        return shape == "INVERSE"
    return str(ds.get("PhotometricInterpretation", "")).strip().upper() == "MONOCHROME1"


def modality_lut(values: np.ndarray, ds: Dataset) -> np.ndarray:
    """PS3.3 C.11.1: the Modality LUT Sequence if present, else Rescale Slope/Intercept."""
    sequence = ds.get("ModalityLUTSequence")
    if sequence:
        return apply_lut_item(values, sequence[0], ds)
    slope = _first_float(ds.get("RescaleSlope"), 1.0)
    intercept = _first_float(ds.get("RescaleIntercept"), 0.0)
    if slope == 1.0 and intercept == 0.0:
        return values
    return values * slope + intercept


def _voi(values: np.ndarray, ds: Dataset, view: ViewState, counts: np.ndarray | None) -> np.ndarray:
    """PS3.3 C.11.2: values to 0..255 through the chosen window or VOI LUT."""
    window = view.window
    if window is None:
        presets = window_presets(ds)
        if presets:
            window = presets[0]
        elif view.use_voi_lut and ds.get("VOILUTSequence"):
            item = ds.VOILUTSequence[0]
            table = apply_lut_item(values, item, ds)
            bits = _lut_bits(item)
            return table * (255.0 / ((1 << bits) - 1))
        else:
            window = default_window(values, counts)
    return apply_window(values, window, voi_function(ds, view))


def apply_window(values: np.ndarray, window: Window, function: VoiFunction) -> np.ndarray:
    """The three VOI LUT Functions of PS3.3 C.11.2.1.2 and C.11.2.1.3, output 0..255 (float)."""
    center, width = window.center, window.width
    if function == "SIGMOID":
        return 255.0 / (1.0 + np.exp(-4.0 * (values - center) / width))
    if function == "LINEAR_EXACT":
        scaled = ((values - center) / width + 0.5) * 255.0
        return np.clip(scaled, 0.0, 255.0)
    # LINEAR (C.11.2.1.2.1): x <= c - 0.5 - (w-1)/2 -> 0; x > c - 0.5 + (w-1)/2 -> 255.
    if width <= 1:
        return np.where(values <= center - 0.5, 0.0, 255.0)
    scaled = ((values - (center - 0.5)) / (width - 1.0) + 0.5) * 255.0
    return np.clip(scaled, 0.0, 255.0)


def default_window(values: np.ndarray, counts: np.ndarray | None = None) -> Window:
    """A window spanning the 0.5th to 99.5th percentile of the values (never one grey).

    Falls back to the full range where the percentiles meet (mostly-constant
    images), so a small bright object on a flat background still shows.
    """
    flat = values.ravel()
    weights = counts if counts is not None else None
    if weights is not None:
        present = weights > 0
        flat, weights = flat[present], weights[present]
    low, high = _weighted_percentiles(flat, weights, DEFAULT_PERCENTILES)
    if high <= low:
        low, high = float(flat.min()), float(flat.max())
    if high <= low:
        return Window(low + 0.5, 1.0, "constant image")
    # LINEAR maps [c - 0.5 - (w-1)/2, c - 0.5 + (w-1)/2] onto 0..255.
    width = high - low + 1.0
    return Window(low + 0.5 + (width - 1.0) / 2.0, width, "auto")


def _weighted_percentiles(values: np.ndarray, weights: np.ndarray | None, percents: Sequence[float]) -> tuple[float, float]:
    if weights is None:
        low, high = np.percentile(values, percents)
        return float(low), float(high)
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    cumulative = np.cumsum(weights[order])
    total = cumulative[-1]
    picks = [ordered[min(np.searchsorted(cumulative, total * p / 100.0), ordered.size - 1)] for p in percents]
    return float(picks[0]), float(picks[1])


def apply_lut_item(values: np.ndarray, item: Dataset, ds: Dataset) -> np.ndarray:
    """Apply one LUT item (Modality or VOI LUT Sequence, C.11.1.1 / C.11.2.1.1).

    Inputs below the first mapped value take the first entry, above the
    last take the last entry (C.11.1.1: LUT Descriptor).
    """
    entries, first, _bits = (int(v) for v in item.LUTDescriptor)
    entries = entries or 65536  # C.11.1.1: 0 means 2^16 entries
    if int(ds.get("PixelRepresentation", 0)) == 1 and first > 32767:
        first -= 65536  # the descriptor's first value is SS for signed pixels
    data = lut_data(item)[:entries]
    index = np.clip(np.rint(values) - first, 0, data.size - 1).astype(np.int64)
    mapped: np.ndarray = data[index].astype(np.float64)
    return mapped


def lut_data(item: Dataset) -> np.ndarray:
    """LUT Data as integers, whether pydicom read it as US values or as OW bytes."""
    raw = item.LUTData
    if isinstance(raw, bytes | bytearray):
        return np.frombuffer(raw, dtype="<u2").astype(np.int64)
    if isinstance(raw, int):
        return np.array([raw], dtype=np.int64)
    return np.asarray(list(raw), dtype=np.int64)


def _lut_bits(item: Dataset) -> int:
    bits = int(item.LUTDescriptor[2])
    data_max = int(lut_data(item).max(initial=0))
    # Some writers say 16 bits for 12-bit data; scale by what the LUT can reach.
    while bits > 8 and data_max < (1 << (bits - 1)):
        bits -= 1
    return max(1, bits)


def _as_floats(value: object) -> list[float]:
    if value is None or value == "":
        return []
    items = value if isinstance(value, list | tuple) or hasattr(value, "__iter__") and not isinstance(value, str | bytes) else [value]
    result = []
    for item in items:
        try:
            result.append(float(item))
        except (TypeError, ValueError):
            continue
    return result


def _as_strings(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    try:
        return [str(item) for item in value]  # type: ignore[attr-defined]
    except TypeError:
        return [str(value)]


def _first_float(value: object, default: float) -> float:
    floats = _as_floats(value)
    return floats[0] if floats else default
