import os

import gymnasium as gym
import numpy as np
import pytest
from nifti_files import write_msd

import segenv  # noqa: F401  (registers the env ids)
from segenv.data.export import write_nifti
from segenv.data.preprocess import case_provenance
from segenv.data.sources import NiftiSource
from segenv.errors import DataError
from segenv.initialisers import INITIALISERS, initial_probability
from segenv.metrics import dice


@pytest.fixture
def source(tmp_path):
    root = write_msd(tmp_path / "T", 3, shape_xyz=(24, 22, 14))
    return NiftiSource.from_msd(root, shape=(7, 11, 12), cache_dir=tmp_path / "c", verbose=False)


def test_names_are_registered():
    assert "probability_files" in INITIALISERS and "nifti" in INITIALISERS


def test_case_grid_npy_files(source, tmp_path):
    folder = tmp_path / "p"
    folder.mkdir()
    for case in source:
        np.save(folder / f"{case.name}.npy", np.where(case.label, 0.9, 0.2).astype(np.float32))
    rng = np.random.default_rng(0)
    p0 = initial_probability("probability_files", source[1], rng, folder=folder)
    np.testing.assert_allclose(p0, np.where(source[1].label, 0.9, 0.2))
    env = gym.make(
        "InteractiveSeg3D-v0",
        dataset=source,
        shape=source[0].shape,
        initialiser="probability_files",
        initialiser_kwargs={"folder": str(folder)},
    )
    assert env.reset(seed=0)[1]["dice"] == 1.0
    augmented = gym.make(
        "InteractiveSeg3D-v0",
        dataset=source,
        shape=source[0].shape,
        augment=True,
        initialiser="probability_files",
        initialiser_kwargs={"folder": folder},
    )
    for seed in range(3):  # the probabilities follow the flips and rotations of the case
        assert augmented.reset(seed=seed)[1]["dice"] > 0.8  # tiny objects: ~18 voxels


def test_file_grid_nifti_is_cropped_and_resized_like_the_case(source, tmp_path):
    raw = NiftiSource.from_msd(
        tmp_path / "T", shape=None, crop=None, normalise="none", cache_dir=False, verbose=False
    )
    folder = tmp_path / "q"
    for case in raw:  # probabilities on the files' grid, written like the images
        write_nifti(folder / f"{case.name}.nii.gz", case.label.astype(np.float32), case.spacing)
    p0 = initial_probability("nifti", source[0], np.random.default_rng(0), folder=folder)
    expected = case_provenance(source[0]).to_case_frame(
        raw[0].label.astype(np.float32), source[0].shape
    )
    np.testing.assert_array_equal(p0, expected)
    assert p0.shape == source[0].shape
    assert dice(p0 >= 0.5, source[0].label) > 0.7  # linear vs nearest on a tiny object


def test_missing_or_misshaped_files_are_clear_errors(source, tmp_path):
    rng = np.random.default_rng(0)
    with pytest.raises(
        DataError, match=r"no probability volume for case 'case_000'.*agents\.coarse"
    ):
        initial_probability("probability_files", source[0], rng, folder=tmp_path)
    np.save(tmp_path / "case_000.npy", np.zeros((2, 2, 2), np.float32))
    with pytest.raises(DataError, match=r"case_000\.npy.*expected the file grid"):
        initial_probability("probability_files", source[0], rng, folder=tmp_path)
    np.save(tmp_path / "case_000.npy", np.full(source[0].shape, 3.0, np.float32))
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        initial_probability("probability_files", source[0], rng, folder=tmp_path)


def test_a_changed_file_is_read_again(source, tmp_path):
    path = tmp_path / "case_000.npy"
    rng = np.random.default_rng(0)
    np.save(path, np.full(source[0].shape, 0.25, np.float32))
    first = initial_probability("probability_files", source[0], rng, folder=tmp_path)
    np.save(path, np.full(source[0].shape, 0.75, np.float32))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    second = initial_probability("probability_files", source[0], rng, folder=tmp_path)
    assert first[0, 0, 0] == 0.25 and second[0, 0, 0] == 0.75
    second[:] = 0  # the caller's copy; the memo stays intact
    third = initial_probability("probability_files", source[0], rng, folder=tmp_path)
    assert third[0, 0, 0] == 0.75
