"""Metrics against hand-computed values on tiny volumes."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from segenv.errors import ConfigError, DataError, InputTypeError
from segenv.metrics import (
    InteractiveMetrics,
    assd,
    clicks_to_reach,
    dice,
    dice_batch,
    false_negative_volume,
    false_positive_volume,
    hausdorff95,
    interaction_auc,
    interactive_nsd,
    noc,
    normalized_surface_dice,
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


# -------------------------------------------------------------------------------------- NSD


def test_nsd_cubes_offset_by_one_voxel_by_hand():
    # The cubes of the ASSD test: per direction 16 of the 26 surface voxels are on the other
    # surface (distance 0) and 10 are 1 mm away.
    pred = _cube((6, 6, 7), (2, 2, 2))
    target = _cube((6, 6, 7), (2, 2, 3))
    assert normalized_surface_dice(pred, target, tolerance_mm=0.5) == pytest.approx(32 / 52)
    assert normalized_surface_dice(pred, target, tolerance_mm=1.0) == 1.0  # inclusive
    # x spacing 2 mm: the 9 face voxels are 2 mm away, the centre voxel still 1 mm
    anisotropic = normalized_surface_dice(pred, target, (1.0, 1.0, 2.0), tolerance_mm=1.5)
    assert anisotropic == pytest.approx(2 * (16 + 1) / 52)
    assert normalized_surface_dice(pred, target, (1.0, 1.0, 2.0)) == 1.0  # 2 mm: all


def test_nsd_single_voxels_and_the_default_tolerance_of_2_mm():
    pred = np.zeros((4, 5, 3), dtype=bool)
    target = np.zeros((4, 5, 3), dtype=bool)
    pred[1, 1, 1] = True
    target[2, 3, 1] = True  # sqrt(2**2 + 1**2) = 2.236 mm apart with spacing (2, 0.5, 0.7)
    spacing = (2.0, 0.5, 0.7)
    assert normalized_surface_dice(pred, target, spacing) == 0.0
    assert normalized_surface_dice(pred, target, spacing, tolerance_mm=2.25) == 1.0


def test_nsd_empty_policies_and_d1_volumes():
    empty = np.zeros((1, 5, 5), dtype=bool)
    square = empty.copy()
    square[0, 1:4, 1:4] = True
    assert normalized_surface_dice(empty, empty) == 1.0
    assert normalized_surface_dice(empty, square) == 0.0
    assert normalized_surface_dice(square, empty) == 0.0
    assert normalized_surface_dice(square, square) == 1.0
    shifted = np.roll(square, 1, axis=2)  # 2D rings of 8: 4 of each lie on the other ring
    assert normalized_surface_dice(square, shifted, tolerance_mm=0.0) == pytest.approx(8 / 16)
    assert normalized_surface_dice(square, shifted, tolerance_mm=1.0) == 1.0


def test_nsd_rejects_a_bad_tolerance():
    mask = np.ones((2, 2, 2), dtype=bool)
    with pytest.raises(ConfigError, match="tolerance_mm"):
        normalized_surface_dice(mask, mask, tolerance_mm=-1.0)
    with pytest.raises(InputTypeError, match="tolerance_mm"):
        normalized_surface_dice(mask, mask, tolerance_mm="2mm")


def test_interactive_nsd_is_zero_at_or_below_a_dice_of_0_2():
    target = np.zeros((1, 5, 5), dtype=bool)
    target[0, 1:4, 1:4] = True  # 9 voxels
    pred = np.zeros_like(target)
    pred[0, 2, 2] = True  # Dice 2 * 1 / 10 = 0.2 exactly: the evaluator's "dice > 0.2" fails
    assert dice(pred, target) == pytest.approx(0.2)
    assert normalized_surface_dice(pred, target) > 0.0
    assert interactive_nsd(pred, target) == 0.0
    pred[0, 1, 2] = True  # Dice 4 / 11 > 0.2: the plain NSD
    assert interactive_nsd(pred, target) == normalized_surface_dice(pred, target)
    assert interactive_nsd(pred, target, dice_floor=0.5) == 0.0
    assert interactive_nsd(target, target) == 1.0


# ------------------------------------------------------------ NSD against an independent oracle


def _monai_nsd(pred, target, spacing, tolerance):
    """MONAI's ``compute_surface_dice`` (voxel surfaces, ``use_subvoxels=False``) as the oracle."""
    torch = pytest.importorskip("torch")
    metrics = pytest.importorskip("monai.metrics")

    def tensor(mask):
        return torch.from_numpy(np.asarray(mask, np.float32)[None, None])

    with warnings.catch_warnings():  # MONAI 1.6 warns about its own deprecated argument
        warnings.simplefilter("ignore", FutureWarning)
        value = metrics.compute_surface_dice(
            tensor(pred),
            tensor(target),
            [tolerance],
            include_background=True,
            spacing=list(spacing),
        )
    return float(value.reshape(-1)[0])


def _random_blobs(rng, shape, fraction=0.5):
    from scipy import ndimage

    mask = ndimage.binary_opening(rng.random(shape) < fraction)
    return (
        mask
        if mask.any()
        else np.pad(np.ones((1,) * len(shape), bool), [(0, s - 1) for s in shape])
    )


def test_nsd_matches_monai_on_random_masks():
    rng = np.random.default_rng(2025)
    differences = []
    for _ in range(60):
        shape = tuple(int(size) for size in rng.integers(4, 16, size=3))
        pred, target = _random_blobs(rng, shape), _random_blobs(rng, shape)
        spacing = tuple(float(s) for s in rng.uniform(0.5, 3.0, size=3))
        tolerance = float(rng.choice([0.0, 1.0, 2.0, rng.uniform(0.3, 5.0)]))
        ours = normalized_surface_dice(pred, target, spacing, tolerance)
        differences.append(abs(ours - _monai_nsd(pred, target, spacing, tolerance)))
    assert max(differences) < 1e-6


@pytest.mark.parametrize(
    ("shift", "spacing", "tolerance"),
    [
        ((0, 0, 1), (1.0, 1.0, 1.0), 0.5),
        ((0, 1, 1), (2.0, 1.0, 0.5), 1.0),
        ((1, 2, 0), (3, 1, 1), 2),
    ],
)
def test_nsd_matches_monai_on_hand_made_masks(shift, spacing, tolerance):
    pred = np.zeros((9, 10, 11), bool)
    pred[2:6, 3:7, 2:8] = True
    pred[6, 4, 4] = True  # a bump
    target = np.roll(pred, shift, axis=(0, 1, 2))
    target[7:9, 0:2, 9:11] = True  # a detached blob in a corner (on the volume border)
    ours = normalized_surface_dice(pred, target, spacing, tolerance)
    assert abs(ours - _monai_nsd(pred, target, spacing, tolerance)) < 1e-6
    assert 0.0 < ours < 1.0


# --------------------------------------------------------------------------- DSC_AUC, NSD_AUC


def test_interaction_auc_by_hand():
    dice_per_step = [0.75, 0.80, 0.90, 0.90, 0.95, 1.00]
    # the CVPR 2025 evaluator integrates the 5 values after the clicks at x = 0..4:
    # (0.80 + 0.90) / 2 + (0.90 + 0.90) / 2 + (0.90 + 0.95) / 2 + (0.95 + 1.00) / 2
    assert interaction_auc(dice_per_step) == pytest.approx(0.85 + 0.90 + 0.925 + 0.975)
    # autoPET IV keeps the initial prediction: + (0.75 + 0.80) / 2
    assert interaction_auc(dice_per_step, include_initial=True) == pytest.approx(3.65 + 0.775)
    assert interaction_auc([0.5, 1.0, 1.0, 1.0]) == pytest.approx(2.0)  # T = 3: at most T - 1
    assert interaction_auc([0.3, 0.6]) == 0.0  # one value after the steps: no area
    assert interaction_auc([0.3]) == 0.0


def test_interaction_auc_is_the_official_cumulative_trapezoid():
    from scipy import integrate

    values = np.random.default_rng(0).random(6)
    n_clicks = 5  # CVPR25_iter_eval.py: cumulative_trapezoid(dscs[-n_clicks:], arange(n_clicks))
    official = integrate.cumulative_trapezoid(values[-n_clicks:], np.arange(n_clicks))[-1]
    assert interaction_auc(values) == pytest.approx(official, abs=1e-12)


def test_interaction_auc_validates_its_values():
    with pytest.raises(DataError, match=r"values_per_step.*percentages"):
        interaction_auc([75.0, 80.0, 90.0])
    with pytest.raises(ConfigError, match="non-empty"):
        interaction_auc([])


# ------------------------------------------------------------------- lesion component volumes


def _lesions():
    target = np.zeros((3, 8, 8), bool)
    target[0, 0:2, 0:2] = True  # lesion A, 4 voxels: found
    target[2, 6:8, 6:8] = True  # lesion B, 4 voxels: missed
    target[1, 4, 0] = True  # lesion C, 1 voxel: touched only by the prediction's big blob
    pred = np.zeros_like(target)
    pred[0, 1, 1:3] = True  # overlaps A
    pred[1, 6, 3:6] = True  # a false blob, 3 voxels
    pred[1, 3:6, 0] = True  # 3 voxels over C
    pred[2, 0, 7] = True  # a false voxel, 1 voxel
    return pred, target


def test_lesion_volumes_by_hand():
    pred, target = _lesions()
    spacing = (2.0, 1.5, 1.0)  # 3 mm³ per voxel
    assert false_positive_volume(pred, target, spacing) == pytest.approx((3 + 1) * 3.0)
    assert false_negative_volume(pred, target, spacing) == pytest.approx(4 * 3.0)
    assert false_positive_volume(pred, target) == 4.0  # 1 mm³ voxels by default


def test_lesion_volumes_use_18_connectivity_by_default():
    target = np.zeros((3, 3, 3), bool)
    target[0, 0, 0] = True
    target[1, 1, 0] = True  # an edge neighbour of (0, 0, 0): one lesion with 18-connectivity
    pred = np.zeros_like(target)
    pred[0, 0, 0] = True
    assert false_negative_volume(pred, target) == 0.0
    assert false_negative_volume(pred, target, connectivity=1) == 1.0  # two lesions, one missed
    corner = np.zeros_like(target)
    corner[2, 2, 1] = True  # a corner neighbour of (1, 1, 0): apart with 18, joined with 26
    assert false_negative_volume(pred, target | corner) == 1.0
    assert false_negative_volume(pred, target | corner, connectivity=3) == 0.0


def test_lesion_volumes_empty_policies():
    empty = np.zeros((2, 3, 3), bool)
    blob = empty.copy()
    blob[0, 1, 1:3] = True
    assert false_positive_volume(empty, blob) == 0.0
    assert false_negative_volume(empty, blob) == 2.0
    assert false_positive_volume(blob, empty) == 2.0
    assert false_negative_volume(blob, empty) == 0.0
    assert false_positive_volume(empty, empty) == false_negative_volume(empty, empty) == 0.0
    with pytest.raises(ConfigError, match="connectivity"):
        false_positive_volume(blob, blob, connectivity=0)


def test_lesion_volumes_match_autopets_component_loop():
    cc3d = pytest.importorskip("cc3d")

    def autopet(components_of, other):  # the autoPET evaluator's loop, with cc3d at 18
        labels = cc3d.connected_components(components_of.astype(np.uint8), connectivity=18)
        return sum(
            int((labels == index).sum())
            for index in range(1, int(labels.max()) + 1)
            if not ((labels == index) & other).any()
        )

    rng = np.random.default_rng(7)
    for _ in range(20):
        pred = rng.random((6, 9, 10)) < 0.12
        target = rng.random((6, 9, 10)) < 0.12
        assert false_positive_volume(pred, target) == autopet(pred, target)
        assert false_negative_volume(pred, target) == autopet(target, pred)


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


def test_interactive_metrics_cvpr_protocol_values():
    metrics = InteractiveMetrics()
    metrics.update(
        [0.70, 0.80, 0.90],
        5,
        nsd_per_step=[0.50, 0.60, 0.80],
        false_positive_volume=3.0,
        false_negative_volume=0.0,
        seconds_per_step=0.02,
    )
    metrics.update(
        [0.70, 0.60, 0.70],
        5,
        nsd_per_step=[0.50, 0.40, 0.60],
        false_positive_volume=1.0,
        false_negative_volume=8.0,
        seconds_per_step=0.04,
    )
    summary = metrics.aggregate()
    assert summary["dsc_auc"] == pytest.approx(((0.80 + 0.90) / 2 + (0.60 + 0.70) / 2) / 2)
    assert summary["nsd_auc"] == pytest.approx(((0.60 + 0.80) / 2 + (0.40 + 0.60) / 2) / 2)
    assert summary["final_dsc"] == pytest.approx(0.80)
    assert summary["final_nsd"] == pytest.approx(0.70)
    np.testing.assert_allclose(summary["nsd_mean"], [0.50, 0.50, 0.70])
    assert summary["false_positive_volume"] == pytest.approx(2.0)
    assert summary["false_negative_volume"] == pytest.approx(4.0)
    assert summary["seconds_per_step"] == pytest.approx(0.03)
    assert "NSD (%)" in metrics.table()
    include = InteractiveMetrics(auc_include_initial=True)
    include.update([0.70, 0.80, 0.90], 5)
    assert include.aggregate()["dsc_auc"] == pytest.approx(0.75 + 0.85)


def test_interactive_metrics_stepwise_nsd_equals_update_and_unreported_is_nan():
    stepwise = InteractiveMetrics()
    for value, nsd_value, clicks in [(0.70, 0.5, 0), (0.86, 0.7, 5)]:
        stepwise.add_step(value, clicks, nsd_value=nsd_value)
    stepwise.end_episode(false_positive_volume=2.0, seconds_per_step=0.5)
    whole = InteractiveMetrics()
    whole.update(
        [0.70, 0.86], 5, nsd_per_step=[0.5, 0.7], false_positive_volume=2.0, seconds_per_step=0.5
    )
    a, b = stepwise.aggregate(), whole.aggregate()
    assert a.keys() == b.keys()
    for key in ("dsc_auc", "nsd_auc", "final_nsd", "false_positive_volume", "seconds_per_step"):
        assert a[key] == b[key]
    assert math.isnan(a["false_negative_volume"])
    bare = InteractiveMetrics()
    bare.update([0.5, 0.6], 5)
    assert math.isnan(bare.aggregate()["nsd_auc"]) and math.isnan(bare.aggregate()["final_nsd"])
    with pytest.raises(ConfigError, match="nsd_value"):
        stepwise.add_step(0.5)
        stepwise.add_step(0.6, 5, nsd_value=0.4)
    with pytest.raises(ConfigError, match="one value per Dice value"):
        whole.update([0.5, 0.6], 5, nsd_per_step=[0.5])
    with pytest.raises(DataError, match="false_positive_volume"):
        whole.update([0.5, 0.6], 5, false_positive_volume=-1.0)
