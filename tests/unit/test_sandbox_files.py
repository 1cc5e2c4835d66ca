"""Ownership and modes of build directories and of the data directory."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from hwbridge.sandbox.files import (
    PRIVATE_TMP,
    check_reachable,
    hand_over_tree,
    harden_data_dir,
    private_tmp,
    seal,
)
from hwbridge.sandbox.identity import NOBODY_ID, SandboxError, SandboxUser

NOBODY = SandboxUser("nobody", NOBODY_ID, NOBODY_ID)
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="changing owners needs root")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _owner(path: Path) -> tuple[int, int]:
    st = path.lstat()
    return st.st_uid, st.st_gid


def test_seal_gives_plain_modes_and_removes_the_private_tmp(tmp_path: Path) -> None:
    build = tmp_path / "build"
    (build / "obj_dir").mkdir(parents=True)
    private_tmp(build, None).joinpath("scratch").write_text("x")
    exe = build / "obj_dir" / "Vsim"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o6777)  # set-id bits and world-writable: none of it may survive
    data = build / "data.txt"
    data.write_text("x")
    data.chmod(0o666)
    (build / "locked").mkdir(mode=0o000)
    (build / "link").symlink_to("/etc/shadow")
    os.mkfifo(build / "fifo")
    seal(build)
    assert not (build / PRIVATE_TMP).exists() and not (build / "fifo").exists()
    assert _mode(exe) == 0o755 and _mode(data) == 0o644
    assert _mode(build / "locked") == 0o755 and _mode(build) == 0o755
    assert os.readlink(build / "link") == "/etc/shadow"  # kept as a link, its target untouched
    assert _mode(Path("/etc/shadow")) != 0o644


@as_root
def test_seal_takes_everything_back_from_the_sandbox_user(tmp_path: Path) -> None:
    build = tmp_path / "build"
    build.mkdir()
    os.chown(build, NOBODY_ID, NOBODY_ID)
    tmp = private_tmp(build, NOBODY)
    assert _owner(tmp) == (NOBODY_ID, NOBODY_ID) and _mode(tmp) == 0o700
    made = build / "made-by-the-build"
    made.write_text("x")
    os.chown(made, NOBODY_ID, NOBODY_ID)
    os.symlink("made-by-the-build", build / "link")
    os.chown(build / "link", NOBODY_ID, NOBODY_ID, follow_symlinks=False)
    seal(build)
    for path in (build, made, build / "link"):
        assert _owner(path) == (0, 0)


@as_root
def test_hand_over_tree_gives_a_whole_cache_once(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    (cache / "sub").mkdir(parents=True)
    (cache / "sub" / "entry").write_text("x")
    hand_over_tree(cache, NOBODY)
    assert {_owner(p) for p in (cache, cache / "sub", cache / "sub" / "entry")} == {
        (NOBODY_ID, NOBODY_ID)
    }
    hand_over_tree(cache, None)  # the service is not root: nothing to do
    assert _owner(cache) == (NOBODY_ID, NOBODY_ID)


def test_harden_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "nats").mkdir(parents=True)
    harden_data_dir(data)
    assert _mode(data) == 0o711  # enterable by name, not listable
    assert _mode(data / "nats") == 0o700
    assert _mode(data / "builds") == 0o711 and _mode(data / "boards") == 0o711


def test_check_reachable_names_the_blocking_directory(tmp_path: Path) -> None:
    closed = tmp_path / "closed"
    (closed / "inner").mkdir(parents=True)
    closed.chmod(0o700)
    with pytest.raises(SandboxError, match=r"cannot enter .*\(chmod o\+x\)"):
        check_reachable(NOBODY, [str(closed / "inner")])
    check_reachable(NOBODY, ["/usr/lib", "/does/not/exist"])
