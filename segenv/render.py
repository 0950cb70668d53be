"""Pictures of an interactive segmentation state: the env's ``rgb_array`` and ``human`` renders.

:func:`render_montage` draws one row of panels on an axial slice (image with the ground-truth
contour, probability with the ``p ≥ 0.5`` and ground-truth contours, object hint, background
hint, and the clicks near the slice) and, when the volume has more than one slice, the same
panels on a coronal slice below. Panels are painted with numpy (contours and clicks drawn
voxel-exact at an integer zoom) and matplotlib's Agg canvas only adds the titles, so it works
headless and without pyplot state. :class:`HumanRenderer` shows the frames in a pyplot window
that updates in place.

Colours: ground truth cyan, prediction (``p ≥ 0.5``) white, object clicks green, background
clicks red (a filled disc on the displayed slice, a ring within ±2 slices of it).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from scipy import ndimage

from segenv.errors import ConfigError, DataError, InputTypeError, describe

__all__ = ["HumanRenderer", "render_montage"]

PANEL_TARGET_PX = 220  # a panel's longer side is zoomed to about this many pixels
TITLE_PX = 18
GAP_PX = 6
HEADER_PX = 24
DPI = 100
FONT_SIZE = 9
CLICK_WINDOW = 2  # clicks within this many slices of the displayed one are drawn

BACKGROUND = (24, 24, 24)
GT_COLOUR = (0, 255, 255)
PREDICTION_COLOUR = (255, 255, 255)
OBJECT_CLICK_COLOUR = (40, 220, 40)
BACKGROUND_CLICK_COLOUR = (235, 30, 30)
OUTLINE_COLOUR = (0, 0, 0)
PROBABILITY_CMAP = "inferno"
HINT_CMAP = "viridis"


@dataclass(frozen=True)
class _Volumes:
    """Validated render inputs, all ``(D, H, W)``."""

    image: np.ndarray
    probability: np.ndarray
    hint_pos: np.ndarray
    hint_neg: np.ndarray
    label: np.ndarray
    clicks_coords: np.ndarray
    clicks_labels: np.ndarray


@dataclass(frozen=True)
class _View:
    """One 2D cut through the volumes: the arrays to draw and where the clicks land on it."""

    name: str
    image: np.ndarray
    probability: np.ndarray
    hint_pos: np.ndarray
    hint_neg: np.ndarray
    label: np.ndarray
    click_points: np.ndarray  # (k, 2) rows/columns on the cut
    click_labels: np.ndarray  # (k,) bool
    click_on_cut: np.ndarray  # (k,) bool: exactly on the cut (else within the window)


# --------------------------------------------------------------------------------------------
# validation


def _as_float_volume(values: Any, argument: str, shape: tuple[int, ...] | None) -> np.ndarray:
    """Validate a finite float ``(D, H, W)`` volume (of ``shape`` when given)."""
    array = np.asarray(values)
    if array.dtype.kind not in "fiub":
        raise InputTypeError(f"{argument} must be a numeric (D, H, W) array, got {describe(array)}")
    if array.ndim != 3 or (shape is not None and array.shape != shape):
        expected = "(D, H, W)" if shape is None else str(shape)
        raise ConfigError(
            f"{argument} must have shape {expected} like the label, got {describe(array)}"
        )
    if not np.isfinite(array).all():
        raise DataError(f"{argument} contains NaN or Inf; replace them before rendering")
    return array.astype(np.float32, copy=False)


def _as_label(label: Any) -> np.ndarray:
    """Validate the ground truth, bool or integer 0/1 ``(D, H, W)``."""
    array = np.asarray(label)
    if array.ndim != 3 or min(array.shape) < 1:
        raise ConfigError(f"label must be a non-empty (D, H, W) array, got {describe(array)}")
    if array.dtype == bool:
        return array
    if array.dtype.kind not in "iu" or not ((array == 0) | (array == 1)).all():
        raise InputTypeError(
            f"label must be bool (or integer 0/1), got {describe(array)}; pass `label > 0`"
        )
    return array.astype(bool)


def _as_image(image: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Validate ``(M, D, H, W)`` or ``(D, H, W)`` and return channel 0."""
    array = np.asarray(image)
    if array.ndim == 4:
        if array.shape[0] < 1:
            raise ConfigError(f"image has no channel: {describe(array)}")
        array = array[0]
    return _as_float_volume(array, "image (channel 0)", shape)


def _as_clicks(coords: Any, labels: Any, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Validate click coordinates ``(n, 3)`` inside ``shape`` and their bool labels ``(n,)``."""
    if coords is None:
        return np.empty((0, 3), np.int64), np.empty(0, bool)
    points = np.asarray(coords)
    if points.size == 0:
        return np.empty((0, 3), np.int64), np.empty(0, bool)
    if points.ndim != 2 or points.shape[1] != 3 or points.dtype.kind not in "iu":
        raise InputTypeError(
            f"clicks_coords must be integer (n, 3) (z, y, x) voxel indices, got {describe(points)}"
        )
    if labels is None:
        raise ConfigError("clicks_labels is required with clicks_coords: True = object click")
    kinds = np.asarray(labels)
    if kinds.shape != (points.shape[0],) or kinds.dtype != bool:
        raise InputTypeError(
            f"clicks_labels must be bool of shape ({points.shape[0]},) (True = object click), "
            f"got {describe(kinds)}"
        )
    if (points < 0).any() or (points >= np.asarray(shape)).any():
        raise ConfigError(
            f"clicks_coords must lie inside the volume {shape}, got {points.tolist()}"
        )
    return points.astype(np.int64), kinds


def _validate(
    image: Any,
    probability: Any,
    hint_pos: Any,
    hint_neg: Any,
    label: Any,
    clicks_coords: Any,
    clicks_labels: Any,
) -> _Volumes:
    """Validate every render input against the label's shape."""
    truth = _as_label(label)
    shape = truth.shape
    coords, kinds = _as_clicks(clicks_coords, clicks_labels, shape)
    return _Volumes(
        image=_as_image(image, shape),
        probability=_as_float_volume(probability, "probability", shape),
        hint_pos=_as_float_volume(hint_pos, "hint_pos", shape),
        hint_neg=_as_float_volume(hint_neg, "hint_neg", shape),
        label=truth,
        clicks_coords=coords,
        clicks_labels=kinds,
    )


# --------------------------------------------------------------------------------------------
# cuts


def _busiest_index(label: np.ndarray, axis: int) -> int:
    """Index along ``axis`` of the cut with the most foreground (the centre if none)."""
    other_axes = tuple(a for a in range(label.ndim) if a != axis)
    counts = label.sum(axis=other_axes)
    return int(np.argmax(counts)) if counts.any() else label.shape[axis] // 2


def _cut(volumes: _Volumes, axis: int, index: int, name: str) -> _View:
    """Cut every volume at ``index`` along ``axis`` and keep the clicks near the cut."""
    distance = np.abs(volumes.clicks_coords[:, axis] - index)
    near = distance <= CLICK_WINDOW
    in_plane_axes = [a for a in range(3) if a != axis]
    return _View(
        name=name,
        image=np.take(volumes.image, index, axis=axis),
        probability=np.take(volumes.probability, index, axis=axis),
        hint_pos=np.take(volumes.hint_pos, index, axis=axis),
        hint_neg=np.take(volumes.hint_neg, index, axis=axis),
        label=np.take(volumes.label, index, axis=axis),
        click_points=volumes.clicks_coords[near][:, in_plane_axes],
        click_labels=volumes.clicks_labels[near],
        click_on_cut=distance[near] == 0,
    )


# --------------------------------------------------------------------------------------------
# painting


@lru_cache(maxsize=8)
def _lookup_table(cmap_name: str) -> np.ndarray:
    """Return 256 RGB uint8 colours of a matplotlib colormap."""
    return matplotlib.colormaps[cmap_name](np.linspace(0.0, 1.0, 256), bytes=True)[:, :3]


def _colourise(
    values: np.ndarray, cmap_name: str, low: float = 0.0, high: float = 1.0
) -> np.ndarray:
    """Map values in ``[low, high]`` through a colormap to uint8 RGB."""
    scale = 255.0 / max(high - low, 1e-12)
    indices = np.clip((values - low) * scale, 0, 255).astype(np.uint8)
    return _lookup_table(cmap_name)[indices]


def _zoom(array: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour zoom of the first two axes by an integer factor."""
    return np.repeat(np.repeat(array, scale, axis=0), scale, axis=1)


def _paint_contour(panel: np.ndarray, mask: np.ndarray, scale: int, colour: tuple) -> None:
    """Paint the inner outline of ``mask`` (zoomed by ``scale``) onto ``panel`` in place."""
    if not mask.any():
        return
    zoomed = _zoom(mask, scale)
    thickness = 2 if scale >= 4 else 1
    outline = zoomed & ~ndimage.binary_erosion(zoomed, iterations=thickness, border_value=0)
    panel[outline] = colour


def _paint_marker(
    panel: np.ndarray, centre: tuple[float, float], radius: float, colour: tuple, filled: bool
) -> None:
    """Paint a disc (or a ring) with a black outline around ``centre`` (pixels) in place."""
    margin = radius + 2
    top, left = (max(int(c - margin), 0) for c in centre)
    bottom = min(int(centre[0] + margin) + 1, panel.shape[0])
    right = min(int(centre[1] + margin) + 1, panel.shape[1])
    rows, columns = np.ogrid[top:bottom, left:right]
    distance = np.hypot(rows + 0.5 - centre[0], columns + 0.5 - centre[1])
    window = panel[top:bottom, left:right]
    window[(distance > radius) & (distance <= radius + 1.5)] = OUTLINE_COLOUR
    window[(distance <= radius) & (filled | (distance > radius - 2))] = colour


def _paint_clicks(panel: np.ndarray, view: _View, scale: int) -> None:
    """Draw the view's clicks: discs on the cut, rings near it."""
    radius = max(3.0, 1.2 * scale)
    for (row, column), is_object, on_cut in zip(
        view.click_points, view.click_labels, view.click_on_cut, strict=True
    ):
        colour = OBJECT_CLICK_COLOUR if is_object else BACKGROUND_CLICK_COLOUR
        centre = ((row + 0.5) * scale, (column + 0.5) * scale)
        _paint_marker(panel, centre, radius, colour, filled=bool(on_cut))


def _panels(view: _View, scale: int, intensity_range: tuple[float, float]) -> list[np.ndarray]:
    """Paint the five uint8 RGB panels of one cut."""
    image = _zoom(_colourise(view.image, "gray", *intensity_range), scale)
    with_truth = image.copy()
    _paint_contour(with_truth, view.label, scale, GT_COLOUR)

    probability = _zoom(_colourise(view.probability, PROBABILITY_CMAP), scale)
    _paint_contour(probability, view.probability >= 0.5, scale, PREDICTION_COLOUR)
    _paint_contour(probability, view.label, scale, GT_COLOUR)

    hint_pos = _zoom(_colourise(view.hint_pos, HINT_CMAP), scale)
    hint_neg = _zoom(_colourise(view.hint_neg, HINT_CMAP), scale)

    clicks = with_truth.copy()
    _paint_clicks(clicks, view, scale)
    return [with_truth, probability, hint_pos, hint_neg, clicks]


def _titles(view: _View) -> list[str]:
    """Panel titles of one cut."""
    on_cut = int(view.click_on_cut.sum())
    return [
        f"{view.name}: image + GT",
        "p (white: p≥0.5, cyan: GT)",
        "object hint h+",
        "background hint h−",
        f"clicks: {on_cut} on, {len(view.click_labels) - on_cut} within ±{CLICK_WINDOW}",
    ]


def _intensity_range(image: np.ndarray) -> tuple[float, float]:
    """Robust display range of the image (1st to 99th percentile)."""
    low, high = np.percentile(image, (1.0, 99.0))
    return (float(low), float(high)) if high > low else (float(low), float(low) + 1.0)


# --------------------------------------------------------------------------------------------
# layout


@dataclass(frozen=True)
class _Montage:
    """Panels placed on a canvas, with the title positions (px) still to be written."""

    canvas: np.ndarray
    panel_boxes: list[tuple[slice, slice]]
    labels: list[tuple[float, float, str]]


def _layout(rows: list[list[np.ndarray]], titles: list[list[str]], header: bool) -> _Montage:
    """Arrange rows of panels, each under its title band, on one canvas."""
    column_width = max(panel.shape[1] for row in rows for panel in row)
    height = (HEADER_PX if header else 0) + GAP_PX
    row_tops = []
    for row in rows:
        row_tops.append(height)
        height += TITLE_PX + max(panel.shape[0] for panel in row) + GAP_PX
    width = GAP_PX + len(rows[0]) * (column_width + GAP_PX)
    canvas = np.empty((height, width, 3), dtype=np.uint8)
    canvas[...] = BACKGROUND
    boxes, labels = [], []
    for top, row, row_titles in zip(row_tops, rows, titles, strict=True):
        for column, (panel, title) in enumerate(zip(row, row_titles, strict=True)):
            left = GAP_PX + column * (column_width + GAP_PX)
            box = (
                slice(top + TITLE_PX, top + TITLE_PX + panel.shape[0]),
                slice(left, left + panel.shape[1]),
            )
            canvas[box] = panel
            boxes.append(box)
            labels.append((left + column_width / 2, top + TITLE_PX / 2, title))
    return _Montage(canvas, boxes, labels)


def _draw_text(montage: _Montage, title: str | None) -> np.ndarray:
    """Write the titles with matplotlib's Agg canvas (no pyplot) and paste the panels in.

    Only text is drawn by matplotlib (the panels are copied in afterwards), which halves the
    time of drawing the whole canvas as a figure image.
    """
    height, width = montage.canvas.shape[:2]
    # +0.5 px so that float rounding of size * dpi never loses a pixel row or column.
    figure = Figure(
        figsize=((width + 0.5) / DPI, (height + 0.5) / DPI),
        dpi=DPI,
        facecolor="#{:02x}{:02x}{:02x}".format(*BACKGROUND),
    )
    agg = FigureCanvasAgg(figure)
    text_style: dict[str, Any] = {"color": "white", "ha": "center", "va": "center"}
    for x, y, text in montage.labels:
        figure.text(x / width, 1.0 - y / height, text, fontsize=FONT_SIZE, **text_style)
    if title is not None:
        figure.text(0.5, 1.0 - HEADER_PX / 2 / height, title, fontsize=FONT_SIZE + 2, **text_style)
    agg.draw()
    picture = np.asarray(agg.buffer_rgba())[:height, :width, :3].copy()
    for box in montage.panel_boxes:
        picture[box] = montage.canvas[box]
    return picture


def render_montage(
    image: np.ndarray,
    probability: np.ndarray,
    hint_pos: np.ndarray,
    hint_neg: np.ndarray,
    label: np.ndarray,
    clicks_coords: np.ndarray | None = None,
    clicks_labels: np.ndarray | None = None,
    *,
    slice_index: int | None = None,
    title: str | None = None,
) -> np.ndarray:
    """Draw the state of an interactive segmentation as one RGB picture.

    Row 1 cuts axially at ``slice_index``; row 2 (only when D > 1) cuts coronally through the
    row with the most foreground. Each row: image with the ground-truth contour; probability
    with the ``p ≥ 0.5`` and ground-truth contours; object hint; background hint; image with
    the clicks within ±2 slices (object green, background red; filled when on the slice).

    Args:
        image: float ``(M, D, H, W)`` (channel 0 is shown) or ``(D, H, W)``.
        probability: float ``(D, H, W)`` in [0, 1].
        hint_pos: Object hint map, float ``(D, H, W)`` in [0, 1].
        hint_neg: Background hint map, float ``(D, H, W)`` in [0, 1].
        label: Ground truth, bool ``(D, H, W)``.
        clicks_coords: int ``(n, 3)`` click voxels ``(z, y, x)``, or None.
        clicks_labels: bool ``(n,)``, True for object clicks; required with ``clicks_coords``.
        slice_index: Axial slice to show; default the slice with the most foreground.
        title: Optional heading above the panels.

    Returns:
        uint8 ``(H_out, W_out, 3)``.
    """
    volumes = _validate(image, probability, hint_pos, hint_neg, label, clicks_coords, clicks_labels)
    depth, height, width = volumes.label.shape
    if slice_index is None:
        axial_index = _busiest_index(volumes.label, axis=0)
    elif isinstance(slice_index, (int, np.integer)) and 0 <= slice_index < depth:
        axial_index = int(slice_index)
    else:
        raise ConfigError(f"slice_index must be an int in [0, {depth}), got {slice_index!r}")

    scale = max(1, round(PANEL_TARGET_PX / max(height, width, depth)))
    intensity_range = _intensity_range(volumes.image)
    views = [_cut(volumes, 0, axial_index, f"axial z={axial_index}")]
    if depth > 1:
        coronal_index = _busiest_index(volumes.label, axis=1)
        views.append(_cut(volumes, 1, coronal_index, f"coronal y={coronal_index}"))
    rows = [_panels(view, scale, intensity_range) for view in views]
    montage = _layout(rows, [_titles(view) for view in views], header=title is not None)
    return _draw_text(montage, title)


# --------------------------------------------------------------------------------------------
# human mode


class HumanRenderer:
    """Shows frames in a pyplot window that updates in place without blocking.

    Closing the window is fine: the next :meth:`show` opens a new one. With a non-interactive
    backend (``MPLBACKEND=Agg``) the figure is kept and updated but nothing is displayed.
    """

    def __init__(self, window_title: str = "segenv", pause_s: float = 0.001) -> None:
        """Create a renderer; the window opens on the first frame.

        Args:
            window_title: The window's title.
            pause_s: Seconds given to the GUI event loop after each frame.
        """
        self.window_title = window_title
        self.pause_s = pause_s
        self._figure: Any = None
        self._artist: Any = None
        self._interactive = False

    @property
    def is_open(self) -> bool:
        """Whether the window exists (it may have been closed by the user)."""
        if self._figure is None:
            return False
        import matplotlib.pyplot as plt

        return bool(plt.fignum_exists(self._figure.number))

    def show(self, frame: np.ndarray) -> None:
        """Display ``frame``, a uint8 ``(H, W, 3)`` picture such as :func:`render_montage`'s."""
        picture = np.asarray(frame)
        if picture.ndim != 3 or picture.shape[2] != 3 or picture.dtype != np.uint8:
            raise InputTypeError(f"frame must be uint8 (H, W, 3), got {describe(picture)}")
        if not self.is_open:
            self._open(picture)
        elif self._artist.get_array().shape != picture.shape:
            self._artist.remove()
            self._artist = self._figure.axes[0].imshow(picture, interpolation="nearest")
        else:
            self._artist.set_data(picture)
        canvas = self._figure.canvas
        canvas.draw_idle()
        if self._interactive:
            canvas.start_event_loop(self.pause_s)

    def close(self) -> None:
        """Close the window, if open."""
        if self._figure is not None:
            import matplotlib.pyplot as plt

            plt.close(self._figure)
        self._figure = None
        self._artist = None

    def _open(self, picture: np.ndarray) -> None:
        """Create the window for pictures like ``picture``."""
        import matplotlib.pyplot as plt
        from matplotlib.backend_bases import FigureManagerBase

        plt.ion()
        height, width = picture.shape[:2]
        self._figure = plt.figure(self.window_title, figsize=(width / DPI, height / DPI), dpi=DPI)
        self._figure.clear()
        axes = self._figure.add_axes((0.0, 0.0, 1.0, 1.0))
        axes.set_axis_off()
        self._artist = axes.imshow(picture, interpolation="nearest")
        manager = self._figure.canvas.manager
        self._interactive = manager is not None and type(manager) is not FigureManagerBase
        if self._interactive:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                manager.show()
