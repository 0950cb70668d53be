import numpy as np
import pytest
from scipy import ndimage

from segenv.errors import ConfigError, InputTypeError
from segenv.interaction import (
    USERS,
    Clicks,
    IntendedClicks,
    UserContext,
    advice_regions,
    guided_segment_count,
    place_clicks,
    requests_noise_hints,
    simulate_clicks,
    wants_noise_hints,
)

BUILT_IN_USERS = [
    "deepest_point",
    "edge",
    "guided",
    "largest_error",
    "misleading",
    "none",
    "perturbed",
    "random",
]
HONEST_USERS = ["deepest_point", "edge", "guided", "largest_error", "none", "random"]
"""Users whose clicks are labelled with the ground truth where they land."""


def make_context(label, prediction, *, image=None, confidence=None, step=0, spacing=(1, 1, 1)):
    label = np.asarray(label, dtype=bool)
    prediction = np.asarray(prediction, dtype=bool)
    if image is None:
        image = label[None].astype(np.float32)
    return UserContext(
        prediction=prediction,
        label=label,
        image=np.asarray(image, dtype=np.float32),
        probability=prediction.astype(np.float32),
        step=step,
        confidence=confidence,
        spacing=spacing,
    )


def clicks_of(user, context, n, seed=0, **params):
    return simulate_clicks(user, context, n, seed, noise=0, **params)


def three_error_regions():
    """FN block 3x3x3 (27 voxels), FP slab 1x3x3 (9), FN bar 1x1x3 (3) in a 5x12x12 volume."""
    label = np.zeros((5, 12, 12), bool)
    prediction = np.zeros_like(label)
    label[1:4, 1:4, 1:4] = True  # FN, centre (2, 2, 2)
    prediction[2, 6:9, 6:9] = True  # FP, centre (2, 7, 7)
    label[0, 10, 5:8] = True  # FN, centre (0, 10, 6)
    # a correctly predicted object elsewhere
    label[3:5, 8:11, 0:2] = True
    prediction[3:5, 8:11, 0:2] = True
    return label, prediction


# ----------------------------------------------------------------------------------- Clicks


def test_clicks_container_operations():
    a = Clicks(np.array([[0, 1, 2], [3, 4, 5]]), np.array([True, False]), np.array([0, 0]))
    b = Clicks(np.array([[6, 7, 8]]), np.array([True]), np.array([1]))
    both = a.concat(b)
    assert len(Clicks.empty()) == 0 and len(both) == 3
    assert both.coords.dtype == np.int64 and both.steps.dtype == np.int64
    np.testing.assert_array_equal(both.of_class(True), [[0, 1, 2], [6, 7, 8]])
    np.testing.assert_array_equal(both.of_class(False), [[3, 4, 5]])
    assert both.at_step(1) == b
    assert both.at_step(0) == a
    assert len(both.at_step(7)) == 0
    as_dict = both.as_dict()
    assert set(as_dict) == {"coords", "labels", "steps"}
    as_dict["coords"][0, 0] = 99
    assert both.coords[0, 0] == 0  # a copy
    assert Clicks.empty().concat(a) == a
    assert "object=1" in repr(a)


def test_clicks_validation():
    with pytest.raises(ConfigError, match="coords"):
        Clicks(np.zeros((2, 2), np.int64), np.zeros(2, bool), np.zeros(2, np.int64))
    with pytest.raises(ConfigError, match="labels"):
        Clicks(np.zeros((2, 3), np.int64), np.zeros(3, bool), np.zeros(2, np.int64))
    with pytest.raises(InputTypeError, match="coords"):
        Clicks(np.zeros((1, 3)), np.zeros(1, bool), np.zeros(1, np.int64))


def test_user_context_validation():
    label = np.zeros((2, 3, 4), bool)
    with pytest.raises(InputTypeError, match="prediction"):
        UserContext(
            prediction=label.astype(np.float32),
            label=label,
            image=np.zeros((1, 2, 3, 4), np.float32),
            probability=np.zeros((2, 3, 4), np.float32),
            step=0,
        )
    with pytest.raises(ConfigError, match="image"):
        make_context(label, label, image=np.zeros((1, 2, 3, 5)))
    with pytest.raises(ConfigError, match="confidence"):
        make_context(label, label, confidence=np.zeros((2, 3, 3)))
    with pytest.raises(ConfigError, match="step"):
        make_context(label, label, step=-1)
    with pytest.raises(ConfigError, match="spacing"):
        make_context(label, label, spacing=(1, 0, 1))


# ----------------------------------------------------------------------------- largest_error


def test_largest_error_ranks_by_size_and_labels_by_error_class():
    label, prediction = three_error_regions()
    clicks = clicks_of("largest_error", make_context(label, prediction), 3)
    np.testing.assert_array_equal(clicks.coords, [[2, 2, 2], [2, 7, 7], [0, 10, 6]])
    np.testing.assert_array_equal(clicks.labels, [True, False, True])  # FN: +, FP: -, FN: +


def test_largest_error_n_limits_and_fewer_regions_give_fewer_clicks():
    label, prediction = three_error_regions()
    context = make_context(label, prediction)
    np.testing.assert_array_equal(clicks_of("largest_error", context, 1).coords, [[2, 2, 2]])
    np.testing.assert_array_equal(
        clicks_of("largest_error", context, 2).coords, [[2, 2, 2], [2, 7, 7]]
    )
    assert len(clicks_of("largest_error", context, 10)) == 3
    assert len(clicks_of("largest_error", context, 0)) == 0


@pytest.mark.parametrize("user", ["largest_error", "deepest_point", "edge", "guided"])
def test_no_error_gives_no_clicks(user):
    label, _ = three_error_regions()
    context = make_context(label, label, confidence=np.full(label.shape, 0.5))
    assert len(clicks_of(user, context, 5)) == 0


def test_largest_error_ties_go_to_the_region_that_starts_first():
    label = np.zeros((1, 6, 9), bool)
    prediction = np.zeros_like(label)
    prediction[0, 3, 6:9] = True  # FP of 3 voxels, starts at (0, 3, 6)
    label[0, 1, 0:3] = True  # FN of 3 voxels, starts at (0, 1, 0): first
    label[0, 3, 0:3] = True  # FN of 3 voxels, starts at (0, 3, 0): second
    clicks = clicks_of("largest_error", make_context(label, prediction), 3)
    np.testing.assert_array_equal(clicks.coords, [[0, 1, 1], [0, 3, 1], [0, 3, 7]])


def l_shape():
    """Column x=1 for y=1..7 and row y=7 for x=2..6 (12 voxels); centroid (y, x) = (5.25, 2.25)."""
    label = np.zeros((1, 9, 9), bool)
    label[0, 1:8, 1] = True
    label[0, 7, 2:7] = True
    return label


def test_largest_error_click_lies_inside_an_l_shaped_region():
    # the centroid (5.25, 2.25) is outside the L; the nearest L voxel is (5, 1), d² = 1.625
    label = l_shape()
    clicks = clicks_of("largest_error", make_context(label, np.zeros_like(label)), 1)
    np.testing.assert_array_equal(clicks.coords, [[0, 5, 1]])
    assert clicks.labels.tolist() == [True]


def test_centre_uses_the_voxel_spacing():
    # with 4 mm along x: (5, 1) is at 0.0625 + 16 * 1.5625 = 25.06, (7, 2) at 3.0625 + 16 * 0.0625
    label = l_shape()
    context = make_context(label, np.zeros_like(label), spacing=(1, 1, 4))
    np.testing.assert_array_equal(clicks_of("largest_error", context, 1).coords, [[0, 7, 2]])


def test_largest_error_click_lies_on_a_ring():
    _, y, x = np.ogrid[:3, :15, :15]
    radius = np.hypot(y - 7, x - 7)
    label = np.broadcast_to((radius >= 4) & (radius <= 6), (3, 15, 15)).copy()
    prediction = np.zeros_like(label)
    clicks = clicks_of("largest_error", make_context(label, prediction), 1)
    assert len(clicks) == 1
    assert label[tuple(clicks.coords[0])]  # on the ring, not in its hole at the centroid


def test_connectivity_26_joins_diagonal_neighbours():
    label = np.zeros((4, 4, 4), bool)
    label[1, 1, 1] = label[2, 2, 2] = True  # touch at a corner only
    label[3, 0, 3] = True
    context = make_context(label, np.zeros_like(label))
    assert len(clicks_of("largest_error", context, 5)) == 2  # 26: one region of 2 + one of 1
    assert len(clicks_of("largest_error", context, 5, connectivity=6)) == 3
    with pytest.raises(ConfigError, match="connectivity"):
        clicks_of("largest_error", context, 5, connectivity=5)


# ----------------------------------------------------------------------------- deepest_point


def tadpole():
    """A 5x5 square (rows 1-5, cols 1-5) with a 1-voxel tail along row 3, cols 6-14."""
    label = np.zeros((1, 7, 16), bool)
    label[0, 1:6, 1:6] = True
    label[0, 3, 6:15] = True
    return label


def test_deepest_point_picks_the_voxel_farthest_from_the_boundary():
    label = tadpole()
    context = make_context(label, np.zeros_like(label))
    # the square's centre is 3 voxels from the outside; its centroid-nearest voxel is (3, 5)
    np.testing.assert_array_equal(clicks_of("deepest_point", context, 1).coords, [[0, 3, 3]])
    np.testing.assert_array_equal(clicks_of("largest_error", context, 1).coords, [[0, 3, 5]])


def test_deepest_point_in_3d_and_at_the_volume_border():
    label = np.zeros((7, 7, 7), bool)
    label[1:6, 1:6, 1:6] = True
    context = make_context(label, np.zeros_like(label))
    np.testing.assert_array_equal(clicks_of("deepest_point", context, 1).coords, [[3, 3, 3]])
    # a 3x3 square in the volume's corner: the border counts as boundary, so the deepest voxel
    # is the square's centre (distance 2), not the corner (3 from the nearest outside voxel)
    label = np.zeros((1, 5, 7), bool)
    label[0, 0:3, 0:3] = True
    context = make_context(label, np.zeros_like(label))
    np.testing.assert_array_equal(clicks_of("deepest_point", context, 1).coords, [[0, 1, 1]])


# ------------------------------------------------------------------------------------ edge


def face_surface(mask):
    return mask & ~ndimage.binary_erosion(mask, ndimage.generate_binary_structure(3, 1))


def test_edge_clicks_are_boundary_errors():
    label = np.zeros((9, 9, 9), bool)
    label[2:7, 2:7, 2:7] = True
    prediction = np.roll(label, 1, axis=2)
    context = make_context(label, prediction)
    candidates = (face_surface(label) & ~prediction) | (face_surface(prediction) & ~label)
    for seed in range(5):
        clicks = clicks_of("edge", context, 5, seed=seed)
        assert len(clicks) == 5
        assert len({tuple(c) for c in clicks.coords}) == 5  # without replacement
        for coord in clicks.coords:
            assert candidates[tuple(coord)]
            assert label[tuple(coord)] != prediction[tuple(coord)]


def test_edge_falls_back_to_any_error_when_the_boundary_is_right():
    label = np.zeros((7, 7, 7), bool)
    label[1:6, 1:6, 1:6] = True
    prediction = label.copy()
    prediction[3, 3, 3] = False  # an interior hole: an error, but not on either surface
    clicks = clicks_of("edge", make_context(label, prediction), 5)
    np.testing.assert_array_equal(clicks.coords, [[3, 3, 3]])


# ---------------------------------------------------------------------------------- random


def test_random_clicks_are_in_bounds_distinct_and_seeded():
    label = np.zeros((3, 4, 5), bool)
    label[1, 1, 1] = True
    context = make_context(label, label)  # perfect prediction: random clicks anyway
    a = clicks_of("random", context, 10, seed=3)
    assert len(a) == 10
    assert ((a.coords >= 0) & (a.coords < label.shape)).all()
    assert len({tuple(c) for c in a.coords}) == 10
    assert a == clicks_of("random", context, 10, seed=3)
    assert a != clicks_of("random", context, 10, seed=4)
    tiny = make_context(np.ones((1, 2, 2), bool), np.ones((1, 2, 2), bool))
    assert len(clicks_of("random", tiny, 10)) == 4  # no more voxels than the volume has


# ------------------------------------------------------------------------------ misleading


def half_wrong_problem(shape=(4, 20, 20), seed=0):
    """A prediction right on about half the voxels, so the wrong message shows."""
    rng = np.random.default_rng(seed)
    label = rng.random(shape) < 0.3
    prediction = np.where(rng.random(shape) < 0.5, label, ~label)
    return make_context(label, prediction)


def test_misleading_clicks_on_voxels_already_right_when_asked():
    context = half_wrong_problem()
    right = context.prediction == context.label
    clicks = clicks_of("misleading", context, 50, seed=1, where="correct")
    assert len(clicks) == 50 and len({tuple(c) for c in clicks.coords}) == 50
    landed = tuple(clicks.coords.T)
    assert right[landed].all()
    # "this is wrong here" on a voxel already right: every label is the wrong one
    np.testing.assert_array_equal(clicks.labels, ~context.label[landed])
    honest = clicks_of("misleading", context, 50, seed=1, where="correct", message="truth")
    np.testing.assert_array_equal(honest.coords, clicks.coords)
    np.testing.assert_array_equal(honest.labels, context.label[landed])


def test_misleading_by_default_says_this_is_wrong_on_random_voxels():
    context = half_wrong_problem(seed=2)
    clicks = clicks_of("misleading", context, 400, seed=3)
    landed = tuple(clicks.coords.T)
    np.testing.assert_array_equal(clicks.labels, ~context.prediction[landed])
    right = (context.prediction == context.label)[landed]
    assert 0.35 < right.mean() < 0.65  # uniform voxels: about half were already right
    wrong = clicks.labels != context.label[landed]
    np.testing.assert_array_equal(wrong, right)  # wrong exactly where the prediction was right
    random_clicks = clicks_of("random", context, 400, seed=3)
    np.testing.assert_array_equal(random_clicks.coords, clicks.coords)  # the same placement


@pytest.mark.parametrize("rate", [0.0, 0.1, 0.3, 1.0])
def test_misleading_wrong_label_rate_is_measured_on_many_clicks(rate):
    context = half_wrong_problem(shape=(4, 30, 30), seed=4)
    wrong, total = 0, 0
    for seed in range(8):  # 8 x 500 = 4000 clicks
        clicks = simulate_clicks(
            "misleading", context, 500, seed, noise=3, message="truth", wrong_label_rate=rate
        )
        wrong += int((clicks.labels != context.label[tuple(clicks.coords.T)]).sum())
        total += len(clicks)
    measured = wrong / total
    tolerance = 4 * np.sqrt(rate * (1 - rate) / total)  # 4 binomial standard errors
    assert abs(measured - rate) <= tolerance, (measured, rate)


def test_misleading_is_seeded_and_validates_its_options():
    context = half_wrong_problem()
    options = {"wrong_label_rate": 0.5, "message": "truth"}
    a = simulate_clicks("misleading", context, 20, 5, **options)
    assert a == simulate_clicks("misleading", context, 20, 5, **options)
    assert a != simulate_clicks("misleading", context, 20, 6, **options)
    with pytest.raises(ConfigError, match="where"):
        clicks_of("misleading", context, 5, where="errors")
    with pytest.raises(ConfigError, match="message"):
        clicks_of("misleading", context, 5, message="lies")
    with pytest.raises(ConfigError, match="wrong_label_rate"):
        clicks_of("misleading", context, 5, wrong_label_rate=1.5)
    perfect = make_context(context.label, context.label)
    everywhere = clicks_of("misleading", perfect, 5, where="correct")  # all voxels are right
    assert len(everywhere) == 5
    assert not wants_noise_hints("misleading")


def test_intended_clicks_validate_the_flip_mask():
    with pytest.raises(ConfigError, match="flip"):
        IntendedClicks(np.zeros((2, 3), np.int64), flip=np.array([True]))
    with pytest.raises(ConfigError, match="message"):
        IntendedClicks(np.zeros((2, 3), np.int64), message="maybe")

    def liar(context, n_clicks, rng):
        coords = np.argwhere(context.prediction != context.label)[:n_clicks]
        return IntendedClicks(coords, flip=np.ones(len(coords), bool))

    label, prediction = three_error_regions()
    context = make_context(label, prediction)
    clicks = clicks_of(liar, context, 3)
    np.testing.assert_array_equal(clicks.labels, ~label[tuple(clicks.coords.T)])


# ------------------------------------------------------------------------------- perturbed


def test_perturbed_without_perturbation_is_the_largest_error_user():
    label, prediction = three_error_regions()
    context = make_context(label, prediction)
    plain = clicks_of("perturbed", context, 3, jitter_mm=0.0, skip_rate=0.0)
    assert plain == clicks_of("largest_error", context, 3)


def test_perturbed_skips_clicks_at_its_rate_and_is_seeded():
    label, prediction = three_error_regions()
    context = make_context(label, prediction)
    counts = [len(clicks_of("perturbed", context, 3, seed, skip_rate=0.25)) for seed in range(800)]
    assert abs(1 - np.mean(counts) / 3 - 0.25) < 0.03  # 2400 clicks
    assert clicks_of("perturbed", context, 3, 9) == clicks_of("perturbed", context, 3, 9)
    assert len(clicks_of("perturbed", context, 3, skip_rate=1.0)) == 0


def test_perturbed_jitter_has_the_asked_spread_in_mm():
    label = np.zeros((9, 41, 41), bool)
    label[:, 10:31, 10:31] = True
    prediction = np.zeros_like(label)
    prediction[:, 10:31, 10:20] = True  # one large false-negative block, centre (4, 20, 25)
    context = make_context(label, prediction, spacing=(3.0, 1.0, 1.0))
    centre = clicks_of("largest_error", context, 1).coords[0]
    offsets = np.array(
        [
            clicks_of("perturbed", context, 1, seed, jitter_mm=2.0, skip_rate=0.0).coords[0]
            - centre
            for seed in range(600)
        ]
    )
    spread_mm = offsets.std(axis=0) * np.array([3.0, 1.0, 1.0])
    assert 1.7 < spread_mm[1] < 2.3 and 1.7 < spread_mm[2] < 2.3  # 2 mm in-plane
    voxels = offsets.std(axis=0)
    assert voxels[0] < 0.5 * voxels[1]  # 3 mm slices: the same jitter in mm moves fewer voxels
    assert (offsets != 0).any(axis=1).mean() > 0.5


def test_perturbed_can_disagree_with_the_reference_and_wraps_other_users():
    context = half_wrong_problem(shape=(4, 30, 30), seed=6)
    wrong, total = 0, 0
    for seed in range(200):
        clicks = clicks_of("perturbed", context, 5, seed, skip_rate=0.0, wrong_label_rate=0.2)
        wrong += int((clicks.labels != context.label[tuple(clicks.coords.T)]).sum())
        total += len(clicks)
    assert abs(wrong / total - 0.2) < 4 * np.sqrt(0.2 * 0.8 / total)
    edge = clicks_of("perturbed", context, 5, base="edge", jitter_mm=0.0, skip_rate=0.0)
    assert edge == clicks_of("edge", context, 5)
    with pytest.raises(ConfigError, match="skip_rate"):
        clicks_of("perturbed", context, 5, skip_rate=-0.1)
    with pytest.raises(ConfigError, match="itself"):
        clicks_of("perturbed", context, 5, base="perturbed")


def test_users_take_their_options_through_the_env():
    import gymnasium as gym

    env = gym.make(
        "InteractiveSeg2D-v0",
        shape=(24, 24),
        num_cases=2,
        initial_clicks=5,
        click_noise=0,
        user="misleading",
        user_kwargs={"where": "correct"},
    )
    _, info = env.reset(seed=0)
    unwrapped = env.unwrapped
    clicks = info["clicks"]
    landed = tuple(np.asarray(clicks["coords"]).T)
    label = unwrapped.case.label.reshape(1, 24, 24)
    assert len(clicks["labels"]) == 5
    np.testing.assert_array_equal(clicks["labels"], ~label[landed])  # all wrong at reset
    env.close()


# ------------------------------------------------------------------------------------ none


def test_none_gives_no_clicks_and_asks_for_noise_hints():
    label, prediction = three_error_regions()
    assert len(clicks_of("none", make_context(label, prediction), 5)) == 0
    assert wants_noise_hints("none")
    for name in BUILT_IN_USERS:
        if name != "none":
            assert not wants_noise_hints(name)

    @requests_noise_hints
    def silent(context, n_clicks, rng):
        return np.empty((0, 3), np.int64)

    assert silent.noise_hints is True
    assert wants_noise_hints(silent)


# ---------------------------------------------------------------------------------- guided


def blocky_image(shape, seed=0):
    rng = np.random.default_rng(seed)
    coarse = rng.normal(size=(max(shape[0] // 4, 1), shape[1] // 4, shape[2] // 4))
    image = np.kron(coarse, np.ones((4 if shape[0] > 1 else 1, 4, 4)))
    return image[None].astype(np.float32)


def test_guided_needs_a_confidence_map_after_reset():
    label, prediction = three_error_regions()
    with pytest.raises(ConfigError, match="confidence"):
        clicks_of("guided", make_context(label, prediction, step=1), 5)


def test_guided_initial_clicks_at_reset_are_largest_error_clicks():
    label, prediction = three_error_regions()
    context = make_context(label, prediction, step=0)
    np.testing.assert_array_equal(
        clicks_of("guided", context, 3).coords, clicks_of("largest_error", context, 3).coords
    )


def test_guided_clicks_inside_the_advice_regions():
    shape = (8, 16, 16)
    label = np.zeros(shape, bool)
    label[1:7, 2:14, 2:14] = True
    prediction = np.zeros(shape, bool)  # everything inside the label is an error
    image = blocky_image(shape)
    confidence = np.random.default_rng(1).random(shape)
    context = make_context(label, prediction, image=image, confidence=confidence, step=2)
    rank = advice_regions(image, confidence, 2)
    assert set(np.unique(rank)) == {0, 1, 2, 3, 4, 5}
    clicks = clicks_of("guided", context, 5)
    assert len(clicks) > 0
    for coord in clicks.coords:
        assert rank[tuple(coord)] > 0
        assert label[tuple(coord)] != prediction[tuple(coord)]
    # one click per advice region in the first round
    clicked_ranks = [int(rank[tuple(c)]) for c in clicks.coords]
    assert len(set(clicked_ranks)) == len(clicked_ranks)
    assert clicked_ranks == sorted(clicked_ranks)


def test_advice_regions_are_the_least_confident_supervoxels():
    shape = (8, 16, 16)
    image = blocky_image(shape)
    confidence = np.random.default_rng(2).random(shape)
    rank = advice_regions(image, confidence, n_segments=20, n_advice=3)
    means = [confidence[rank == r].mean() for r in (1, 2, 3)]
    assert means == sorted(means)
    assert confidence[rank == 0].mean() > means[0]
    flipped = advice_regions(
        image, confidence, n_segments=20, n_advice=3, least_confident_first=False
    )
    assert confidence[flipped == 1].mean() > confidence[rank == 1].mean()


def test_guided_segment_schedule():
    assert [guided_segment_count(step) for step in (0, 1, 2, 3, 4, 100)] == [
        100,
        50,
        33,
        25,
        20,
        10,
    ]


def test_guided_takes_further_components_once_every_region_has_a_click():
    # one supervoxel covering a constant image: the advice is the whole volume, so the user
    # clicks its largest error component first, then the next largest
    label = np.zeros((6, 8, 8), bool)
    label[0:3, 0:3, 0:3] = True  # FN of 27, centre (1, 1, 1)
    label[5, 7, 7] = True  # FN of 1
    prediction = np.zeros_like(label)
    prediction[5, 0, 3:6] = True  # FP of 3, centre (5, 0, 4)
    context = make_context(
        label, prediction, image=np.zeros((1, *label.shape)), confidence=np.zeros(label.shape)
    )
    clicks = clicks_of("guided", context, 5, n_segments=1, n_advice=1)
    np.testing.assert_array_equal(clicks.coords, [[1, 1, 1], [5, 0, 4], [5, 7, 7]])
    np.testing.assert_array_equal(clicks.labels, [True, False, True])


def test_guided_falls_back_to_largest_error_when_the_advice_holds_no_error():
    shape = (8, 16, 16)
    image = blocky_image(shape)
    confidence = np.zeros(shape)
    confidence[:, :, 8:] = 1.0  # the advice is on the left half
    label = np.zeros(shape, bool)
    label[2:5, 2:5, 12:15] = True  # the only error is on the right half
    context = make_context(label, np.zeros(shape, bool), image=image, confidence=confidence)
    rank = advice_regions(image, confidence, 0)
    assert not (rank[label] > 0).any()
    guided = clicks_of("guided", context, 5)
    assert guided == clicks_of("largest_error", context, 5)
    np.testing.assert_array_equal(guided.coords, [[3, 3, 13]])


# --------------------------------------------------------------------------- place_clicks


def test_place_clicks_noise_is_bounded_and_inside_the_volume():
    label = np.zeros((4, 6, 8), bool)
    label[1:3, 2:5, 3:7] = True
    intended = np.array([[0, 0, 0], [3, 5, 7], [2, 3, 4], [1, 4, 6]])
    moved = False
    for seed in range(200):
        clicks = place_clicks(intended, label, seed, noise=2, step=4)
        assert (np.abs(clicks.coords - intended) <= 2).all()
        assert ((clicks.coords >= 0) & (clicks.coords < label.shape)).all()
        np.testing.assert_array_equal(clicks.labels, label[tuple(clicks.coords.T)])
        np.testing.assert_array_equal(clicks.steps, [4, 4, 4, 4])
        moved |= bool((clicks.coords != intended).any())
    assert moved
    exact = place_clicks(intended, label, 0, noise=0)
    np.testing.assert_array_equal(exact.coords, intended)
    np.testing.assert_array_equal(exact.labels, [False, False, True, True])


def test_place_clicks_keeps_z_zero_in_2d():
    label = np.ones((1, 5, 5), bool)
    for seed in range(50):
        assert (place_clicks(np.array([[0, 2, 2]]), label, seed, noise=3).coords[:, 0] == 0).all()


def test_a_click_is_labelled_by_where_it_lands():
    # intended on a 1-voxel FN; the noise can move it off the object: then it is a "-" click
    label = np.zeros((1, 9, 9), bool)
    label[0, 4, 4] = True
    labels = [
        bool(place_clicks(np.array([[0, 4, 4]]), label, seed, noise=1).labels[0])
        for seed in range(60)
    ]
    assert True in labels and False in labels


# ------------------------------------------------------------------------ every user, 2D


def random_problem(shape, seed):
    rng = np.random.default_rng(seed)
    label = ndimage.binary_opening(rng.random(shape) < 0.5, np.ones((1, 2, 2), bool))
    prediction = ndimage.binary_opening(rng.random(shape) < 0.5, np.ones((1, 2, 2), bool))
    image = rng.normal(size=(2, *shape)).astype(np.float32)
    confidence = rng.random(shape)
    return make_context(label, prediction, image=image, confidence=confidence)


@pytest.mark.parametrize("user", BUILT_IN_USERS)
@pytest.mark.parametrize("shape", [(1, 12, 14), (4, 12, 14)])
def test_every_user_is_deterministic_and_valid(user, shape):
    context = random_problem(shape, 5)
    a = simulate_clicks(user, context, 5, 11)
    b = simulate_clicks(user, context, 5, 11)
    assert a == b
    assert len(a) <= 5
    assert ((a.coords >= 0) & (a.coords < shape)).all()
    if user in HONEST_USERS:
        np.testing.assert_array_equal(a.labels, context.label[tuple(a.coords.T)])
    if user != "none":
        assert len(a) > 0
    if shape[0] == 1:
        assert (a.coords[:, 0] == 0).all()


def test_registry_holds_the_built_in_users():
    assert set(BUILT_IN_USERS) <= set(USERS.names())


# ------------------------------------------------------------------ custom users and errors


def test_a_custom_user_registered_with_the_decorator_works():
    @USERS.register("test_first_error", overwrite=True)
    def first_error(context, n_clicks, rng, *, skip=0):
        return np.argwhere(context.prediction != context.label)[skip : skip + n_clicks]

    label, prediction = three_error_regions()
    context = make_context(label, prediction)
    clicks = clicks_of("test_first_error", context, 2, skip=1)
    np.testing.assert_array_equal(clicks.coords, [[0, 10, 6], [0, 10, 7]])
    assert clicks == clicks_of(first_error, context, 2, skip=1)
    assert not wants_noise_hints("test_first_error")


@pytest.mark.parametrize(
    ("output", "error", "match"),
    [
        (np.array([[0.5, 1.0, 1.0]]), InputTypeError, "rint"),
        (np.array([[0, 1]]), ConfigError, r"\(k, 3\)"),
        (np.zeros((6, 3), np.int64), ConfigError, "6 clicks but n_clicks=5"),
        (np.array([[0, 0, 12]]), ConfigError, "outside the volume"),
        (np.array([[-1, 0, 0]]), ConfigError, "outside the volume"),
    ],
)
def test_a_user_with_bad_output_gives_a_clear_error(output, error, match):
    def broken_user(context, n_clicks, rng):
        return output

    label, prediction = three_error_regions()
    with pytest.raises(error, match=match) as info:
        simulate_clicks(broken_user, make_context(label, prediction), 5, 0)
    assert "broken_user" in str(info.value)


def test_bad_arguments_raise_config_errors():
    label, prediction = three_error_regions()
    context = make_context(label, prediction)
    with pytest.raises(ConfigError, match="n_clicks"):
        simulate_clicks("largest_error", context, -1, 0)
    with pytest.raises(ConfigError, match="noise"):
        simulate_clicks("largest_error", context, 5, 0, noise=-1)
    with pytest.raises(InputTypeError, match="n_clicks"):
        simulate_clicks("largest_error", context, True, 0)
    with pytest.raises(ConfigError, match="Did you mean 'largest_error'"):
        simulate_clicks("largest_eror", context, 5, 0)
    with pytest.raises(InputTypeError, match="UserContext"):
        simulate_clicks("largest_error", {"label": label}, 5, 0)
    with pytest.raises(ConfigError, match="noise"):
        place_clicks(np.zeros((1, 3), np.int64), label, 0, noise=-2)
    with pytest.raises(ConfigError, match="n_advice"):
        advice_regions(np.zeros((1, *label.shape), np.float32), np.zeros(label.shape), n_advice=0)
    with pytest.raises(ConfigError, match="image"):
        advice_regions(np.zeros(label.shape, np.float32), np.zeros(label.shape))


def test_simulate_clicks_stamps_the_step():
    label, prediction = three_error_regions()
    context = make_context(label, prediction, step=3)
    assert (clicks_of("largest_error", context, 2).steps == 3).all()
    assert (simulate_clicks("largest_error", context, 2, 0, step=7).steps == 7).all()
