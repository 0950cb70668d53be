"""The montage renderer: output format, D = 1, clicks, slice choice, headless use."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from segenv import render
from segenv.errors import ConfigError, DataError, InputTypeError
from segenv.render import render_montage


def _state(shape=(6, 10, 12), centre=(3, 5, 6), radius=3.0):
    """A ball label, a noisy image, a blurred probability and empty hints."""
    grid = np.indices(shape, dtype=np.float32)
    distance = np.sqrt(sum((g - c) ** 2 for g, c in zip(grid, centre, strict=True)))
    label = distance <= radius
    image = (label + 0.1 * np.random.default_rng(0).standard_normal(shape)).astype(np.float32)
    probability = (1.0 / (1.0 + np.exp(distance - radius))).astype(np.float32)
    hints = np.zeros(shape, np.float32)
    return image[None], probability, hints, hints.copy(), label


def _axial_panel_origin(column: int, width: int) -> tuple[int, int, int]:
    """Top-left pixel of an axial panel and the zoom, for a montage without a title."""
    scale = max(1, round(render.PANEL_TARGET_PX / width))
    panel_width = width * scale
    left = render.GAP_PX + column * (panel_width + render.GAP_PX)
    return render.GAP_PX + render.TITLE_PX, left, scale


def _colour_mask(frame: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    return (frame == np.asarray(colour, np.uint8)).all(axis=-1)


def test_output_is_uint8_rgb_with_two_rows_for_3d():
    frame = render_montage(*_state())
    flat = render_montage(*(a[..., :1, :, :] if a.ndim == 4 else a[:1] for a in _state()))
    assert frame.dtype == np.uint8
    assert frame.ndim == 3 and frame.shape[2] == 3
    assert frame.shape[1] == flat.shape[1]
    assert frame.shape[0] > flat.shape[0]  # the coronal row
    assert frame.std() > 0


def test_d1_volume_renders_one_row():
    image, probability, hint_pos, hint_neg, label = _state(shape=(1, 10, 12), centre=(0, 5, 6))
    frame = render_montage(image, probability, hint_pos, hint_neg, label)
    top, _, scale = _axial_panel_origin(0, 12)
    assert frame.shape == (top + 10 * scale + render.GAP_PX, frame.shape[1], 3)
    assert _colour_mask(frame, render.GT_COLOUR).any()


def test_title_adds_a_header_band():
    state = _state()
    assert (
        render_montage(*state, title="case · step 1").shape[0]
        == render_montage(*state).shape[0] + render.HEADER_PX
    )


def test_clicks_are_drawn_where_they_are():
    state = _state(shape=(1, 10, 12), centre=(0, 5, 6))
    without = render_montage(*state)
    with_clicks = render_montage(
        *state,
        clicks_coords=np.array([[0, 2, 3], [0, 8, 9]]),
        clicks_labels=np.array([True, False]),
    )
    top, left, scale = _axial_panel_origin(4, 12)
    for (row, column), colour in (
        ((2, 3), render.OBJECT_CLICK_COLOUR),
        ((8, 9), render.BACKGROUND_CLICK_COLOUR),
    ):
        centre = (top + int((row + 0.5) * scale), left + int((column + 0.5) * scale))
        assert tuple(with_clicks[centre]) == colour
        assert tuple(without[centre]) != colour
    changed_columns = np.flatnonzero((with_clicks != without).any(axis=(0, 2)))
    assert changed_columns.min() >= left  # only the clicks panel changes


def test_clicks_far_from_the_slice_are_not_drawn_on_it():
    image, probability, hint_pos, hint_neg, label = _state(shape=(8, 10, 12), centre=(4, 5, 6))
    kwargs = {"slice_index": 0}
    without = render_montage(image, probability, hint_pos, hint_neg, label, **kwargs)
    near_and_far = [
        render_montage(
            image,
            probability,
            hint_pos,
            hint_neg,
            label,
            clicks_coords=np.array([[z, 5, 6]]),
            clicks_labels=np.array([True]),
            **kwargs,
        )
        for z in (2, 3)
    ]
    top, _, scale = _axial_panel_origin(0, 12)
    axial_row = slice(0, top + 10 * scale)
    assert (near_and_far[0][axial_row] != without[axial_row]).any()  # 2 slices away: a ring
    assert (near_and_far[1][axial_row] == without[axial_row]).all()  # 3 slices away: nothing


def test_default_slice_shows_the_foreground():
    image, probability, hint_pos, hint_neg, label = _state(shape=(8, 10, 12), centre=(4, 5, 6))
    label = np.zeros_like(label)
    label[5, 3:7, 4:8] = True
    top, left, scale = _axial_panel_origin(0, 12)
    first_panel = (slice(top, top + 10 * scale), slice(left, left + 12 * scale))
    default = render_montage(image, probability, hint_pos, hint_neg, label)
    elsewhere = render_montage(image, probability, hint_pos, hint_neg, label, slice_index=0)
    assert _colour_mask(default[first_panel], render.GT_COLOUR).any()
    assert not _colour_mask(elsewhere[first_panel], render.GT_COLOUR).any()


def test_multimodal_image_shows_channel_zero():
    image, probability, hint_pos, hint_neg, label = _state()
    two_channels = np.concatenate([image, -image])
    np.testing.assert_array_equal(
        render_montage(two_channels, probability, hint_pos, hint_neg, label),
        render_montage(image[0], probability, hint_pos, hint_neg, label),
    )


def test_input_validation():
    image, probability, hint_pos, hint_neg, label = _state()
    with pytest.raises(ConfigError, match="probability"):
        render_montage(image, probability[:-1], hint_pos, hint_neg, label)
    bad = probability.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(DataError, match="probability"):
        render_montage(image, bad, hint_pos, hint_neg, label)
    with pytest.raises(InputTypeError, match="label"):
        render_montage(image, probability, hint_pos, hint_neg, label.astype(float) * 0.5)
    with pytest.raises(ConfigError, match="clicks_labels"):
        render_montage(image, probability, hint_pos, hint_neg, label, np.array([[0, 0, 0]]))
    with pytest.raises(ConfigError, match="inside the volume"):
        render_montage(
            image, probability, hint_pos, hint_neg, label, np.array([[6, 0, 0]]), np.array([True])
        )
    with pytest.raises(ConfigError, match="slice_index"):
        render_montage(image, probability, hint_pos, hint_neg, label, slice_index=6)


def test_headless_render_and_human_renderer_under_agg():
    script = textwrap.dedent(
        """
        import sys
        import numpy as np
        from segenv.render import HumanRenderer, render_montage

        label = np.zeros((3, 8, 8), bool)
        label[1, 2:6, 2:6] = True
        volume = label.astype(np.float32)
        frame = render_montage(volume, volume, volume, volume, label)
        assert "matplotlib.pyplot" not in sys.modules, "rgb_array must not touch pyplot"
        renderer = HumanRenderer()
        renderer.show(frame)
        renderer.show(frame[::2, ::2].copy())
        assert renderer.is_open
        renderer.close()
        assert not renderer.is_open
        print("ok", frame.shape)
        """
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["MPLBACKEND"] = "Agg"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok")
