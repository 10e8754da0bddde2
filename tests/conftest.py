"""Shared fixtures. The bundle fixtures live in fixtures_bundle.py."""

from __future__ import annotations

import pytest

pytest_plugins = ["fixtures_bundle"]


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> str:
    """`stepdiff data build --scale tiny --seed 0`, built once per test session; returns its DIR."""
    from stepdiff.models.data.cli import main

    out = tmp_path_factory.mktemp("data_tiny")
    rc = main(["build", "--out", str(out), "--scale", "tiny", "--seed", "0", "--no-progress"])
    assert rc == 0
    return str(out)
