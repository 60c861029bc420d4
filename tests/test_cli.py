"""The ``bt-optimize`` command: run from a TOML file (with kill and resume), report, show, and its errors."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import backtrader as bt
import pytest
from helpers_processes import count_rows, kill_9_after

from bt_optimize.cli import main

DOCS = Path(__file__).resolve().parents[1] / "docs"
ROOT = Path(__file__).resolve().parents[1]


def doc_toml() -> str:
    """The complete example of docs/cli.md."""
    blocks = re.findall(r"```toml\n(.*?)```", (DOCS / "cli.md").read_text(), flags=re.S)
    assert len(blocks) == 1
    return blocks[0]


def write(tmp_path: Path, text: str, name: str = "study.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_the_documented_example_runs_reports_and_shows(tmp_path, capsys):
    cfg = write(tmp_path, doc_toml())
    assert main(["run", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "study 'smacross-orcl': 12 trials" in out and "report:" in out
    lines = out.splitlines()
    best = next(i for i, line in enumerate(lines) if "study 'smacross-orcl': 12 trials" in line)
    assert lines[best + 1].startswith("overfitting check:")  # the verdict right after the best params
    html = (tmp_path / "report.html").read_text()
    assert "sample_strategies.sma_cross.SmaCross" in html and "Monte Carlo bootstrap (mc)" in html
    assert "Parameter sensitivity" in html and "buy-and-hold" in html
    assert count_rows(tmp_path / "runs.db") == 12
    # the stored study alone (nothing executed), then with the config for the equity curve
    assert main(["report", str(tmp_path / "runs.db"), "-o", str(tmp_path / "stored.html")]) == 0
    stored = (tmp_path / "stored.html").read_text()
    assert "Top 12 trials" in stored and "--config" in stored
    assert main(["report", str(tmp_path / "runs.db"), "--study", "smacross-orcl", "-o", str(tmp_path / "full.html"),
                 "--config", str(cfg), "--quiet"]) == 0
    assert "account value" not in stored and "Equity and drawdown" in (tmp_path / "full.html").read_text()
    capsys.readouterr()
    assert main(["show", str(tmp_path / "runs.db"), "--top", "3"]) == 0
    shown = capsys.readouterr().out
    assert "study 'smacross-orcl'" in shown and len(re.findall(r"^\s+#\d+", shown, flags=re.M)) == 3


def test_run_killed_then_run_again_resumes_without_rerunning(tmp_path):
    text = doc_toml().replace("n_trials = 12", "n_trials = 10").replace("maxcpus = 2", "maxcpus = 1")
    text = text.replace("[robustness]", "[robustness_off]").replace("sensitivity = {", "# sensitivity = {")
    text = text.replace("[robustness_off]", "")
    cfg = write(tmp_path, text)
    db = tmp_path / "runs.db"
    cmd = [sys.executable, "-m", "bt_optimize.cli", "run", str(cfg), "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    kill_9_after(proc, db, 3, "bt-optimize run")
    first = count_rows(db)
    assert 3 <= first < 10
    assert not (tmp_path / "report.html").exists()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    con = sqlite3.connect(db)
    rows = con.execute("SELECT number, params FROM trials ORDER BY number").fetchall()
    con.close()
    assert [n for n, _ in rows] == list(range(10))  # the killed run's trials kept, numbering continues
    assert len({p for _, p in rows}) == 10  # no point ran twice
    assert (tmp_path / "report.html").stat().st_size > 10_000
    again = subprocess.run(cmd[:-1], capture_output=True, text=True, env=env, timeout=600)
    assert again.returncode == 0 and count_rows(db) == 10 and "10 trials" in again.stdout


BAD = [
    ("[study\n", "not valid TOML"),
    ("", "[study]: missing section"),
    ('[study]\nstrategy = "sample_strategies:SmaCros"\n', "did you mean 'SmaCross'"),
    ('[study]\nstrategy = "no_such_module:X"\n', "cannot import module 'no_such_module'"),
    ('[study]\nstrategy = "SmaCross"\n', 'give "module:Name"'),
    ('[study]\nstrategy = "sample_strategies:SmaCross"\nmethod = "annealing"\n', "use one of grid, random"),
]


@pytest.mark.parametrize(("text", "expected"), BAD)
def test_a_broken_file_gets_one_clear_line(tmp_path, capsys, text, expected):
    cfg = write(tmp_path, text)
    assert main(["run", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and expected in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


EDITS = [
    ("n_trials = 12", "n_trial = 12", "[options] n_trial: not an option of method 'random'; did you mean 'n_trials'?"),
    ('dataset = "orcl"', 'dataset = "orc"', "[data] dataset: unknown dataset 'orc'; did you mean 'orcl'?"),
    ("fast = { int = [3, 20] }", "fast = { int = [3] }", "[space] fast: int needs [low, high]"),
    ("fast = { int = [3, 20] }", "fasst = { int = [3, 20] }", "did you mean 'fast'?"),
    ("percents = 95", "percent = 95", "[sizer] percent: PercentSizer has no parameter 'percent'; did you mean"),
    ("n_simulations = 200", "n_simulation = 200", "[[analyzers]] #1 n_simulation: MonteCarlo has no parameter"),
    ("cash = 100000", 'cash = "lots"', "[broker] cash: 'lots' has the wrong type; give a number"),
    ("fromdate = 2005-01-01", 'fromdate = "January"', "[data] fromdate: 'January' is not a date"),
    ("[broker]", "[brokr]", "brokr: unknown key; did you mean 'broker'?"),
    ('storage = "runs.db"', 'storage = "missing/runs.db"', "[study] storage: folder"),
]


@pytest.mark.parametrize(("old", "new", "expected"), EDITS)
def test_a_wrong_key_is_named_with_its_fix(tmp_path, capsys, old, new, expected):
    text = doc_toml()
    assert old in text
    cfg = write(tmp_path, text.replace(old, new))
    assert main(["run", str(cfg), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err, err
    assert not (tmp_path / "runs.db").exists()  # rejected before any backtest


def test_report_and_show_refuse_files_that_are_not_study_files(tmp_path, capsys):
    foreign = tmp_path / "foreign.db"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE customers (id INTEGER, name TEXT)")
    con.commit()
    con.close()
    before = foreign.read_bytes()
    text = tmp_path / "notes.db"
    text.write_text("not a database\n")
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    cases = [(foreign, "a SQLite file of another program"), (text, "not SQLite"), (empty, "an empty file"),
             (tmp_path / "missing.db", "does not exist")]
    for path, why in cases:
        for cmd in (["report", str(path), "-o", str(tmp_path / "r.html")], ["show", str(path)]):
            assert main(cmd) == 2
            err = capsys.readouterr().err
            assert err.startswith("error: ") and why in err and len(err.strip().splitlines()) == 1, err
    assert foreign.read_bytes() == before and empty.read_bytes() == b""  # nothing written into them
    assert not (tmp_path / "r.html").exists()


def test_errors_in_a_subprocess_have_no_traceback(tmp_path):
    bad = write(tmp_path, '[study]\nstrategy = "sample_strategies:SmaCross"\n[space]\nfast = { int = [3, 20] }\n'
                          '[data]\ndataset = "orcl"\n[options]\nseeed = 1\n')
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run([sys.executable, "-m", "bt_optimize.cli", "run", str(bad)], capture_output=True, text=True,
                         env=env, timeout=120)
    assert res.returncode == 2 and "Traceback" not in res.stderr and "did you mean 'seed'?" in res.stderr
    res = subprocess.run([sys.executable, "-m", "bt_optimize.cli", "run"], capture_output=True, text=True, env=env,
                         timeout=120)
    assert res.returncode == 2 and "Traceback" not in res.stderr and "config" in res.stderr


def test_help_documents_every_option(capsys):
    import argparse

    for command in ("run", "report", "show", "demo", "datasets"):
        with pytest.raises(SystemExit) as ex:
            main([command, "--help"])
        assert ex.value.code == 0
        out = capsys.readouterr().out
        assert "usage: bt-optimize " + command in out
    # every option of every sub-command carries a help text
    from bt_optimize import cli

    parser = None

    def grab(self, *a, **k):  # noqa: ANN001 - capture the parser main() builds
        nonlocal parser
        parser = self
        raise SystemExit(0)

    orig = argparse.ArgumentParser.parse_args
    argparse.ArgumentParser.parse_args = grab
    try:
        with pytest.raises(SystemExit):
            cli.main(["show", "x"])
    finally:
        argparse.ArgumentParser.parse_args = orig
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in subs.choices.items():
        for action in sub._actions:
            assert action.help, f"bt-optimize {name}: option {action.dest} has no help text"


def test_stored_set_up_is_json_and_report_needs_a_study_name_when_several(tmp_path, capsys):
    text = doc_toml().replace("n_trials = 12", "n_trials = 3").replace("maxcpus = 2", "maxcpus = 1")
    text = text.replace("sensitivity = {", "# sensitivity = {")
    cfg = write(tmp_path, text)
    assert main(["run", str(cfg), "--quiet", "--no-report"]) == 0
    assert not (tmp_path / "report.html").exists()
    cfg2 = write(tmp_path, text.replace('name = "smacross-orcl"', 'name = "second"'), "second.toml")
    assert main(["run", str(cfg2), "--quiet", "--no-report"]) == 0
    capsys.readouterr()
    assert main(["report", str(tmp_path / "runs.db"), "-o", str(tmp_path / "r.html")]) == 2
    assert "pick one with --study NAME" in capsys.readouterr().err
    con = sqlite3.connect(tmp_path / "runs.db")
    configs = [json.loads(c) for (c,) in con.execute("SELECT config FROM studies")]
    con.close()
    assert [c["method"] for c in configs] == ["random", "random"]


def test_progress_shows_on_a_terminal_and_quiet_hides_it(tmp_path):
    import pty
    import select

    text = doc_toml().replace("n_trials = 12", "n_trials = 3").replace("maxcpus = 2", "maxcpus = 1")
    cfg = write(tmp_path, text.replace("sensitivity = {", "# sensitivity = {"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def run(*extra: str) -> str:
        import fcntl
        import struct
        import termios

        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # a terminal of 120 columns
        proc = subprocess.Popen([sys.executable, "-m", "bt_optimize.cli", "run", str(cfg), "--no-report", *extra],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave, env=env)
        os.close(slave)
        chunks = []
        while True:
            ready, _, _ = select.select([master], [], [], 1.0)
            if ready:
                try:
                    data = os.read(master, 4096)
                except OSError:
                    break
                if not data:
                    break
                chunks.append(data.decode(errors="replace"))
            elif proc.poll() is not None:
                break
        proc.wait(timeout=300)
        os.close(master)
        assert proc.returncode == 0
        return "".join(chunks)

    shown = run()
    assert "random smacross-orcl" in shown and "trial" in shown  # tqdm's bar: description and unit
    assert "random smacross-orcl" not in run("--quiet")


class _AverageCross(bt.Strategy):
    """Long while the close is above a moving average whose class is a parameter (a choice JSON cannot hold)."""

    params = (("average", bt.indicators.SMA), ("period", 20))

    def __init__(self) -> None:
        self.avg = self.p.average(self.data.close, period=self.p.period)

    def next(self) -> None:
        if not self.position and self.data.close[0] > self.avg[0]:
            self.buy()
        elif self.position and self.data.close[0] < self.avg[0]:
            self.close()


def test_show_prints_class_choices_by_name(tmp_path, capsys):
    import bt_optimize as bto

    cerebro = bto.Cerebro(maxcpus=1)
    cerebro.adddata(bto.datasets.load("orcl", fromdate="2012-01-01", todate="2012-12-31"))
    db = tmp_path / "runs.db"
    cerebro.optimize_grid(_AverageCross, average=[bt.indicators.SMA, bt.indicators.EMA], period=[10, 30],
                          storage=str(db), progress=False)
    assert main(["show", str(db), "--top", "4"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if re.match(r"^\s+#\d+", line)]
    assert len(rows) == 4
    for line in rows:
        point = json.loads(line[line.index("{"):])
        assert point["average"] in ("backtrader.indicators.sma.SMA", "backtrader.indicators.ema.EMA")
        assert point["period"] in (10, 30)
    assert "cat_index" not in "".join(rows)
