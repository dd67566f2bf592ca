"""The reader of fldeploy's own small files (the kept Open WebUI session, a key file given to expose): a planted
folder, FIFO, symlink or big file reads as nothing, never as a traceback or a hang."""
from __future__ import annotations

import os

from fldeploy.stack.files import read_small_private


def test_only_a_small_regular_file_is_read(tmp_path):
    good = tmp_path / "good"
    good.write_text("token\n")
    big = tmp_path / "big"
    big.write_bytes(b"x" * 9000)
    link = tmp_path / "link"
    link.symlink_to(good)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # opened without blocking: nobody writes to it
    folder = tmp_path / "folder"
    folder.mkdir()
    assert read_small_private(good) == "token\n"
    for planted in (big, link, fifo, folder, tmp_path / "missing"):
        assert read_small_private(planted) is None, planted
