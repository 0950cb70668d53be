"""The torch largest-error user (segenv.envs._torch_clicks) equals the reference, exactly."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

torch = pytest.importorskip("torch")

from segenv.envs._torch_clicks import error_regions, largest_error_clicks  # noqa: E402
from segenv.errors import ConfigError  # noqa: E402
from segenv.interaction import UserContext, largest_error  # noqa: E402

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def masks(shape: tuple[int, int, int], seed: int, flips: float) -> tuple[np.ndarray, np.ndarray]:
    """A blobby ground truth and a prediction with scattered and blobby mistakes."""
    rng = np.random.default_rng(seed)
    label = ndimage.gaussian_filter(rng.normal(size=shape), 1.5) > 0.1
    prediction = label ^ (rng.random(shape) < flips)
    prediction ^= ndimage.gaussian_filter(rng.normal(size=shape), 1.0) > 1.0
    return prediction, label


def reference(prediction, label, n, spacing=(1.0, 1.0, 1.0), connectivity=26) -> np.ndarray:
    context = UserContext(
        prediction=prediction,
        label=label,
        image=np.zeros((1, *label.shape), np.float32),
        probability=prediction.astype(np.float32),
        step=1,
        spacing=spacing,
    )
    return largest_error(context, n, np.random.default_rng(0), connectivity=connectivity)


def device_clicks(prediction, label, n, spacing=(1.0, 1.0, 1.0), connectivity=26, device="cpu"):
    coords, counts = largest_error_clicks(
        torch.as_tensor(prediction[None], device=device),
        torch.as_tensor(label[None], device=device),
        n,
        torch.tensor([spacing], dtype=torch.float64, device=device),
        connectivity,
    )
    return coords[0, : int(counts[0])].cpu().numpy()


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("connectivity", [26, 18, 6])
@pytest.mark.parametrize(
    ("shape", "spacing"),
    [((6, 9, 11), (1.0, 1.0, 1.0)), ((1, 15, 17), (1.0, 0.5, 2.0)), ((10, 20, 20), (3.0, 1, 1))],
)
def test_clicks_equal_the_reference_user(seed, connectivity, shape, spacing) -> None:
    prediction, label = masks(shape, seed, flips=(0.01, 0.05, 0.3)[seed % 3])
    for n in (1, 5, 40):
        expected = reference(prediction, label, n, spacing, connectivity)
        got = device_clicks(prediction, label, n, spacing, connectivity)
        np.testing.assert_array_equal(got, expected)


def test_rings_snakes_and_ties() -> None:
    # a ring (its centroid lies outside it), a long snake (many propagation rounds), equal
    # sizes (ties by bounding-box corner, then by the first voxel) and a perfect volume
    label = np.zeros((3, 24, 24), bool)
    prediction = label.copy()
    yy, xx = np.mgrid[:24, :24]
    ring = np.abs(np.hypot(yy - 8, xx - 8) - 5) < 0.8
    prediction[1] |= ring
    snake = np.zeros((24, 24), bool)
    snake[1::4, 16:23] = True
    snake[1:22, 22] = True
    label[0] |= snake
    prediction[2, 20, 2], prediction[2, 20, 5], prediction[2, 2, 20] = True, True, True
    for n in (1, 3, 10):
        np.testing.assert_array_equal(
            device_clicks(prediction, label, n), reference(prediction, label, n)
        )
    perfect = device_clicks(label, label, 5)
    assert perfect.shape == (0, 3)


def test_components_are_numbered_by_their_first_voxel() -> None:
    prediction, label = masks((5, 12, 13), 3, 0.05)
    code, root = error_regions(torch.from_numpy(prediction[None]), torch.from_numpy(label[None]))
    structure = np.ones((3, 3, 3), bool)
    wrong = prediction != label
    for value in (1, 2):
        mask = (code[0].numpy() == value).reshape(wrong.shape)
        expected, _ = ndimage.label(mask, structure)
        roots = root[0].numpy().reshape(wrong.shape)
        for region in range(1, expected.max() + 1):
            voxels = np.flatnonzero(expected.ravel() == region)
            assert np.all(roots.ravel()[voxels] == voxels.min())
    assert np.all(root[0].numpy()[~wrong.ravel()] == wrong.size)


def test_a_batch_equals_one_volume_at_a_time() -> None:
    pairs = [masks((4, 10, 12), seed, 0.05) for seed in range(4)]
    spacings = [(1.0, 1.0, 1.0), (2.0, 1.0, 1.0), (1.0, 0.7, 1.0), (1.0, 1.0, 1.0)]
    coords, counts = largest_error_clicks(
        torch.from_numpy(np.stack([p for p, _ in pairs])),
        torch.from_numpy(np.stack([y for _, y in pairs])),
        5,
        torch.tensor(spacings, dtype=torch.float64),
    )
    for i, (prediction, label) in enumerate(pairs):
        expected = reference(prediction, label, 5, spacings[i])
        np.testing.assert_array_equal(coords[i, : int(counts[i])].numpy(), expected)


def test_bad_arguments_raise() -> None:
    prediction, label = masks((2, 5, 5), 0, 0.1)
    with pytest.raises(ConfigError, match="connectivity"):
        device_clicks(prediction, label, 3, connectivity=8)
    with pytest.raises(ConfigError, match="n_clicks"):
        device_clicks(prediction, label, 0)


@pytest.mark.gpu
@CUDA
@pytest.mark.parametrize("seed", range(3))
def test_cuda_equals_the_reference_user(seed) -> None:
    prediction, label = masks((10, 20, 20), seed, 0.05)
    for n in (1, 5):
        expected = reference(prediction, label, n, (2.0, 1.0, 1.0))
        got = device_clicks(prediction, label, n, (2.0, 1.0, 1.0), device="cuda")
        np.testing.assert_array_equal(got, expected)
