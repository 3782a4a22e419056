"""Uploaded file names are made safe before anything is written: no folders, no leading dot, no
control characters; a name with nothing usable left is refused naming the file."""

import pytest

from tunelab.serve.collections_service import UploadError, safe_name


@pytest.mark.parametrize("raw, safe", [
    ("manual.md", "manual.md"), ("../../etc/passwd", "passwd"), ("C:\\Users\\me\\notes.txt", "notes.txt"),
    (".env", "env"), ("a\x00b\nc.md", "a_b_c.md"), ("  spaced name.pdf ", "spaced name.pdf"), ("ünïcode.md", "ünïcode.md"),
])
def test_names_are_made_safe(raw, safe):
    assert safe_name(raw, 0) == safe


@pytest.mark.parametrize("raw", ["", "...", "../", "/"])
def test_names_with_nothing_usable_are_refused(raw):
    with pytest.raises(UploadError, match="Uploaded file 3"):
        safe_name(raw, 2)
