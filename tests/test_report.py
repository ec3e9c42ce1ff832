"""`htdyn report` through the installed command: the page explains (captions, TOC, GIF, config, version, date),
every link exists, bad output folders and --max-runs are refused before any figure is drawn, a diverged run
warns nothing; the paper's expected numbers against hand-made tables; a real browser renders the page."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from clitools import cli, htdyn_command, needs_htdyn

CHROMIUM = next((shutil.which(c) for c in ("chromium", "chromium-browser", "google-chrome", "chrome")
                 if shutil.which(c)), None)

CONFIG = """
name = "rep"
steps = 3
seed = 0
[model]
n = 96
d = 32
h = 48
n_test = 32
activation = "{act}"
[snapshots]
updates = true
[grid]
"optimizer.name" = ["{opt}"]
"optimizer.lr" = {lrs}
"""


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return cli(*args, cwd=cwd, columns=120)


def _make(d: Path, name: str, *, opt: str = "adam", lrs: str = "[0.1, 3.0]", act: str = "tanh") -> Path:
    cfg = d / f"{name}.toml"
    cfg.write_text(CONFIG.format(opt=opt, lrs=lrs, act=act))
    path = d / f"{name}.h5"
    r = _cli("run", str(cfg), "-o", str(path), "-q", cwd=d)
    assert r.returncode == 0, r.stderr
    r = _cli("analyze", str(path), "-q", "--metrics", "all", cwd=d)
    assert r.returncode == 0, r.stderr
    return path


@pytest.fixture(scope="module")
def traj(tmp_path_factory: pytest.TempPathFactory) -> Path:
    htdyn_command()
    return _make(tmp_path_factory.mktemp("traj"), "rep")


@pytest.fixture(scope="module")
def report(traj: Path) -> tuple[Path, subprocess.CompletedProcess]:
    d = traj.parent
    r = _cli("report", str(traj), "-o", str(d / "out"), "--max-runs", "1", cwd=d)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    return d / "out" / "index.html", r


class _Page(HTMLParser):
    """The figures (with their captions' text), the links, the ids and the table headers of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: list[dict] = []
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.headers: list[str] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        for key in ("href", "src"):
            if key in a:
                self.links.append(a[key])
        if tag == "figure":
            self.figures.append({"caption": "", "captions": 0, "img": None})
        if tag == "figcaption" and self.figures:
            self.figures[-1]["captions"] += 1
        if tag == "img" and self.figures:
            self.figures[-1]["img"] = a.get("src")
        if tag == "th":
            self.headers.append("")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        while self.stack and self.stack.pop() != tag:
            pass

    def handle_data(self, data: str) -> None:
        if "figcaption" in self.stack and self.figures:
            self.figures[-1]["caption"] += data
        if self.stack and self.stack[-1] == "th":
            self.headers[-1] += data


def _page(index: Path) -> _Page:
    p = _Page()
    p.feed(index.read_text())
    return p


@needs_htdyn
def test_every_link_exists_every_figure_has_a_caption_and_the_gif_is_there(report) -> None:
    index, _ = report
    page = _page(index)
    files = [ln for ln in page.links if not ln.startswith("#")]
    assert files and all((index.parent / ln).is_file() and (index.parent / ln).stat().st_size > 0 for ln in files)
    anchors = [ln[1:] for ln in page.links if ln.startswith("#")]
    assert anchors and set(anchors) <= page.ids  # the table of contents points at what is on the page
    # run 0's 5 figures (--max-runs 1), the animation, the sweep panel and the phase diagram; none missing
    assert len(page.figures) == 5 + 1 + 2 and "not drawn" not in index.read_text()
    assert "1 more runs (figures of the first 1 only)" in index.read_text()
    for fig in page.figures:
        assert fig["captions"] == 1
        sentences = [s for s in re.split(r"(?<=[.!?])\s", fig["caption"]) if s.strip()]
        assert 2 <= len(sentences) <= 6, fig["caption"]  # the title, 1-3 sentences what to look for, the numbers
    gifs = [f["img"] for f in page.figures if f["img"].endswith(".gif")]
    assert len(gifs) == 1 and (index.parent / gifs[0]).read_bytes()[:6] == b"GIF89a"
    for needle in ("alpha_Hill", "spike", "crossing 2", "bulk spreading"):
        assert needle in index.read_text(), needle


@needs_htdyn
def test_config_version_date_and_readable_summary(report) -> None:
    import htdyn

    index, _ = report
    text = index.read_text()
    assert f"htdyn {htdyn.__version__}" in text and re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", text)
    assert "id='config'" in text and "&quot;optimizer&quot;" in text  # the stored config, escaped
    page = _page(index)
    summary = text.split("class='summary'")[1].split("</table>")[0]
    heads = re.findall(r"<th[^>]*>([^<]*)</th>", summary)
    assert "learning rate" in heads and "test loss (read-out)" in heads and not any("_" in h for h in heads)
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", summary)
    floats = [c for c in cells if re.fullmatch(r"-?[\d.]+(e[-+]\d+)?", c) and "." in c]
    assert floats and all(len(re.sub(r"e.*|[-.]", "", c).lstrip("0")) <= 4 for c in floats)  # 4 significant
    assert page.headers


@needs_htdyn
def test_progress_is_one_line_per_figure_off_a_terminal(report) -> None:
    _, r = report
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("report: ")]
    assert len(lines) == 5 + 1 + 2 + 1, r.stderr  # every figure and the index
    assert [int(re.match(r"report: (\d+)/", ln).group(1)) for ln in lines] == list(range(1, len(lines) + 1))


@needs_htdyn
@pytest.mark.parametrize("case", ["existing file", "under a file", "read-only", "missing mount"])
def test_unusable_output_folder_is_refused_before_drawing(traj: Path, tmp_path: Path, case: str) -> None:
    path = traj
    (tmp_path / "afile").write_text("keep me")
    target = {"existing file": tmp_path / "afile", "under a file": tmp_path / "afile" / "sub",
              "read-only": tmp_path / "ro" / "out", "missing mount": Path("/sys/htdyn-no-such-mount/out")}[case]
    if case == "read-only":
        if os.geteuid() == 0:
            pytest.skip("root writes into a read-only folder")
        (tmp_path / "ro").mkdir(mode=0o555)
    if case == "missing mount" and not Path("/sys").is_dir():
        pytest.skip("no /sys here")
    for cmd in (["report", str(path), "-o", str(target)], ["demo", "one-step-spike", "-o", str(target)]):
        r = _cli(*cmd, cwd=tmp_path)
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:") and "-o" in lines[0], r.stderr
        assert "report: " not in r.stderr and "running demo" not in r.stderr  # nothing drawn or simulated
    assert (tmp_path / "afile").read_text() == "keep me"


@needs_htdyn
def test_negative_max_runs_is_refused(traj: Path, tmp_path: Path) -> None:
    r = _cli("report", str(traj), "--max-runs", "-1", "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "--max-runs -1" in lines[0] and "0 or more" in lines[0]
    assert not (tmp_path / "out").exists()


@needs_htdyn
def test_diverged_run_warns_nothing(tmp_path: Path) -> None:
    """Adam at lr 1e30 with a ReLU student overflows at step 1 (float32): its figures draw without warnings."""
    path = _make(tmp_path, "div", lrs="[1e30]", act="relu")
    info = _cli("info", str(path), cwd=tmp_path)
    assert "step 1" in info.stdout or "diverged" in info.stdout, info.stdout
    r = _cli("report", str(path), "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert "Warning" not in r.stderr and "no positive values" not in r.stderr and ".py:" not in r.stderr, r.stderr


def test_paper_numbers_against_a_hand_made_table() -> None:
    """The paper's rows apply only at its setting, pick the right step, and call a value outside its range."""
    import pandas as pd

    from htdyn.plot.report_notes import PAPER_EXPECTED, is_paper_setting, paper_rows

    cfg = {"model": {"n": 2000, "d": 1000, "h": 1500, "n_test": 200, "noise_std": 0.3, "teacher": "softplus",
                     "activation": "tanh", "init_scale": 1.0, "train_readout": False},
           "optimizer": {"name": "adam", "lr": 1.0, "batch_size": None}, "schedule": {"name": "constant"},
           "weight_norm": False}
    assert is_paper_setting(cfg)
    steps = np.arange(11)
    table = pd.DataFrame({"step": steps, "spectral_norm": np.where(steps == 0, 70.3, 1001.0),
                          "alpha_hill": np.where(steps == 10, 1.70, 2.33), "test_loss": 0.95})
    rows = {r["quantity"]: r for r in paper_rows(cfg, table, features="official")}
    assert rows["sigma_1(W_0)"]["measured"] == 70.3 and rows["sigma_1(W_0)"]["verdict"] == "matched"
    assert rows["sigma_1(W_1)"]["measured"] == 1001.0 and rows["sigma_1(W_1)"]["verdict"] == "matched"
    assert rows["PL_Alpha_Hill(W_10)"]["measured"] == 1.70 and rows["PL_Alpha_Hill(W_10)"]["verdict"] == "differs"
    assert rows["test loss, t=10"]["verdict"] == "matched"
    assert "test loss, t=10" not in {r["quantity"] for r in paper_rows(cfg, table, features="model")}
    assert not any(r["quantity"] == "sim(W_1, beta)" for r in rows.values())  # no such column: no row
    small = {**cfg, "model": {**cfg["model"], "n": 400}}
    assert paper_rows(small, table, features="official") == []  # a reduced size gets no paper numbers
    assert all(e.lo <= e.hi and e.paper for e in PAPER_EXPECTED)


@needs_htdyn
@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (apt-get install chromium)")
def test_report_renders_in_a_real_browser(report, tmp_path: Path) -> None:
    """Headless Chromium: the screenshot is the page's width and not blank, and nothing overflows sideways."""
    index, _ = report
    shot = tmp_path / "shot.png"
    args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1000,2400"]
    r = subprocess.run([*args, f"--screenshot={shot}", index.as_uri()], capture_output=True, text=True, timeout=120)
    assert shot.is_file(), r.stderr
    from matplotlib.image import imread

    img = imread(shot)
    assert img.shape[1] == 1000 and img.shape[0] == 2400
    gray = img[..., :3].mean(axis=2)
    assert (gray < 0.9).mean() > 0.05 and gray.std() > 0.1  # text and figures drawn, not a blank page
    probe = index.with_name("probe.html")  # the page's own widths, measured by the browser's layout
    probe.write_text(index.read_text().replace(
        "</body>", "<script>document.body.setAttribute('data-w', document.documentElement.scrollWidth + ','"
                   " + document.documentElement.clientWidth)</script></body>"))
    dom = subprocess.run([*args, "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=120).stdout
    scroll, client = map(int, re.search(r'data-w="(\d+),(\d+)"', dom).groups())
    assert scroll <= client, (scroll, client)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))


def test_sweep_is_compared_by_the_mean_over_its_repeats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the paper's setting moved to the tiny sweep's size, the report's paper table quotes, per point, the
    mean over the repeats of the sweep's own table at the entry's step."""
    from sweeptools import run_spec, spec_text

    import htdyn
    from htdyn.plot import report_notes
    from htdyn.plot.report import write_report

    text = spec_text(steps=10, repeats=2).replace('["gd", "adam"]', '["adam"]').replace("[0.05, 0.5, 5.0]", "[0.05]")
    root = run_spec(tmp_path, text)
    tiny = {"model.n": 64, "model.d": 16, "model.h": 24, "model.n_test": 16}
    monkeypatch.setattr(report_notes, "PAPER_SETTING", {**report_notes.PAPER_SETTING, **tiny})
    index = write_report(root, tmp_path / "rep")
    text = index.read_text()
    assert "the paper's numbers beside the measured ones</h3>" in text
    table = htdyn.open_sweep(root).table()
    g = table[(table["optimizer.name"] == "adam") & (table["optimizer.lr"] == 0.05) & (table["step"] == 10)]
    assert len(g) == 2
    row = re.search(r"<tr><td class='text'>optimizer=adam, lr=0.05 \(mean of 2 repeats\)</td><td class='text'>"
                    r"PL_Alpha_Hill\(W_10\)</td><td>[^<]*</td><td>([^<]+)</td>", text)
    assert row and float(row.group(1)) == pytest.approx(g["alpha_hill"].mean(), rel=1e-3)
    assert all((index.parent / ln).is_file() for ln in re.findall(r"(?:href|src)='([^'#][^']*)'", text))
