"""``python -m lineardistill figures`` rendered in full, and its failure path (issue 16).

Every figure the command knows is drawn into a temporary folder and each file is opened as an
image. The failure contract of the command line: bad input, including an output folder that
cannot be written, exits with status 2 and one line on stderr (no traceback).
"""

import struct
import subprocess
import sys

import pytest

from lineardistill import plots
from lineardistill.__main__ import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_size(path):
    """(width, height) from a PNG's IHDR chunk; fails on anything that is not a PNG."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_figures_renders_every_figure_as_a_valid_image(tmp_path, capsys):
    from PIL import Image

    out = tmp_path / "figures"
    code = main(["figures", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.err == ""
    listed = main(["figures", "--list"])
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines() if "needs arguments" not in line]
    assert listed == 0 and len(names) >= 20
    written = sorted(p.stem for p in out.iterdir())
    assert written == sorted(names)
    for name in names:
        path = out / f"{name}.png"
        assert f"wrote {path}" in captured.out
        width, height = _png_size(path)
        assert width > 100 and height > 100 and path.stat().st_size > 2000
        with Image.open(path) as image:
            image.verify()                       # decodes the chunks and their checksums
        with Image.open(path) as image:
            extrema = image.convert("L").getextrema()
        assert extrema[0] < extrema[1], f"{name}.png is blank"
    # every public plot function is either drawn here or needs data it is given in a chapter
    public = {n for n in dir(plots) if n.startswith("plot_") and callable(getattr(plots, n))}
    skipped = public - set(names)
    for name in skipped:
        with pytest.raises(TypeError):
            getattr(plots, name)()


@pytest.mark.parametrize("where", ["a_file", "under_a_file"])
def test_figures_into_an_unwritable_folder_exits_2_with_one_line(tmp_path, capsys, where):
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    out = blocker if where == "a_file" else blocker / "figures"
    code = main(["figures", "--out", str(out), "--only", "plot_lambda_c"])
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    assert "figures" in lines[0] and str(out.name) in lines[0]
    assert blocker.read_text() == "not a folder"


def test_figures_failure_exit_status_through_the_module_entry_point(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    run = subprocess.run([sys.executable, "-m", "lineardistill", "figures", "--out", str(blocker / "f"),
                          "--only", "plot_lambda_c"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 2
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
