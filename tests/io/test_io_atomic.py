"""Atomic outputs: complete or absent, never over an existing output or an input."""

from __future__ import annotations

import os

import pytest

from motionmap.errors import MotionmapError
from motionmap.io.atomic import atomic_dir, atomic_file, ensure_not_input, ensure_writable_output


class TestAtomicFile:
    def test_writes_and_leaves_no_temp(self, tmp_path):
        out = tmp_path / "walk.gif"
        with atomic_file(out) as tmp:
            assert tmp.parent == tmp_path and tmp.suffix == ".gif" and tmp != out
            assert not out.exists()
            tmp.write_bytes(b"data")
        assert out.read_bytes() == b"data"
        assert os.listdir(tmp_path) == ["walk.gif"]

    def test_permissions_follow_umask(self, tmp_path):
        out = tmp_path / "a.png"
        with atomic_file(out) as tmp:
            tmp.write_bytes(b"x")
        mask = os.umask(0)
        os.umask(mask)
        assert out.stat().st_mode & 0o777 == 0o666 & ~mask

    def test_refuses_existing_output(self, tmp_path):
        out = tmp_path / "a.png"
        out.write_bytes(b"old")
        with pytest.raises(MotionmapError, match=r"a\.png already exists; pass --overwrite or choose another --out"):
            with atomic_file(out):
                pass
        assert out.read_bytes() == b"old"

    def test_overwrite_replaces(self, tmp_path):
        out = tmp_path / "a.png"
        out.write_bytes(b"old")
        with atomic_file(out, overwrite=True) as tmp:
            tmp.write_bytes(b"new")
        assert out.read_bytes() == b"new"

    def test_failure_keeps_old_file_and_removes_temp(self, tmp_path):
        out = tmp_path / "a.png"
        out.write_bytes(b"old")
        with pytest.raises(RuntimeError):
            with atomic_file(out, overwrite=True) as tmp:
                tmp.write_bytes(b"half")
                raise RuntimeError("writer crashed")
        assert out.read_bytes() == b"old"
        assert os.listdir(tmp_path) == ["a.png"]

    def test_failure_removes_created_parent_folders(self, tmp_path):
        out = tmp_path / "new" / "deeper" / "a.gif"
        with pytest.raises(RuntimeError):
            with atomic_file(out) as tmp:
                tmp.write_bytes(b"half")
                raise RuntimeError
        assert os.listdir(tmp_path) == []

    def test_creates_parent_folders(self, tmp_path):
        out = tmp_path / "new" / "a.gif"
        with atomic_file(out) as tmp:
            tmp.write_bytes(b"x")
        assert out.read_bytes() == b"x"

    def test_folder_in_the_way(self, tmp_path):
        (tmp_path / "a.gif").mkdir()
        with pytest.raises(MotionmapError, match="is a folder"):
            with atomic_file(tmp_path / "a.gif", overwrite=True):
                pass


class TestAtomicDir:
    def test_writes_folder(self, tmp_path):
        out = tmp_path / "frames"
        with atomic_dir(out) as tmp:
            assert tmp.is_dir() and tmp.parent == tmp_path and not out.exists()
            (tmp / "frame_000.png").write_bytes(b"x")
        assert os.listdir(out) == ["frame_000.png"]
        assert os.listdir(tmp_path) == ["frames"]

    def test_refuses_existing(self, tmp_path):
        (tmp_path / "frames").mkdir()
        (tmp_path / "frames" / "keep.png").write_bytes(b"x")
        with pytest.raises(MotionmapError, match="already exists; pass --overwrite"):
            with atomic_dir(tmp_path / "frames"):
                pass

    def test_overwrite_replaces_only_when_complete(self, tmp_path):
        out = tmp_path / "frames"
        out.mkdir()
        (out / "old.png").write_bytes(b"old")
        with pytest.raises(RuntimeError):
            with atomic_dir(out, overwrite=True) as tmp:
                (tmp / "new.png").write_bytes(b"new")
                raise RuntimeError("crash half way")
        assert os.listdir(out) == ["old.png"]
        assert os.listdir(tmp_path) == ["frames"]
        with atomic_dir(out, overwrite=True) as tmp:
            (tmp / "new.png").write_bytes(b"new")
        assert os.listdir(out) == ["new.png"]
        assert os.listdir(tmp_path) == ["frames"]

    def test_existing_empty_folder_is_filled(self, tmp_path):
        (tmp_path / "frames").mkdir()
        with atomic_dir(tmp_path / "frames") as tmp:
            (tmp / "a.png").write_bytes(b"x")
        assert os.listdir(tmp_path / "frames") == ["a.png"]
        assert os.listdir(tmp_path) == ["frames"]

    def test_failure_leaves_nothing(self, tmp_path):
        with pytest.raises(KeyboardInterrupt):
            with atomic_dir(tmp_path / "frames") as tmp:
                (tmp / "a.png").write_bytes(b"x")
                raise KeyboardInterrupt
        assert os.listdir(tmp_path) == []


class TestEnsureNotInput:
    def test_same_path(self, tmp_path):
        src = tmp_path / "hero.png"
        src.write_bytes(b"x")
        with pytest.raises(MotionmapError, match=r"is also an input .*choose another --out"):
            ensure_not_input(tmp_path / "." / "hero.png", [src])

    def test_symlink_to_input(self, tmp_path):
        src = tmp_path / "hero.png"
        src.write_bytes(b"x")
        link = tmp_path / "link.png"
        link.symlink_to(src)
        with pytest.raises(MotionmapError, match="is also an input"):
            ensure_not_input(link, [src])

    def test_output_folder_containing_input(self, tmp_path):
        src = tmp_path / "frames" / "0.png"
        src.parent.mkdir()
        src.write_bytes(b"x")
        with pytest.raises(MotionmapError, match="contains the input"):
            ensure_not_input(tmp_path / "frames", [src])

    def test_distinct_paths_pass(self, tmp_path):
        ensure_not_input(tmp_path / "out.gif", [tmp_path / "in.gif", None])

    def test_writable_output(self, tmp_path):
        out = tmp_path / "out.gif"
        ensure_writable_output(out, [tmp_path / "in.gif"])
        out.write_bytes(b"x")
        with pytest.raises(MotionmapError, match="already exists"):
            ensure_writable_output(out, [])
        ensure_writable_output(out, [], overwrite=True)
