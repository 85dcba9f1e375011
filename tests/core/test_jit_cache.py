"""numba's cache is keyed to every file the compiled engine is made of (jit_cache)."""

from __future__ import annotations

import os
from pathlib import Path

import numba
import pytest

from app.core import engine, jit_cache


def test_digest_changes_with_any_source_file(tmp_path: Path) -> None:
    files = [tmp_path / "exact_math.py", tmp_path / "engine.py"]
    for f in files:
        f.write_text("x = 1\n")
    before = jit_cache.source_digest(files)
    assert jit_cache.source_digest(files) == before
    files[0].write_text("x = 2\n")  # an edit to a helper file alone, as an update may bring
    assert jit_cache.source_digest(files) != before


def test_digest_tells_which_file_holds_the_text(tmp_path: Path) -> None:
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("12")
    b.write_text("3")
    first = jit_cache.source_digest([a, b])
    a.write_text("1")
    b.write_text("23")
    assert jit_cache.source_digest([a, b]) != first


@pytest.mark.skipif(not engine.AVAILABLE, reason="without numba nothing is compiled")
@pytest.mark.skipif(bool(os.environ.get("NUMBA_CACHE_DIR")), reason="the user's own cache folder is kept")
def test_engine_compiles_into_the_folder_of_its_sources() -> None:
    folder = jit_cache.cache_folder()
    assert numba.config.CACHE_DIR == str(folder)
    assert folder.name == jit_cache.PREFIX + jit_cache.source_digest(
        jit_cache.CORE / name for name in jit_cache.COMPILED_SOURCES
    )
    engine.warm_up()
    assert any(folder.rglob("*.nbi")), "warm_up's functions are cached in the keyed folder"


def test_old_folders_are_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    old = tmp_path / (jit_cache.PREFIX + "0123456789abcdef")
    old.mkdir()
    (old / "f.nbi").write_text("")
    other = tmp_path / "keep-me"
    other.mkdir()
    monkeypatch.setattr(jit_cache, "cache_folder", lambda: tmp_path / (jit_cache.PREFIX + "new"))
    monkeypatch.setattr(numba.config, "CACHE_DIR", "")
    jit_cache.use_source_keyed_cache()
    assert numba.config.CACHE_DIR == str(tmp_path / (jit_cache.PREFIX + "new"))
    assert not old.exists() and other.exists()
