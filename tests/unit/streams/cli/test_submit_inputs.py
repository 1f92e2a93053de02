"""What ``pagestream submit`` sends, refuses and skips, before anything is uploaded."""

from __future__ import annotations

from pathlib import Path

from pagestream.streams.cli.inputs import sort_inputs

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 100


def test_bad_named_paths_are_refused_and_the_rest_still_go(tmp_path: Path) -> None:
    (tmp_path / "a.pdf").write_bytes(b"%PDF-1.7\n")
    (tmp_path / "notes.txt").write_text("plain text")
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "big.png").write_bytes(PNG + b"\0" * 1000)
    names = [str(tmp_path / n) for n in ("a.pdf", "missing.pdf", "notes.txt", "empty.png", "big.png")]
    inputs = sort_inputs(names, max_bytes=500)
    assert inputs.files == [tmp_path / "a.pdf"] and inputs.skipped == []
    assert inputs.refused == [
        f"{names[1]}: No such file or directory",
        f"{names[2]}: unsupported file type; pagestream accepts PDF, PNG, JPEG or TIFF (detected from the file's "
        "first bytes, not its name)",
        f"{names[3]}: the file is empty (0 bytes); send a PDF, PNG, JPEG or TIFF (detected from the file's first "
        "bytes, not its name)",
        f"{names[4]}: the file has 1108 bytes, more than the limit of 500 bytes",
    ]


def test_folders_give_their_documents_recursively_and_skip_the_rest(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "deeper").mkdir(parents=True)
    (inbox / "b.png").write_bytes(PNG)
    (inbox / "deeper" / "a.png").write_bytes(PNG)
    (inbox / "readme.md").write_text("# notes")
    (inbox / ".DS_Store").write_bytes(b"\0")
    (inbox / "deeper" / "empty.pdf").write_bytes(b"")
    (tmp_path / "nothing").mkdir()
    (tmp_path / "nothing" / "x.txt").write_text("x")
    inputs = sort_inputs([str(inbox), str(tmp_path / "nothing")], max_bytes=10_000)
    assert inputs.files == [inbox / "b.png", inbox / "deeper" / "a.png"]
    skipped = [line.split(":")[0] for line in inputs.skipped]
    assert skipped == [str(inbox / "readme.md"), str(tmp_path / "nothing" / "x.txt")]
    assert inputs.refused == [
        f"{inbox / 'deeper' / 'empty.pdf'}: the file is empty (0 bytes); send a PDF, PNG, JPEG or TIFF (detected "
        "from the file's first bytes, not its name)",
        f"{tmp_path / 'nothing'}: the folder holds no PDF or image",
    ]
