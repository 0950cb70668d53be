"""Tests of the synthetic object families: the default ``lesion`` is unchanged, every family
keeps the generator's contracts, and each has the structure its docstring promises.

Statistics, not pixels (the style of scikit-image's ``binary_blobs`` tests); the one exception
is the bit-for-bit comparison of ``lesion`` with the frozen generator in
``reference_synthetic.py``.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import reference_synthetic as reference
from scipy import ndimage

from segenv.data import (
    DOMAIN_RANDOMISATION,
    FAMILIES,
    HELD_OUT_FAMILIES,
    POLARITIES,
    TRAINING_FAMILIES,
    SyntheticSource,
    make_synthetic_case,
    synthetic_splits,
)
from segenv.errors import ConfigError, InputTypeError

SMALL = (16, 32, 32)
NEW_FAMILIES = [f for f in FAMILIES if f != "lesion"]


def shell_contrast(image: np.ndarray, label: np.ndarray, width: int = 3) -> float:
    """Mean of the object minus the mean of the ``width``-voxel shell around it."""
    shell = ndimage.binary_dilation(label, iterations=width) & ~label
    return float(image[label].mean() - image[shell].mean())


def best_window_dice(image: np.ndarray, label: np.ndarray, bins: int = 256) -> float:
    """Best Dice of ``lo <= image <= hi`` over intervals of intensity quantiles.

    A threshold from above only suits bright objects; an interval also suits dark ones and
    ones lying between a darker and a brighter neighbour (grey matter on T1).
    """
    edges = np.quantile(image, np.linspace(0.0, 1.0, bins + 1))
    index = np.clip(np.searchsorted(edges, image.ravel(), side="right") - 1, 0, bins - 1)
    counts = np.concatenate([[0], np.cumsum(np.bincount(index, minlength=bins))])
    hits = np.concatenate(
        [[0], np.cumsum(np.bincount(index, weights=label.ravel(), minlength=bins))]
    )
    true_positives = hits[None, 1:] - hits[:-1, None]
    predicted = counts[None, 1:] - counts[:-1, None]
    valid = np.triu(predicted > 0)  # intervals lo <= hi that hold voxels
    dice = np.divide(
        2 * true_positives, predicted + label.sum(), where=valid, out=np.zeros(valid.shape)
    )
    return float(dice.max())


def test_best_window_dice_helper_on_a_hand_example():
    image = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    label = np.array([False, False, True, True, True, False, False, False])
    assert best_window_dice(image, label, bins=8) == pytest.approx(1.0)
    assert best_window_dice(image, label[::-1].copy(), bins=8) == pytest.approx(1.0)
    spread = np.array([True, False, False, False, False, False, False, True])
    # best: one end alone, {0} or {7}: 2·1/(1+2) = 2/3 (the whole range gives 2·2/(8+2) = 0.4)
    assert best_window_dice(image, spread, bins=8) == pytest.approx(2 / 3)


# --------------------------------------------------------------------------- lesion unchanged


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rng": 0},
        {"rng": 1, "difficulty": 1.0, "num_modalities": 3},
        {"rng": 2, "shape": (1, 64, 64), "difficulty": 0.0, "num_parts": 2},
        {"rng": 3, "shape": SMALL, "contrast": 2.0, "noise": 0.1, "object_size": 0.1},
        {"rng": 4, "shape": (12, 20, 64), "num_modalities": 6, "spacing": (2.0, 1.0, 1.0)},
    ],
)
def test_default_family_is_bit_identical_to_the_frozen_generator(kwargs):
    new, old = make_synthetic_case(**kwargs), reference.make_synthetic_case(**kwargs)
    assert new.image.tobytes() == old.image.tobytes()
    assert np.array_equal(new.label, old.label)
    assert (new.name, new.spacing) == (old.name, old.spacing)


def test_explicit_defaults_of_the_new_knobs_leave_lesion_unchanged():
    old = reference.make_synthetic_case(SMALL, 9, difficulty=0.7)
    new = make_synthetic_case(
        SMALL,
        9,
        difficulty=0.7,
        family="lesion",
        polarity="bright",
        slice_thickness=1.0,
        randomise=False,
    )
    assert new.image.tobytes() == old.image.tobytes()
    assert new.name == old.name == "synthetic"


def test_default_source_is_identical_to_the_frozen_source():
    ours = SyntheticSource(SMALL, num_cases=2, start_seed=5, difficulty=0.3)
    theirs = reference.SyntheticSource(SMALL, num_cases=2, start_seed=5, difficulty=0.3)
    for a, b in zip(ours, theirs, strict=True):
        assert a.name == b.name
        assert a.image.tobytes() == b.image.tobytes()


def test_default_lesion_labels_match_stored_digests():
    # labels only: float images may differ in the last ulp on another CPU, labels do not
    expected = {0: ("9983abc3931bf8cb", 5613), 1: ("fcc0e585c451f27a", 5028)}
    for seed, (digest, voxels) in expected.items():
        kwargs = {"difficulty": 1.0, "num_modalities": 2} if seed == 1 else {}
        label = make_synthetic_case(rng=seed, **kwargs).label
        assert hashlib.sha256(np.packbits(label).tobytes()).hexdigest()[:16] == digest
        assert int(label.sum()) == voxels


# --------------------------------------------------------------------------- contracts


@pytest.mark.parametrize("family", NEW_FAMILIES)
@pytest.mark.parametrize("shape", [(30, 55, 55), (1, 64, 64), (12, 20, 64), (40, 12, 30)])
def test_every_family_keeps_the_generator_contracts(family, shape):
    margins = np.array([min(3, n // 6) for n in shape])  # documented: min(3, n // 6)
    for seed, difficulty in ((0, 0.0), (1, 1.0)):
        case = make_synthetic_case(
            shape, seed, family=family, difficulty=difficulty, num_modalities=2
        )
        assert case.image.dtype == np.float32 and case.image.shape == (2, *shape)
        assert case.label.dtype == bool and case.label.shape == shape
        assert np.isfinite(case.image).all() and case.label.any()
        index = np.argwhere(case.label)
        assert (index.min(axis=0) >= margins).all()
        assert (index.max(axis=0) <= np.array(shape) - 1 - margins).all()
        for channel in case.image:
            assert abs(float(channel.mean(dtype=np.float64))) < 1e-4
            assert float(channel.std(dtype=np.float64)) == pytest.approx(1.0, abs=1e-3)
        assert case.spacing == (1.0, 1.0, 1.0)
        assert case.name == f"synthetic-{family}"


@pytest.mark.parametrize("family", NEW_FAMILIES)
def test_every_family_is_deterministic_per_seed(family):
    first = make_synthetic_case(SMALL, 7, family=family, polarity="random", randomise=True)
    again = make_synthetic_case(
        SMALL, np.random.default_rng(7), family=family, polarity="random", randomise=True
    )
    other = make_synthetic_case(SMALL, 8, family=family, polarity="random", randomise=True)
    assert first.image.tobytes() == again.image.tobytes()
    assert np.array_equal(first.label, again.label)
    assert not np.array_equal(first.label, other.label)


def test_a_generator_without_jumped_still_gives_deterministic_cases():
    def make() -> np.ndarray:
        rng = np.random.Generator(np.random.SFC64(3))  # SFC64 has no jumped(): fallback path
        return make_synthetic_case(SMALL, rng, family="mixed", polarity="random").image

    assert make().tobytes() == make().tobytes()


def test_tiny_volumes_still_get_a_label_in_every_family():
    for family in FAMILIES:
        for shape in ((1, 8, 8), (8, 8, 8), (3, 8, 40)):
            assert make_synthetic_case(shape, 0, family=family, difficulty=1.0).label.any()


# --------------------------------------------------------------------------- structure


def thickness(label: np.ndarray) -> float:
    """Largest inscribed-ball radius in voxels (the distance transform's maximum)."""
    return float(ndimage.distance_transform_edt(label).max())


def test_tissue_is_a_thin_connected_folded_sheet():
    for seed in range(3):
        label = make_synthetic_case(rng=seed, family="tissue").label
        inside = ndimage.distance_transform_edt(label)
        assert inside.max() <= 3.0  # at most ~5 voxels thick anywhere
        assert np.percentile(inside[label], 95) <= 2.0
        assert ndimage.label(label)[1] == 1
        assert 0.05 <= label.mean() <= 0.3  # a sheet spanning the brain, not a blob
        extent = np.ptp(np.argwhere(label), axis=0)
        assert extent[1] >= 40 and extent[2] >= 40
        # folded: far more surface than a smooth shell of the same volume would have
        surface = label & ~ndimage.binary_erosion(label)
        assert surface.sum() >= 0.6 * label.sum()


def test_tubes_are_thin_elongated_trees():
    for seed in range(4):
        label = make_synthetic_case(rng=seed, family="tubes").label
        assert thickness(label) <= 3.5  # radius 1-3 voxels
        components, count = ndimage.label(label)
        assert 1 <= count <= 3  # one to three trees, possibly crossing
        sizes = np.bincount(components.ravel())[1:]
        largest = np.argwhere(components == 1 + int(np.argmax(sizes)))
        assert np.ptp(largest, axis=0).max() >= 6 * thickness(label)  # long, not a blob
        assert label.mean() < 0.08


def test_organ_is_one_large_thick_shape():
    fractions = []
    for seed in range(4):
        label = make_synthetic_case(rng=seed, family="organ").label
        assert ndimage.label(label)[1] == 1
        assert thickness(label) >= 8
        fractions.append(label.mean())
    assert min(fractions) >= 0.18 and max(fractions) <= 0.42
    assert np.ptp(fractions) > 0.03
    explicit = make_synthetic_case(SMALL, 0, family="organ", object_size=0.3).label.mean()
    assert 0.25 <= explicit <= 0.31


def test_metastases_are_many_small_separate_nodules():
    counts = []
    for seed in range(6):
        label = make_synthetic_case(rng=seed, family="metastases").label
        components, count = ndimage.label(label)
        assert ndimage.label(label, np.ones((3, 3, 3)))[1] == count  # apart, even diagonally
        sizes = np.bincount(components.ravel())[1:]
        assert sizes.max() <= 0.01 * label.size
        assert thickness(label) <= 4
        counts.append(count)
    assert min(counts) >= 5 and max(counts) <= 30
    assert len(set(counts)) > 2


def test_metastases_num_parts_is_exact_or_an_error():
    for seed, count in ((0, 12), (1, 30)):
        label = make_synthetic_case(
            rng=seed, family="metastases", num_parts=count, object_size=0.01, difficulty=1.0
        ).label
        assert ndimage.label(label)[1] == count
        assert ndimage.label(label, np.ones((3, 3, 3)))[1] == count  # packed, yet apart
    with pytest.raises(ConfigError, match="do not fit"):
        make_synthetic_case((1, 16, 16), 0, family="metastases", num_parts=40, object_size=0.1)


def test_families_differ_in_size_and_thickness():
    cases = {f: make_synthetic_case(rng=1, family=f) for f in FAMILIES}
    fraction = {f: c.label.mean() for f, c in cases.items()}
    assert fraction["organ"] > 3 * fraction["lesion"] > 3 * fraction["metastases"]
    assert thickness(cases["organ"].label) > thickness(cases["lesion"].label)
    assert thickness(cases["lesion"].label) > thickness(cases["tubes"].label)
    assert thickness(cases["lesion"].label) > thickness(cases["tissue"].label)


# --------------------------------------------------------------------------- appearance


@pytest.mark.parametrize("family", FAMILIES)
def test_polarity_flips_the_object_contrast_and_keeps_the_label(family):
    for seed in range(2):
        bright = make_synthetic_case(SMALL, seed, family=family, polarity="bright")
        dark = make_synthetic_case(SMALL, seed, family=family, polarity="dark")
        np.testing.assert_array_equal(bright.label, dark.label)
        assert shell_contrast(bright.image[0], bright.label) > 0.2
        assert shell_contrast(dark.image[0], dark.label) < -0.2


def test_natural_polarity_is_dark_for_tissue_and_bright_for_the_others():
    for family in FAMILIES:
        natural = make_synthetic_case(SMALL, 3, family=family)
        expected = "dark" if family == "tissue" else "bright"
        explicit = make_synthetic_case(SMALL, 3, family=family, polarity=expected)
        assert natural.image.tobytes() == explicit.image.tobytes()


def test_random_polarity_draws_both_from_the_seed():
    signs = set()
    for seed in range(12):
        case = make_synthetic_case(SMALL, seed, polarity="random")
        signs.add(np.sign(shell_contrast(case.image[0], case.label)))
        plain = make_synthetic_case(SMALL, seed)
        np.testing.assert_array_equal(case.label, plain.label)
    assert signs == {-1.0, 1.0}


@pytest.mark.parametrize("family", FAMILIES)
def test_difficulty_keeps_its_meaning_in_every_family(family):
    sign = -1.0 if family == "tissue" else 1.0  # natural polarity

    def mean_dice(difficulty: float) -> float:
        dice = []
        for seed in range(3):
            case = make_synthetic_case(rng=seed, family=family, difficulty=difficulty)
            dice.append(best_window_dice(sign * case.image[0], case.label))
        return float(np.mean(dice))

    easy, hard = mean_dice(0.0), mean_dice(1.0)
    assert easy > 0.85  # difficulty 0: intensity alone nearly solves it
    assert hard < easy - 0.2


def test_randomise_varies_contrast_per_case_and_keeps_the_label():
    def contrasts(randomise: bool) -> list[float]:
        values = []
        for seed in range(12):
            case = make_synthetic_case(SMALL, seed, randomise=randomise)
            values.append(shell_contrast(case.image[0], case.label))
        return values

    fixed, varied = contrasts(False), contrasts(True)
    assert np.std(varied) > 1.3 * np.std(fixed)
    plain, randomised = make_synthetic_case(SMALL, 4), make_synthetic_case(SMALL, 4, randomise=True)
    np.testing.assert_array_equal(plain.label, randomised.label)
    assert not np.array_equal(plain.image, randomised.image)


def roughness_ratio(image: np.ndarray) -> float:
    """Mean squared step along D over the mean squared step along W."""
    return float(np.mean(np.diff(image, axis=0) ** 2) / np.mean(np.diff(image, axis=2) ** 2))


@pytest.mark.parametrize("family", FAMILIES)
def test_thick_slices_are_recorded_and_smooth_the_image_along_d(family):
    thin = make_synthetic_case(SMALL, 1, family=family, noise=0.0, spacing=(1.0, 0.8, 0.8))
    thick = make_synthetic_case(
        SMALL, 1, family=family, noise=0.0, spacing=(1.0, 0.8, 0.8), slice_thickness=3.0
    )
    assert thin.spacing == (1.0, 0.8, 0.8) and thick.spacing == (3.0, 0.8, 0.8)
    np.testing.assert_array_equal(thin.label, thick.label)
    assert roughness_ratio(thick.image[0]) < 0.85 * roughness_ratio(thin.image[0])
    in_plane = (thick.image[0, :, :, 1:] - thick.image[0, :, :, :-1]) ** 2
    assert np.mean(in_plane) > 0.6 * np.mean(
        (thin.image[0, :, :, 1:] - thin.image[0, :, :, :-1]) ** 2
    )


def test_slice_thickness_range_is_drawn_per_case():
    thicknesses = [
        make_synthetic_case(
            SMALL, seed, slice_thickness=(1.0, 3.0), spacing=(2.0, 1.0, 1.0)
        ).spacing[0]
        for seed in range(8)
    ]
    assert all(2.0 <= t <= 6.0 for t in thicknesses)
    assert np.ptp(thicknesses) > 1.0


# --------------------------------------------------------------------------- mixtures


def test_family_sets_are_disjoint_and_cover_every_family():
    assert set(TRAINING_FAMILIES).isdisjoint(HELD_OUT_FAMILIES)
    assert set(TRAINING_FAMILIES) | set(HELD_OUT_FAMILIES) == set(FAMILIES)
    assert "tissue" in TRAINING_FAMILIES  # the family most like real tissue labels is trained on
    assert "lesion" in TRAINING_FAMILIES
    assert POLARITIES == ("bright", "dark", "random")


def drawn_family(name: str) -> str:
    """The family in a case name ``synthetic[-family][-seed]``."""
    parts = name.split("-")
    return parts[1] if len(parts) > 1 and parts[1] in FAMILIES else "lesion"


def test_mixed_draws_several_training_families_and_equals_the_pure_family_case():
    seen = []
    for seed in range(16):
        case = make_synthetic_case(SMALL, seed, family="mixed")
        family = drawn_family(case.name)
        seen.append(family)
        pure = make_synthetic_case(SMALL, seed, family=family)
        assert case.image.tobytes() == pure.image.tobytes()
        assert case.name == pure.name
    assert set(seen) <= set(TRAINING_FAMILIES)
    assert len(set(seen)) >= 3


def test_all_and_sequences_draw_only_what_they_name():
    every = {drawn_family(make_synthetic_case(SMALL, s, family="all").name) for s in range(30)}
    assert every == set(FAMILIES)
    pair = {
        drawn_family(make_synthetic_case(SMALL, s, family=["tubes", "organ"]).name)
        for s in range(10)
    }
    assert pair == {"tubes", "organ"}


def test_source_names_say_the_family_so_caches_do_not_collide():
    tubes = SyntheticSource(SMALL, num_cases=2, start_seed=40, family="tubes")
    lesion = SyntheticSource(SMALL, num_cases=2, start_seed=40)
    assert [c.name for c in tubes] == ["synthetic-tubes-40", "synthetic-tubes-41"]
    assert [c.name for c in lesion] == ["synthetic-40", "synthetic-41"]
    assert tubes.families == ("tubes",) and "family='tubes'" in repr(tubes)
    named = SyntheticSource(SMALL, num_cases=1, family="organ", name="mri")
    assert named[0].name == "mri-organ-0"
    expected = make_synthetic_case(SMALL, 41, family="tubes")
    assert tubes[1].image.tobytes() == expected.image.tobytes()
    mixed = SyntheticSource(SMALL, num_cases=12, family="mixed")
    names = [case.name for case in mixed]
    assert len(set(names)) == 12
    assert {drawn_family(n) for n in names} <= set(TRAINING_FAMILIES)


def test_names_are_the_cases_names_without_generating_them():
    for source in (
        SyntheticSource(SMALL, num_cases=12, start_seed=7, family="mixed", randomise=True),
        SyntheticSource(SMALL, num_cases=3, family="organ", name="mri"),
        SyntheticSource(SMALL, num_cases=3),
    ):
        assert source.names == [case.name for case in source]
    mixed = SyntheticSource(SMALL, num_cases=12, family="all")
    assert len({drawn_family(n) for n in mixed.names}) > 1  # the family draw is replayed


def test_splits_train_on_training_families_and_test_on_held_out_ones():
    splits = synthetic_splits(
        SMALL,
        num_train1=6,
        num_train2=6,
        num_test=4,
        family="mixed",
        test_family=HELD_OUT_FAMILIES,
    )
    trained = {drawn_family(case.name) for case in splits.train}
    tested = {drawn_family(case.name) for case in splits.test}
    assert trained <= set(TRAINING_FAMILIES) and len(trained) >= 2
    assert tested == set(HELD_OUT_FAMILIES)
    assert splits.train.families == TRAINING_FAMILIES
    assert not set(splits.train.seeds) & set(splits.test.seeds)


def test_domain_randomisation_preset_makes_a_valid_source():
    source = SyntheticSource(SMALL, num_cases=6, **DOMAIN_RANDOMISATION)
    thicknesses = {case.spacing[0] for case in source}
    assert len(thicknesses) == 6 and all(1.0 <= t <= 3.0 for t in thicknesses)
    with pytest.raises(TypeError):
        DOMAIN_RANDOMISATION["family"] = "all"  # type: ignore[index]


# --------------------------------------------------------------------------- errors


def test_unknown_family_names_the_value_and_lists_the_choices():
    with pytest.raises(ConfigError, match=r"unknown family 'tube'.*did you mean 'tubes'") as error:
        make_synthetic_case(SMALL, 0, family="tube")
    for choice in (*FAMILIES, "mixed", "all"):
        assert repr(choice) in str(error.value)
    with pytest.raises(ConfigError, match="unknown family 'cortex'"):
        SyntheticSource(SMALL, family=["lesion", "cortex"])


def test_unknown_polarity_names_the_value_and_lists_the_choices():
    with pytest.raises(ConfigError, match=r"unknown polarity 'hyper'.*'bright', 'dark', 'random'"):
        make_synthetic_case(SMALL, 0, polarity="hyper")


@pytest.mark.parametrize(
    "knobs",
    [
        {"family": []},
        {"family": "organs"},
        {"polarity": "Bright"},
        {"slice_thickness": 0.5},
        {"slice_thickness": 11.0},
        {"slice_thickness": (3.0, 1.0)},
        {"slice_thickness": (1.0, 2.0, 3.0)},
        {"family": "tubes", "object_size": 0.05},
        {"family": "tissue", "num_parts": 2},
        {"family": "mixed", "num_parts": 2},  # tissue and organ have no parts
        {"family": "metastases", "num_parts": 41},
        {"family": "organ", "object_size": 0.5},
        {"family": ["lesion", "organ"], "object_size": 0.3},  # lesion allows at most 0.25
    ],
)
def test_bad_family_knobs_raise_config_error(knobs):
    with pytest.raises(ConfigError):
        make_synthetic_case(SMALL, 0, **knobs)
    with pytest.raises(ConfigError):
        SyntheticSource(SMALL, **knobs)


@pytest.mark.parametrize(
    "knobs",
    [{"family": 3}, {"family": ["lesion", 3]}, {"polarity": 1}, {"randomise": "yes"}],
)
def test_wrongly_typed_family_knobs_raise_input_type_error(knobs):
    with pytest.raises(InputTypeError):
        make_synthetic_case(SMALL, 0, **knobs)
