"""Shared fixtures. The bundle fixtures live in fixtures_bundle.py."""

pytest_plugins = ["fixtures_bundle"]
