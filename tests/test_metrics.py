"""Metrics against hand-computed values on tiny volumes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from segenv.errors import ConfigError, DataError, InputTypeError
from segenv.metrics import (
    InteractiveMetrics,
    assd,
    clicks_to_reach,
    dice,
    dice_batch,
    hausdorff95,
    noc,
    surface_voxels,
)


def _cube(shape, start, size=3):
    mask = np.zeros(shape, dtype=bool)
    mask[tuple(slice(s, s + size) for s in start)] = True
    return mask


# ------------------------------------------------------------------------------------ dice


def test_dice_1d_three_vs_two_voxels_overlap_one():
    pred = np.array([1, 1, 1, 0, 0])
    target = np.array([0, 0, 1, 1, 0])
    assert dice(pred, target) == pytest.approx(2 * 1 / 5)


def test_dice_3d_toy():
    pred = np.zeros((2, 3, 3), dtype=bool)
    target = np.zeros((2, 3, 3), dtype=bool)
    pred[0, 0, :] = True  # 3 voxels
    target[0, 0, 2] = target[1, 2, 2] = True  # 2 voxels, 1 shared
    assert dice(pred, target) == pytest.approx(0.4)


def test_dice_empty_policies():
    empty = np.zeros((1, 4, 4), dtype=bool)
    full = np.ones((1, 4, 4), dtype=bool)
    assert dice(empty, empty) == 1.0
    assert dice(empty, full) == 0.0
    assert dice(full, empty) == 0.0
    assert dice(full, full) == 1.0


def test_dice_rejects_probabilities_with_a_hint():
    probability = np.full((2, 2), 0.7)
    with pytest.raises(InputTypeError, match=r"pred >= 0.5"):
        dice(probability, probability > 0.5)


def test_dice_rejects_non_binary_integers_and_shape_mismatch():
    with pytest.raises(DataError, match="only 0 and 1"):
        dice(np.array([0, 2]), np.array([0, 1]))
    with pytest.raises(ConfigError, match="same shape"):
        dice(np.zeros((2, 3), bool), np.zeros((3, 2), bool))


def test_dice_batch_matches_per_item_and_handles_empty_items():
    pred = np.zeros((3, 1, 5), dtype=bool)
    target = np.zeros((3, 1, 5), dtype=bool)
    pred[0, 0, :3] = True
    target[0, 0, 2:4] = True  # 2*1/5
    pred[1, 0, :] = True  # vs empty target -> 0
    # item 2: both empty -> 1
    np.testing.assert_allclose(dice_batch(pred, target), [0.4, 0.0, 1.0])


# --------------------------------------------------------------------------------- surfaces


def test_surface_of_cube_is_all_but_centre():
    cube = _cube((5, 5, 5), (1, 1, 1))
    surface = surface_voxels(cube)
    assert surface.sum() == 26
    assert not surface[2, 2, 2]


def test_surface_d1_volume_behaves_as_2d():
    square = np.zeros((1, 5, 5), dtype=bool)
    square[0, 1:4, 1:4] = True
    surface = surface_voxels(square)
    assert surface.sum() == 8  # the 3x3 ring, the centre is interior in 2D
    assert not surface[0, 2, 2]


def test_surface_voxels_validates_connectivity():
    with pytest.raises(ConfigError, match="connectivity"):
        surface_voxels(np.ones((2, 2), bool), connectivity=3)


def test_assd_single_voxels_anisotropic_spacing():
    pred = np.zeros((4, 5, 3), dtype=bool)
    target = np.zeros((4, 5, 3), dtype=bool)
    pred[1, 1, 1] = True
    target[2, 3, 1] = True
    # offset (1, 2, 0) voxels with spacing (2, 0.5, 0.7) mm: sqrt(2**2 + 1**2)
    spacing = (2.0, 0.5, 0.7)
    assert assd(pred, target, spacing) == pytest.approx(math.sqrt(5))
    assert hausdorff95(pred, target, spacing) == pytest.approx(math.sqrt(5))


def test_assd_cubes_offset_by_one_voxel_unit_spacing():
    # 3x3x3 cubes, 26 surface voxels each, shifted by one along x. From P's surface:
    # its x-min face (9 voxels) is 1 away; G's centre voxel (on P's x-max face) is 1 away;
    # the other 16 are on G's surface. Same the other way round: (10 + 10) / 52.
    pred = _cube((6, 6, 7), (2, 2, 2))
    target = _cube((6, 6, 7), (2, 2, 3))
    assert assd(pred, target) == pytest.approx(20 / 52)
    assert assd(target, pred) == pytest.approx(20 / 52)
    assert hausdorff95(pred, target) == pytest.approx(1.0)


def test_assd_cubes_offset_anisotropic_spacing():
    # x spacing 2 mm: the 9 face voxels are 2 mm away; the centre voxel is still 1 mm
    # from a face neighbour along y/z. (9*2 + 1) per direction over 52 voxels.
    pred = _cube((6, 6, 7), (2, 2, 2))
    target = _cube((6, 6, 7), (2, 2, 3))
    assert assd(pred, target, spacing=(1.0, 1.0, 2.0)) == pytest.approx(38 / 52)


def test_assd_identical_masks_is_zero_and_works_for_d1():
    square = np.zeros((1, 6, 6), dtype=bool)
    square[0, 1:5, 2:4] = True
    assert assd(square, square) == 0.0


def test_assd_empty_policies():
    empty = np.zeros((3, 3, 3), dtype=bool)
    voxel = empty.copy()
    voxel[1, 1, 1] = True
    assert assd(empty, empty) == 0.0
    assert assd(empty, voxel) == math.inf
    assert assd(voxel, empty) == math.inf
    assert hausdorff95(empty, voxel) == math.inf


@pytest.mark.parametrize("spacing", [(1.0, -1.0, 1.0), (1.0, float("nan"), 1.0), (1.0, 1.0)])
def test_assd_rejects_bad_spacing(spacing):
    mask = np.ones((2, 2, 2), dtype=bool)
    with pytest.raises(ConfigError, match="spacing"):
        assd(mask, mask, spacing)


# -------------------------------------------------------------------------------------- NoC


def test_clicks_to_reach_already_at_step_zero():
    assert clicks_to_reach([0.9, 0.95], 5, 0.85) == 0.0


def test_clicks_to_reach_later_and_never():
    curve = [0.70, 0.80, 0.86, 0.91]
    assert noc(curve, 5) == {"NoC@85": 10.0, "NoC@90": 15.0}
    assert clicks_to_reach([0.5, 0.6, 0.7], 5, 0.85) == 10.0  # never: the whole budget


def test_clicks_to_reach_mecca_schedule():
    schedule = [25, 5, 5, 5, 5]  # 25 clicks at step 0, then 5 per step: 45 in all
    assert noc([0.5, 0.8, 0.86, 0.88, 0.90, 0.92], schedule) == {"NoC@85": 30.0, "NoC@90": 40.0}
    assert clicks_to_reach([0.5, 0.6, 0.6, 0.6, 0.6, 0.6], schedule, 0.85) == 45.0


def test_clicks_to_reach_respects_max_clicks():
    assert clicks_to_reach([0.5, 0.7, 0.86], 5, 0.85, max_clicks=8) == 8.0
    assert clicks_to_reach([0.5, 0.86, 0.9], 5, 0.85, max_clicks=8) == 5.0


def test_noc_key_of_fractional_threshold():
    assert list(noc([0.5, 0.9], 3, thresholds=(0.875,))) == ["NoC@87.5"]


def test_clicks_to_reach_validation():
    with pytest.raises(ConfigError, match="one entry per step"):
        clicks_to_reach([0.5, 0.6], [5, 5], 0.85)
    with pytest.raises(ConfigError, match="non-empty"):
        clicks_to_reach([], 5, 0.85)
    with pytest.raises(DataError, match="NaN"):
        clicks_to_reach([0.5, float("nan")], 5, 0.85)
    with pytest.raises(DataError, match="divide percentages by 100"):
        clicks_to_reach([77.0, 85.0], 5, 0.85)
    with pytest.raises(ConfigError, match="threshold"):
        clicks_to_reach([0.5, 0.9], 5, 85)
    with pytest.raises(ConfigError, match=">= 0"):
        clicks_to_reach([0.5, 0.9], -1, 0.85)


# ----------------------------------------------------------------------- InteractiveMetrics


def _two_episodes() -> InteractiveMetrics:
    metrics = InteractiveMetrics()
    metrics.update([0.70, 0.86, 0.92], 5, assd=2.0)
    metrics.update([0.80, 0.84, 0.88], 5, assd=4.0)
    return metrics


def test_interactive_metrics_aggregate_values():
    summary = _two_episodes().aggregate()
    assert summary["num_episodes"] == 2
    np.testing.assert_allclose(summary["dice_mean"], [0.75, 0.85, 0.90])
    np.testing.assert_allclose(summary["dice_std"], [0.05, 0.01, 0.02])
    np.testing.assert_allclose(summary["clicks_mean"], [0, 5, 10])
    assert summary["NoC@85"] == pytest.approx((5 + 10) / 2)
    assert summary["NoC@90"] == pytest.approx((10 + 10) / 2)  # episode 2 never: budget 10
    assert summary["assd_mean"] == pytest.approx(3.0)


def test_interactive_metrics_add_step_equals_update():
    stepwise = InteractiveMetrics()
    for value, clicks in [(0.70, 0), (0.86, 5), (0.92, 5)]:
        stepwise.add_step(value, clicks)
    stepwise.end_episode(assd=2.0)
    whole = InteractiveMetrics()
    whole.update([0.70, 0.86, 0.92], 5, assd=2.0)
    assert stepwise.aggregate().keys() == whole.aggregate().keys()
    np.testing.assert_allclose(stepwise.aggregate()["dice_mean"], whole.aggregate()["dice_mean"])
    assert stepwise.aggregate()["NoC@85"] == whole.aggregate()["NoC@85"] == 5.0


def test_interactive_metrics_table_markdown_and_plain():
    metrics = _two_episodes()
    assert metrics.table() == (
        "| Step | 0 | 1 | 2 |\n"
        "|---|---|---|---|\n"
        "| Dice (%) | 75.00 ± 5.00 | 85.00 ± 1.00 | 90.00 ± 2.00 |\n"
        "| Clicks | 0 | 5 | 10 |"
    )
    plain = metrics.table(markdown=False).splitlines()
    assert plain[0].split() == ["Step", "0", "1", "2"]
    assert plain[1].startswith("Dice (%)")
    assert len({len(line) for line in plain[:2]}) == 1  # aligned columns


def test_interactive_metrics_reset_and_errors():
    metrics = _two_episodes()
    with pytest.raises(ConfigError, match="same number of steps"):
        metrics.update([0.5, 0.6], 5)
    metrics.reset()
    assert len(metrics) == 0
    with pytest.raises(DataError, match="no episodes"):
        metrics.aggregate()
    with pytest.raises(ConfigError, match="before any click"):
        metrics.add_step(0.5, clicks_before=5)
    with pytest.raises(ConfigError, match="without any add_step"):
        metrics.end_episode()


def test_interactive_metrics_without_assd_reports_nan():
    metrics = InteractiveMetrics()
    metrics.update([0.9], 5)
    assert math.isnan(metrics.aggregate()["assd_mean"])
