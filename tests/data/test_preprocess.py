import math

import numpy as np
import pytest

from segenv.data.case import make_case
from segenv.data.preprocess import (
    Crop,
    CropToForeground,
    FlipRotate,
    Normalise,
    Pipeline,
    Provenance,
    RandomFlipRotate,
    Resample,
    ResizeTo,
    Volume,
    augment_case,
    bounding_box,
    case_provenance,
    dataset_statistics,
    register_provenance,
    resize,
    rotation_matrix,
)
from segenv.errors import ConfigError, DataError
from segenv.metrics import dice


def volume(image, label=None, spacing=(1.0, 1.0, 1.0)):
    image = np.asarray(image, dtype=np.float32)
    label = image > 0 if label is None else label
    return Volume(image[None], label, spacing)


def test_bounding_box_and_crop_without_margin():
    image = np.zeros((5, 6, 7), np.float32)
    image[1:3, 2:5, 3] = 1.0
    assert bounding_box(image > 0) == ((1, 3), (2, 5), (3, 4))
    crop = CropToForeground(margin=(0, 0))(volume(image), np.random.default_rng(0))
    assert crop == Crop(((1, 3), (2, 5), (3, 4)))
    assert crop.apply(volume(image)).image.shape == (1, 2, 3, 1)
    with pytest.raises(DataError, match="empty"):
        CropToForeground()(volume(np.zeros((3, 3, 3))), np.random.default_rng(0))


def test_crop_margin_is_drawn_per_side_clipped_and_seeded():
    image = np.zeros((30, 30, 30), np.float32)
    image[10:20, 12:18, 14:16] = 1.0
    step = CropToForeground(margin=(0, 10))
    boxes = [step(volume(image), np.random.default_rng(s)).box for s in range(20)]
    for (z0, z1), (y0, y1), (x0, x1) in boxes:
        assert 0 <= z0 <= 10 and 20 <= z1 <= 30 and 2 <= y0 <= 12 and 18 <= y1 <= 28
        assert 4 <= x0 <= 14 and 16 <= x1 <= 26
    assert len(set(boxes)) > 1
    assert step(volume(image), np.random.default_rng(3)) == step(
        volume(image), np.random.default_rng(3)
    )
    clipped = CropToForeground(margin=(5, 5))(volume(image), np.random.default_rng(0))
    assert clipped.box == ((5, 25), (7, 23), (9, 21))
    by_label = CropToForeground("label", (0, 0))(
        Volume(np.ones((1, 30, 30, 30), np.float32), image > 0, (1, 1, 1)),
        np.random.default_rng(0),
    )
    assert by_label.box == ((10, 20), (12, 18), (14, 16))
    with pytest.raises(ConfigError, match="margin"):
        CropToForeground(margin=(3, 1))


def test_resize_hand_values_linear_and_nearest():
    ramp = np.arange(4, dtype=np.float32).reshape(1, 1, 4)
    # output voxel i samples input (i + 0.5) * 4 / 2 - 0.5 = 0.5, 2.5
    np.testing.assert_allclose(resize(ramp, (1, 1, 2), order=1)[0, 0], [0.5, 2.5])
    # upsampling 2 -> 4 samples at -0.25, 0.25, 0.75, 1.25 (edges replicated)
    np.testing.assert_allclose(
        resize(np.array([[[0.0, 1.0]]], np.float32), (1, 1, 4), order=1)[0, 0],
        [0.0, 0.25, 0.75, 1.0],
    )
    label = np.array([[[False, True, True, False]]])
    assert resize(label, (1, 1, 2), order=0).dtype == bool
    assert resize(ramp, (1, 1, 4), order=1) is ramp


def test_resample_scales_spacing_and_keeps_probabilities_in_range():
    image = np.random.default_rng(0).random((10, 20, 30)).astype(np.float32)
    out = Resample((5, 10, 10)).apply(volume(image, image > 0.5, (2.0, 1.0, 0.5)))
    assert out.image.shape == (1, 5, 10, 10) and out.label.shape == (5, 10, 10)
    assert out.spacing == (4.0, 2.0, 1.5)
    p = Resample((5, 10, 10)).apply_probability(image)
    assert p.min() >= 0 and p.max() <= 1


def test_dataset_statistics_and_normalise_hand_values():
    a = np.array([[[[1.0, 3.0]]]], np.float32)  # (M=1, 1, 1, 2)
    b = np.array([[[[5.0, 7.0]]]], np.float32)
    mean, std = dataset_statistics([a, b])
    assert mean[0] == pytest.approx(4.0) and std[0] == pytest.approx(math.sqrt(5.0))
    out = Normalise((4.0,), (2.0,)).apply(Volume(a, np.ones((1, 1, 2), bool), (1, 1, 1)))
    np.testing.assert_allclose(out.image[0, 0, 0], [-1.5, -0.5])
    _, flat_std = dataset_statistics([np.ones((1, 2, 2, 2), np.float32)])
    assert flat_std[0] == 1.0


def test_flip_is_exact_and_quarter_turn_matches_rot90():
    image = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    flipped = FlipRotate((True, False, True)).apply(volume(image, image > 5))
    np.testing.assert_array_equal(flipped.image[0], image[::-1, :, ::-1])
    np.testing.assert_array_equal(flipped.label, (image > 5)[::-1, :, ::-1])
    square = np.arange(3 * 5 * 5, dtype=np.float32).reshape(3, 5, 5)
    turned = FlipRotate(angles=(math.pi / 2, 0.0, 0.0)).apply_probability(square / 100)
    np.testing.assert_allclose(turned, np.rot90(square / 100, k=1, axes=(1, 2)), atol=1e-5)
    np.testing.assert_allclose(
        rotation_matrix((0.3, -0.2, 0.1)) @ rotation_matrix((0.3, -0.2, 0.1)).T,
        np.eye(3),
        atol=1e-12,
    )


def test_random_flip_rotate_draws_within_range_and_is_seeded():
    draws = [RandomFlipRotate()(None, np.random.default_rng(s)) for s in range(50)]
    assert all(abs(a) <= math.pi / 8 for d in draws for a in d.angles)
    assert {d.flips for d in draws} != {(False, False, False)}
    assert RandomFlipRotate()(None, np.random.default_rng(7)) == draws[7]
    assert RandomFlipRotate(flip=False, max_angle=0)(None, np.random.default_rng(0)) == FlipRotate()


def test_augmentation_keeps_image_and_label_aligned():
    zz, yy, xx = np.mgrid[:16, :24, :24]
    label = ((zz - 7) / 5) ** 2 + ((yy - 10) / 7) ** 2 + ((xx - 13) / 4) ** 2 <= 1
    case = make_case(label.astype(np.float32) * 10.0, label, name="blob")
    for seed in range(5):
        augmented = augment_case(case, np.random.default_rng(seed))
        assert augmented.name == "blob" and augmented.shape == case.shape
        assert dice(augmented.image[0] > 5.0, augmented.label) > 0.95
        assert abs(int(augmented.label.sum()) - int(label.sum())) < 0.15 * label.sum()
    same = augment_case(case, np.random.default_rng(1))
    np.testing.assert_array_equal(same.image, augment_case(case, np.random.default_rng(1)).image)
    assert case_provenance(same).augmentation


def test_pipeline_records_transforms_that_replay_on_probabilities():
    image = np.zeros((12, 20, 20), np.float32)
    image[3:9, 5:15, 4:16] = 1.0
    pipeline = Pipeline([CropToForeground(margin=(0, 2)), ResizeTo((4, 8, 8))])
    out, transforms = pipeline(volume(image), np.random.default_rng(0))
    assert out.image.shape == (1, 4, 8, 8)
    assert [type(t) for t in transforms] == [Crop, Resample]
    provenance = Provenance((12, 20, 20), transforms)
    replayed = provenance.to_case_frame(image, (4, 8, 8))
    np.testing.assert_array_equal(replayed >= 0.5, out.label)
    np.testing.assert_array_equal(provenance.to_case_frame(out.image[0], (4, 8, 8)), out.image[0])
    with pytest.raises(DataError, match="expected the file grid"):
        provenance.to_case_frame(np.zeros((3, 3, 3), np.float32), (4, 8, 8))
    case = make_case(out.image, out.label)
    register_provenance(case, provenance)
    assert case_provenance(case) is provenance
