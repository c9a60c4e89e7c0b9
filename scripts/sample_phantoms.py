"""Synthetic, deterministic images for the sample data set.

Every picture is drawn from ellipses and gradients with numpy and a seeded
generator, so rerunning gives identical pixels (and therefore identical
files). The values are meant to look plausible in a viewer: CT in
Hounsfield units stored with a rescale intercept, CR/DX as detector counts,
ultrasound as a fan-shaped speckle sector with a colour Doppler box.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Image = NDArray[np.generic]


def _grid(rows: int, cols: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Normalised coordinates in [-1, 1], y down, x right."""
    y, x = np.mgrid[0:rows, 0:cols].astype(np.float64)
    return (y / (rows - 1)) * 2 - 1, (x / (cols - 1)) * 2 - 1


def _ellipse(
    y: NDArray[np.float64], x: NDArray[np.float64], cy: float, cx: float, ry: float, rx: float
) -> NDArray[np.bool_]:
    return ((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 <= 1.0


def ct_head(size: int, slice_index: int, seed: int) -> NDArray[np.int16]:
    """Axial head slice in HU: air, skull, brain, ventricles; varies along z."""
    rng = np.random.default_rng(seed)
    y, x = _grid(size, size)
    hu = np.full((size, size), -1000.0)
    shrink = 1.0 - 0.06 * slice_index
    hu[_ellipse(y, x, 0, 0, 0.85 * shrink, 0.70 * shrink)] = 1200.0  # skull
    hu[_ellipse(y, x, 0, 0, 0.78 * shrink, 0.63 * shrink)] = 35.0  # brain
    hu[_ellipse(y, x, -0.1, -0.15, 0.25, 0.07)] = 8.0  # ventricles
    hu[_ellipse(y, x, -0.1, 0.15, 0.25, 0.07)] = 8.0
    hu[_ellipse(y, x, 0.35, 0.25, 0.08, 0.08)] = 70.0  # a small bleed
    hu += rng.normal(0.0, 4.0, hu.shape)
    return np.clip(hu, -1024, 3071).astype(np.int16)


def ct_abdomen(size: int, slice_index: int, seed: int) -> NDArray[np.int16]:
    """Axial abdomen slice in HU: fat, muscle, liver, kidneys, spine, bowel gas."""
    rng = np.random.default_rng(seed)
    y, x = _grid(size, size)
    hu = np.full((size, size), -1000.0)
    hu[_ellipse(y, x, 0.05, 0, 0.70, 0.92)] = -100.0  # subcutaneous fat
    hu[_ellipse(y, x, 0.05, 0, 0.62, 0.84)] = 45.0  # muscle wall / soft tissue
    hu[_ellipse(y, x, -0.05, -0.35, 0.35, 0.38)] = 60.0  # liver
    hu[_ellipse(y, x, 0.25, -0.40, 0.12, 0.10 + 0.01 * slice_index)] = 150.0  # kidney
    hu[_ellipse(y, x, 0.25, 0.40, 0.12, 0.10)] = 150.0
    hu[_ellipse(y, x, 0.40, 0, 0.13, 0.12)] = 700.0  # vertebra
    hu[_ellipse(y, x, -0.15, 0.35, 0.15, 0.12)] = -850.0  # bowel gas
    hu[_ellipse(y, x, 0.15, -0.05, 0.05, 0.05)] = 180.0  # aorta with contrast
    hu += rng.normal(0.0, 8.0, hu.shape)
    return np.clip(hu, -1024, 3071).astype(np.int16)


def mr_brain(size: int, slice_index: int, seed: int) -> NDArray[np.uint16]:
    """T2-like axial brain: bright CSF, grey/white contrast, 12-bit range."""
    rng = np.random.default_rng(seed)
    y, x = _grid(size, size)
    img = np.zeros((size, size))
    img[_ellipse(y, x, 0, 0, 0.82, 0.68)] = 300.0  # scalp
    img[_ellipse(y, x, 0, 0, 0.75, 0.61)] = 900.0  # grey matter
    img[_ellipse(y, x, 0, 0, 0.60, 0.48)] = 650.0  # white matter
    img[_ellipse(y, x, -0.05, -0.12, 0.22 - 0.02 * slice_index, 0.06)] = 2400.0  # CSF
    img[_ellipse(y, x, -0.05, 0.12, 0.22 - 0.02 * slice_index, 0.06)] = 2400.0
    img *= 1.0 - 0.25 * (y + 1) / 2  # coil shading
    img += np.abs(rng.normal(0.0, 25.0, img.shape))  # Rician-ish noise floor
    return np.clip(img, 0, 4095).astype(np.uint16)


def radiograph(rows: int, cols: int, seed: int, *, kind: str) -> NDArray[np.uint16]:
    """Projection image as 12-bit counts: high where dense (bone), for MONOCHROME1 display."""
    rng = np.random.default_rng(seed)
    y, x = _grid(rows, cols)
    img = np.full((rows, cols), 200.0)
    if kind == "chest":
        img[_ellipse(y, x, 0.0, 0.0, 0.95, 0.85)] = 900.0  # soft tissue
        img[_ellipse(y, x, -0.05, -0.38, 0.70, 0.30)] = 450.0  # lungs (low density)
        img[_ellipse(y, x, -0.05, 0.38, 0.70, 0.30)] = 450.0
        img[_ellipse(y, x, 0.20, 0.08, 0.30, 0.22)] = 1300.0  # heart
        img[np.abs(x) < 0.05] = 2600.0  # spine
        for k in range(-5, 6):  # ribs
            img[np.abs(y - 0.13 * k + 0.2 * x**2) < 0.018] += 500.0
    else:  # hand
        img[_ellipse(y, x, 0.45, 0.0, 0.45, 0.50)] = 1100.0  # palm
        for k, cx in enumerate((-0.55, -0.25, 0.0, 0.25, 0.55)):
            img[_ellipse(y, x, -0.30 + 0.05 * abs(k - 2), cx, 0.45, 0.08)] = 1100.0
            img[_ellipse(y, x, -0.30 + 0.05 * abs(k - 2), cx, 0.40, 0.035)] = 2900.0
    img += rng.normal(0.0, 12.0, img.shape)
    return np.clip(img, 0, 4095).astype(np.uint16)


def us_frame(rows: int, cols: int, seed: int, phase: float, *, doppler: bool) -> NDArray[np.uint8]:
    """RGB ultrasound sector: grey speckle in a fan, optional red/blue flow box."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:rows, 0:cols].astype(np.float64)
    r = np.hypot(yy, xx - cols / 2)
    theta = np.arctan2(xx - cols / 2, yy)
    fan = (r < rows * 0.95) & (np.abs(theta) < 0.6)
    speckle = rng.rayleigh(40.0, (rows, cols))
    tissue = 60 + 50 * np.sin(r / 9.0 + phase) + speckle
    vessel = np.abs(r - rows * 0.55 - 6 * np.sin(phase)) < rows * 0.05
    tissue[vessel] *= 0.15
    grey = np.where(fan, np.clip(tissue, 0, 255), 0).astype(np.uint8)
    rgb = np.repeat(grey[..., None], 3, axis=2)
    if doppler:
        box = vessel & fan & (np.abs(theta) < 0.25)
        flow = np.sin(theta * 12 + phase)
        rgb[box & (flow > 0)] = (220, 30, 30)
        rgb[box & (flow <= 0)] = (30, 60, 220)
    rgb[8:14, 8:60] = (255, 255, 0)  # overlay-like annotation bar, as scanners burn in
    return rgb


def angio_frame(size: int, seed: int, frame: int) -> NDArray[np.uint8]:
    """8-bit XA frame: dark contrast filling a branching vessel over time."""
    rng = np.random.default_rng(seed)
    y, x = _grid(size, size)
    img = 170 + 25 * y + rng.normal(0, 5, (size, size))
    fill = -1.0 + 0.25 * frame  # contrast front advancing down the vessel
    trunk = (np.abs(x - 0.15 * np.sin(3 * y)) < 0.05) & (y < fill)
    branch = (np.abs(y - 0.6 * x) < 0.035) & (x > 0) & (y < fill) & (x < 0.7)
    img[trunk | branch] -= 110
    return np.clip(img, 0, 255).astype(np.uint8)


def palette_indices(rows: int, cols: int) -> NDArray[np.uint8]:
    """A radial map of 8-bit indices: a 'parametric map' for a PALETTE COLOR SC."""
    y, x = _grid(rows, cols)
    r = np.hypot(y, x)
    img = (255 * np.clip(1 - r, 0, 1)) * (0.6 + 0.4 * np.cos(6 * np.arctan2(y, x))) ** 2
    return np.clip(img, 0, 255).astype(np.uint8)


def hot_iron_lut() -> tuple[NDArray[np.uint16], NDArray[np.uint16], NDArray[np.uint16]]:
    """A 256-entry 16-bit red/green/blue palette (black-red-yellow-white)."""
    i = np.arange(256, dtype=np.float64)
    red = np.clip(i * 3, 0, 255)
    green = np.clip(i * 3 - 255, 0, 255)
    blue = np.clip(i * 3 - 510, 0, 255)
    return tuple((c * 257).astype(np.uint16) for c in (red, green, blue))  # type: ignore[return-value]


def sc_colour(rows: int, cols: int) -> NDArray[np.uint8]:
    """An RGB 'screenshot': colour bars and a gradient, as a report or 3D render would be."""
    out = np.zeros((rows, cols, 3), dtype=np.uint8)
    bars = [(255, 255, 255), (255, 255, 0), (0, 255, 255), (0, 255, 0),
            (255, 0, 255), (255, 0, 0), (0, 0, 255), (0, 0, 0)]
    width = cols // len(bars)
    for k, colour in enumerate(bars):
        out[: rows * 2 // 3, k * width : (k + 1) * width] = colour
    ramp = np.linspace(0, 255, cols).astype(np.uint8)
    out[rows * 2 // 3 :, :, 0] = ramp
    out[rows * 2 // 3 :, :, 1] = ramp[::-1]
    out[rows * 2 // 3 :, :, 2] = 128
    return out


def mr_knee(size: int, slice_index: int, seed: int) -> NDArray[np.uint16]:
    """PD-like sagittal knee: femur and tibia marrow bright, cartilage, dark cortex."""
    rng = np.random.default_rng(seed)
    y, x = _grid(size, size)
    img = np.zeros((size, size))
    img[_ellipse(y, x, 0, 0, 0.95, 0.55)] = 700.0  # soft tissue
    img[_ellipse(y, x, -0.55, 0, 0.50, 0.30)] = 120.0  # femur cortex
    img[_ellipse(y, x, -0.55, 0, 0.46, 0.26 - 0.01 * slice_index)] = 1500.0  # marrow
    img[_ellipse(y, x, 0.55, 0, 0.45, 0.28)] = 120.0  # tibia cortex
    img[_ellipse(y, x, 0.55, 0, 0.41, 0.24)] = 1400.0
    img[(np.abs(y) < 0.05) & (np.abs(x) < 0.28)] = 1900.0  # joint fluid / cartilage
    img += np.abs(rng.normal(0.0, 25.0, img.shape))
    return np.clip(img, 0, 4095).astype(np.uint16)
