"""Where the default bundle and caches live: outside git, overridable by environment."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    root = Path(os.environ.get("STEPDIFF_CACHE", Path.home() / ".cache" / "stepdiff"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def default_bundle() -> Path:
    """$STEPDIFF_BUNDLE, else the bundle `stepdiff demo` / `stepdiff export` build by default."""
    env = os.environ.get("STEPDIFF_BUNDLE")
    return Path(env) if env else cache_dir() / "bundles" / "default-fp32"


SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_gguf_path() -> Path:
    """Where the SmolLM2 GGUF is kept once fetched (`stepdiff export` or `demo` fetch it)."""
    return cache_dir() / "smollm2" / SMOLLM2_GGUF
