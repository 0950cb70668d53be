import os

import gymnasium as gym
import numpy as np
import pytest
from nifti_files import blob_pair, save_nifti, write_msd

import segenv  # noqa: F401  (registers the env ids)
from segenv.data.presets import PRESETS, get_preset
from segenv.data.sources import NiftiSource, load_dataset
from segenv.data.splits import three_way_split
from segenv.errors import ConfigError, DataError


def load(root, cache_dir, **options):
    options.setdefault("verbose", False)
    return NiftiSource.from_msd(root, cache_dir=cache_dir, **options)


def test_preprocessed_cases_have_the_target_shape_and_dataset_statistics(msd, cache_dir):
    source = load(msd, cache_dir, shape=(6, 10, 12))
    assert len(source) == 4 and source.names == ("case_000", "case_001", "case_002", "case_003")
    images = np.stack([case.image for case in source])
    assert images.shape == (4, 1, 6, 10, 12) and images.dtype == np.float32
    assert images.mean() == pytest.approx(0.0, abs=1e-5)  # z-normalised over the whole set
    assert images.std() == pytest.approx(1.0, abs=1e-4)
    assert all(case.label.any() and not case.image.flags.writeable for case in source)


def test_anisotropic_spacing_is_kept_and_scaled(tmp_path, cache_dir):
    affine = np.diag([0.5, 1.0, 3.0, 1.0])  # dx, dy, dz
    root = write_msd(tmp_path / "T", 2, affine=affine, shape_xyz=(20, 18, 12))
    raw = load(root, cache_dir, shape=None, crop=None, normalise="none")
    assert raw[0].shape == (12, 18, 20) and raw[0].spacing == (3.0, 1.0, 0.5)
    resized = load(root, cache_dir, shape=(6, 9, 10), crop=None)
    assert resized[0].spacing == (6.0, 2.0, 1.0)


def test_four_d_multimodal_selection(tmp_path, cache_dir):
    root = write_msd(tmp_path / "T", 3, modalities=("FLAIR", "T1w", "T2w"))
    flair = load(root, cache_dir, modality="flair", shape=None, crop=None, normalise="none")
    both = load(root, cache_dir, modality=["T2w", 0], shape=None, crop=None, normalise="none")
    image, _ = blob_pair(0, modalities=3)
    np.testing.assert_allclose(flair[0].image[0], image[..., 0].transpose(2, 1, 0))
    np.testing.assert_allclose(both[0].image[0], image[..., 2].transpose(2, 1, 0))
    assert both[0].num_modalities == 2


def test_label_mapping_and_known_values_from_the_manifest(tmp_path, cache_dir):
    root = write_msd(tmp_path / "T", 3, label_values=(0, 1, 2))
    whole = load(root, cache_dir, shape=None, crop=None)
    core = load(root, cache_dir, shape=None, crop=None, labels=2)
    assert whole[0].label.sum() == 6 * 5 * 4 and core[0].label.sum() == 8
    other = write_msd(tmp_path / "U", 2, label_values=(0, 1, 2), labels={"0": "bg", "1": "a"})
    with pytest.raises(DataError, match=r"case_000\.nii\.gz: label values \[2\] are outside"):
        load(other, cache_dir, strict=True)


def test_rejections_are_reported_never_silent(tmp_path, cache_dir, capsys):
    root = write_msd(tmp_path / "T", 4)
    image, _ = blob_pair(1)
    save_nifti(root / "labelsTr" / "case_001.nii.gz", np.zeros(image.shape, np.uint8))
    (root / "imagesTr" / "case_002.nii.gz").unlink()
    source = NiftiSource.from_msd(root, cache_dir=cache_dir)
    report = capsys.readouterr().err
    assert "2 case(s) loaded" in report and "2 rejected" in report
    assert "case_001: " in report and "no foreground voxel" in report
    assert "case_002" in report and "listed in dataset.json but missing" in report
    assert source.names == ("case_000", "case_003")
    assert [r.name for r in source.report.rejected] == ["case_002", "case_001"]
    with pytest.raises(DataError, match=r"listed in dataset\.json but missing"):
        NiftiSource.from_msd(root, cache_dir=cache_dir, strict=True)


def test_no_usable_case_lists_every_reason(tmp_path, cache_dir):
    root = write_msd(tmp_path / "T", 2)
    for name in ("case_000", "case_001"):
        path = root / "imagesTr" / f"{name}.nii.gz"
        path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DataError, match=r"no usable case(.|\n)*case_000(.|\n)*case_001"):
        load(root, cache_dir)


def test_cache_second_load_and_stale_or_corrupt_entries(msd, cache_dir):
    first = load(msd, cache_dir, shape=(6, 10, 12))
    assert first.report.built == 4 and first.report.from_cache == 0
    second = load(msd, cache_dir, shape=(6, 10, 12))
    assert second.report.from_cache == 4 and second.report.built == 0
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a.image, b.image)
        np.testing.assert_array_equal(a.label, b.label)
    entries = sorted(cache_dir.glob("case_000-*.npz"))
    assert len(entries) == 1
    entries[0].write_bytes(b"garbage")
    image = msd / "imagesTr" / "case_001.nii.gz"
    os.utime(image, ns=(image.stat().st_atime_ns, image.stat().st_mtime_ns + 10**9))
    third = load(msd, cache_dir, shape=(6, 10, 12))
    assert third.report.rebuilt == {"case_000": "corrupt", "case_001": "stale"}
    assert third.report.from_cache == 2 and third.report.built == 2
    np.testing.assert_array_equal(third[0].image, first[0].image)
    assert load(msd, cache_dir, shape=(6, 10, 12), seed=1).report.built == 4  # other settings


def test_subset_and_splits_share_normalisation(msd, cache_dir):
    source = load(msd, cache_dir, shape=(6, 10, 12))
    splits = three_way_split(source.names, num_train=1, seed=0)
    parts = splits.sources(source)
    assert sum(len(p) for p in parts.values()) == 4
    assert parts["test"].statistics == source.statistics
    assert parts["train1"][0] is source[source.names.index(splits["train1"][0])]
    with pytest.raises(DataError, match="not in data set"):
        source.subset(["nope"])


def test_presets(tmp_path, cache_dir):
    assert {
        "brats_flair_whole_tumour",
        "msd_left_atrium",
        "msd_prostate",
        "msd_spleen",
        "msd_liver",
    } <= set(PRESETS)
    with pytest.raises(ConfigError, match="Did you mean 'msd_spleen'"):
        get_preset("msd_splen")
    root = write_msd(
        tmp_path / "Task01", 3, modalities=("FLAIR", "T1w", "t1gd", "T2w"), label_values=(0, 1, 2)
    )
    brats = NiftiSource.from_preset(
        "brats_flair_whole_tumour", root, cache_dir=cache_dir, verbose=False, shape=(6, 10, 12)
    )
    assert brats[0].num_modalities == 1 and len(brats) == 3
    spleen = NiftiSource.from_preset(
        "msd_spleen",
        write_msd(tmp_path / "Task09", 2),
        cache_dir=cache_dir,
        verbose=False,
        shape=(6, 10, 12),
    )
    assert spleen.settings.crop == "label" and spleen.settings.margin == (1, 11)


def test_env_accepts_a_folder_path(msd, cache_dir, monkeypatch):
    monkeypatch.setenv("SEGENV_CACHE_DIR", str(cache_dir))
    env = gym.make("InteractiveSeg3D-v0", dataset=str(msd))
    obs, info = env.reset(seed=0)
    assert obs.shape == (4, 30, 55, 55) and info["case"].startswith("case_")
    _, reward, *_ = env.step(env.action_space.sample())
    assert np.isfinite(reward)
    small = gym.make("InteractiveSeg3D-v0", dataset=msd, shape=(6, 10, 12))
    assert small.reset(seed=0)[0].shape == (4, 6, 10, 12)
    with pytest.raises(DataError, match="no such folder"):
        gym.make("InteractiveSeg3D-v0", dataset=str(msd / "nothing"))
    assert isinstance(load_dataset(msd, verbose=False), NiftiSource)


def test_env_augmentation_is_seeded_and_off_by_default(msd, cache_dir):
    source = load(msd, cache_dir, shape=(6, 10, 12))
    plain = gym.make("InteractiveSeg3D-v0", dataset=source, shape=(6, 10, 12))
    obs, _ = plain.reset(seed=0, options={"case_index": 1})
    np.testing.assert_array_equal(obs[0], source[1].image[0])
    augmented = [
        gym.make("InteractiveSeg3D-v0", dataset=source, shape=(6, 10, 12), augment=True)
        for _ in range(2)
    ]
    a, b = (env.reset(seed=3, options={"case_index": 1})[0] for env in augmented)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[0], source[1].image[0])
    case = augmented[0].unwrapped.case
    assert case.label.any() and case.name == source[1].name


def test_per_case_and_explicit_normalisation(msd, cache_dir):
    per_case = load(msd, cache_dir, shape=(6, 10, 12), normalise="case")
    for case in per_case:
        assert case.image.mean() == pytest.approx(0.0, abs=1e-5)
        assert case.image.std() == pytest.approx(1.0, abs=1e-4)
    raw = load(msd, cache_dir, shape=(6, 10, 12), normalise="none")
    explicit = load(msd, cache_dir, shape=(6, 10, 12), normalise=([2.0], [4.0]))
    np.testing.assert_allclose(explicit[0].image, (raw[0].image - 2.0) / 4.0, rtol=1e-6)
    with pytest.raises(ConfigError, match="normalise="):
        load(msd, cache_dir, normalise="global")
    with pytest.raises(ConfigError, match="stds > 0"):
        load(msd, cache_dir, normalise=([0.0], [0.0]))
