"""Failures of the operating system become one line, ``motionmap: error: PATH: what; how to fix`` (exit 2, no
traceback, nothing left behind): symlink loops, names over 255 bytes, a full disk, a read-only disk, missing
permissions. And temporaries that a killed writer left are removed by the next write.

Full and read-only disks are real: small tmpfs mounts (skipped where this process may not mount). Permission errors
are real too: as root the CLI runs without the capabilities that bypass file permissions (``setpriv``)."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from motionmap.cli import main
from motionmap.errors import os_error_message
from motionmap.io.animation import write_frames, write_gif
from motionmap.io.atomic import remove_stale_temps

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def inputs(sprite_inputs):
    """A source GIF, a target PNG and a checkpoint (see conftest)."""
    return sprite_inputs


def _retarget(src, tgt, ckpt, out):
    return main(["retarget", "--source", str(src), "--target", str(tgt), "--checkpoint", str(ckpt), "--out", str(out),
                 "--device", "cpu", "--refine-steps", "0"])


def _one_error_line(capsys) -> str:
    """The one ``motionmap: error:`` line on stderr (progress bars may come before it), and no traceback."""
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if "motionmap: error: " in line]
    assert len(errors) == 1 and err.rstrip().endswith(errors[0]) and "Traceback" not in err, err
    return errors[0]


def _entries(folder: Path):
    return sorted(p.name for p in folder.iterdir())


class TestOsErrorMessage:
    def test_names_the_path_and_what_to_do(self):
        assert os_error_message(OSError(errno.ENOSPC, "No space left on device", "out.gif")) == (
            "out.gif: no space left on the device; free some space or choose another --out")
        assert "permission denied" in os_error_message(PermissionError(errno.EACCES, "Permission denied", "x"))
        assert os_error_message(OSError(errno.EROFS, "Read-only file system")).startswith("read-only file system")

    def test_unknown_errors_keep_their_text(self):
        assert os_error_message(OSError("something odd")) == "something odd; check the path and the disk"


class TestSymlinkLoop:
    @pytest.mark.parametrize("role", ["source", "out"])
    def test_loop_is_one_line(self, tmp_path, inputs, capsys, role):
        a, b = tmp_path / "a", tmp_path / "b"
        os.symlink(b, a)
        os.symlink(a, b)
        src, tgt, ckpt = inputs
        args = (a, tgt, ckpt, tmp_path / "o.gif") if role == "source" else (src, tgt, ckpt, a)
        assert _retarget(*args) == 2
        line = _one_error_line(capsys)
        assert f"{a}: symlink loop" in line and "fix or remove the link" in line


class TestLongNames:
    def test_source_name_over_255_bytes(self, tmp_path, inputs, capsys):
        _, tgt, ckpt = inputs
        assert _retarget(tmp_path / ("x" * 300 + ".gif"), tgt, ckpt, tmp_path / "o.gif") == 2
        assert "file name too long (at most 255 bytes per name); use a shorter name" in _one_error_line(capsys)

    @pytest.mark.parametrize("out", ["x" * 300 + ".gif", "x" * 300 + "/o.gif"])
    def test_out_name_over_255_bytes_is_refused_before_the_model_runs(self, tmp_path, inputs, capsys, out):
        src, tgt, _ = inputs
        # A missing checkpoint would be the error if the model were loaded first.
        assert _retarget(src, tgt, tmp_path / "missing.ckpt", tmp_path / out) == 2
        line = _one_error_line(capsys)
        assert "longer than file names may be (255 bytes); choose a shorter --out" in line

    @pytest.mark.parametrize("suffix", [".gif", ".png", ""])
    def test_legal_254_byte_out_is_written(self, tmp_path, inputs, suffix):
        name = "y" * (254 - len(suffix)) + suffix
        out_dir = tmp_path / "out"
        out_dir.mkdir()
        assert _retarget(*inputs, out_dir / name) == 0
        assert _entries(out_dir) == [name]  # the output, and no temporary left


def _mount_tmpfs(path: Path, options: str) -> None:
    path.mkdir()
    if not sys.platform.startswith("linux") or os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root on Linux to mount a small tmpfs")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")


@pytest.fixture
def full_disk(tmp_path):
    """A 256 kB tmpfs, filled but for a few kB."""
    disk = tmp_path / "full"
    _mount_tmpfs(disk, "size=256k")
    try:
        with open(disk / "filler", "wb") as fh:
            fh.write(b"\0" * (256 * 1024 - 8 * 1024))
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=False)


@pytest.fixture
def read_only_disk(tmp_path):
    disk = tmp_path / "ro"
    _mount_tmpfs(disk, "ro,size=64k")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=False)


class TestFullDisk:
    @pytest.mark.parametrize("out", ["o.png", "o.gif", "frames"])
    def test_retarget_output(self, full_disk, inputs, capsys, monkeypatch, out):
        import motionmap.retarget as retarget

        big = np.random.default_rng(1).integers(0, 255, (3, 96, 96, 3), np.uint8)  # noise: > 8 kB in any format
        monkeypatch.setattr(retarget.Retargeter, "retarget", lambda self, s, t, **k: big)
        assert _retarget(*inputs, full_disk / out) == 2
        line = _one_error_line(capsys)
        assert f"{full_disk / out}: no space left on the device; free some space or choose another --out" in line
        assert _entries(full_disk) == ["filler"]

    def test_data_synth(self, full_disk, capsys):
        # The frame cache is written through a memory map: without reserving its blocks first, a full disk is a
        # SIGBUS that kills the process and leaves its temporary folder.
        assert main(["data", "synth", "--characters", "2", "--out", str(full_disk / "ds")]) == 2
        assert "no space left on the device" in _one_error_line(capsys)
        assert _entries(full_disk) == ["filler"]


class TestReadOnlyDisk:
    @pytest.mark.parametrize("out", ["o.gif", "frames", "sub/o.png"])
    def test_refused_before_the_model_runs(self, read_only_disk, inputs, tmp_path, capsys, out):
        src, tgt, _ = inputs
        assert _retarget(src, tgt, tmp_path / "missing.ckpt", read_only_disk / out) == 2
        assert f"{read_only_disk}: read-only file system; choose an --out on a writable disk" in \
            _one_error_line(capsys)

    def test_data_synth(self, read_only_disk, capsys):
        assert main(["data", "synth", "--characters", "2", "--out", str(read_only_disk / "ds")]) == 2
        assert f"{read_only_disk}: read-only file system" in _one_error_line(capsys)


def _unprivileged(args):
    """Run ``python -m motionmap ARGS`` as a process that file permissions apply to (root drops its DAC caps)."""
    cmd = [sys.executable, "-m", "motionmap", *args]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: file permissions cannot be tested")
        cmd = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--", *cmd]
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    return done.returncode, done.stderr


class TestPermissions:
    def test_mode_000_source_is_permission_denied_not_corrupt(self, inputs, tmp_path):
        src, tgt, ckpt = inputs
        os.chmod(src, 0)
        rc, err = _unprivileged(["retarget", "--source", str(src), "--target", str(tgt), "--checkpoint", str(ckpt),
                                 "--out", str(tmp_path / "o.gif"), "--refine-steps", "0"])
        assert rc == 2 and "Traceback" not in err, err
        assert f"{src}: permission denied" in err and "corrupt" not in err

    def test_unwritable_out_folder_is_refused_before_the_model_runs(self, inputs, tmp_path):
        src, tgt, _ = inputs
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o555)
        rc, err = _unprivileged(["retarget", "--source", str(src), "--target", str(tgt),
                                 "--checkpoint", str(tmp_path / "missing.ckpt"), "--out", str(locked / "o.gif")])
        assert rc == 2 and "Traceback" not in err, err
        assert f"{locked}: permission denied (cannot create files in this folder)" in err

    def test_unreadable_frame_folder(self, inputs, tmp_path):
        src, tgt, ckpt = inputs
        folder = tmp_path / "frames"
        write_frames(folder, np.zeros((2, 16, 16, 3), np.uint8))
        os.chmod(folder, 0)
        try:
            rc, err = _unprivileged(["retarget", "--source", str(folder), "--target", str(tgt), "--checkpoint",
                                     str(ckpt), "--out", str(tmp_path / "o.gif"), "--refine-steps", "0"])
        finally:
            os.chmod(folder, 0o755)
        assert rc == 2 and "Traceback" not in err, err
        assert "permission denied" in err


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


class TestCrashLeftovers:
    def test_next_write_removes_temporaries_of_dead_writers_only(self, tmp_path):
        dead = _dead_pid()
        folder = tmp_path / "out"
        folder.mkdir()
        stale_file = folder / f".walk.gif.mmtmp{dead}.abcd1234.gif"
        stale_file.write_bytes(b"half a gif")
        stale_dir = folder / f".frames.mmtmp{dead}.efgh5678.tmp"
        stale_dir.mkdir()
        (stale_dir / "frame_000.png").write_bytes(b"x")
        moved_aside = folder / f".frames.mmtmp{dead}.ijkl9012.old"  # a user's previous output: never removed
        moved_aside.mkdir()
        live = folder / f".other.gif.mmtmp{os.getppid()}.mnop3456.gif"  # a running writer's
        live.write_bytes(b"in progress")
        mine = folder / "notes.mmtmp.txt"
        mine.write_text("not a temporary")
        write_gif(folder / "new.gif", np.zeros((2, 8, 8, 3), np.uint8))
        assert _entries(folder) == sorted([moved_aside.name, live.name, "new.gif", "notes.mmtmp.txt"])
        assert remove_stale_temps(folder) == []

    @pytest.mark.parametrize("what", ["frames", "dataset"])
    def test_sigkill_while_writing_then_next_run_cleans_up(self, tmp_path, what):
        """A real writer killed with SIGKILL part way (a frame folder, or a dataset build); the next write beside it
        removes its temporary folder."""
        out = tmp_path / "out"
        out.mkdir()
        script = textwrap.dedent(f"""
            import sys, time
            from pathlib import Path
            from motionmap.io.atomic import atomic_dir
            with atomic_dir(Path({str(out / what)!r})) as tmp:
                (tmp / "frame_000.png").write_bytes(b"x" * 1000)
                print("writing", flush=True)
                time.sleep(60)
        """)
        env = dict(os.environ, PYTHONPATH=str(REPO))
        child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env)
        try:
            assert child.stdout.readline().strip() == "writing"
            leftovers = [p for p in out.iterdir() if p.name.startswith(f".{what}.mmtmp{child.pid}.")]
            assert len(leftovers) == 1 and leftovers[0].is_dir()
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
        assert leftovers[0].exists()  # SIGKILL: no cleanup ran
        if what == "frames":
            write_frames(out / "frames", np.zeros((2, 8, 8, 3), np.uint8))
            assert _entries(out) == ["frames"]
        else:
            from motionmap.datasets.build import build_synth_dataset

            build_synth_dataset(out / "dataset", characters=2, seed=0, progress=False)
            assert _entries(out) == ["dataset"]
