"""Shared test settings.

Real data and weights live beside the project in ``../shared``; set ``BIAN_SHARED`` to point
elsewhere. Tests that need it skip with a reason when it is absent.
"""
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("BIAN_SHARED", ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def shared() -> Path:
    if not (SHARED / "data").is_dir():
        pytest.skip(f"shared data not found at {SHARED} (set BIAN_SHARED)")
    return SHARED
