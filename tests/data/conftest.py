"""Fixtures: tiny NIfTI data sets written with nibabel into tmp_path (no downloads)."""

import pytest
from nifti_files import write_msd


@pytest.fixture
def msd(tmp_path):
    """A 4-case single-modality MSD folder."""
    return write_msd(tmp_path / "Task99_Tiny")


@pytest.fixture
def cache_dir(tmp_path):
    return tmp_path / "cache"
