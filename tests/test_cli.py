"""The command line, end to end: `python -m mlx_cosine_decay ...` in a
subprocess, its files read back with NumPy; dispatch details in-process."""

import importlib.util
import itertools
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import mlx.core as mx
import numpy as np
import pytest

import mlx_cosine_decay as mcd
from mlx_cosine_decay import _grid, _npy, cli

HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None


def run(*args, env=None, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "mlx_cosine_decay", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=cwd,
    )


def per_configuration(init, decay_steps, end, num_steps, start):
    rows = [
        np.asarray(mcd.cosine_decay(i, d, e)(mx.arange(start, start + num_steps)))
        for i, d, e in itertools.product(init, decay_steps, end)
    ]
    return np.stack(rows).reshape(-1, num_steps)


GRID = ["--init", "0.1,0.01", "--decay-steps", "10,1e3", "--end", "0,1e-4"]


def test_eval_writes_the_grid(tmp_path):
    out = tmp_path / "values.npy"
    r = run("eval", *GRID, "--num-steps", 1500, "--start", -7, "--out", out)
    assert r.returncode == 0, r.stderr
    got = np.load(out)
    assert got.dtype == np.float32 and got.shape == (8, 1500)
    want = per_configuration([0.1, 0.01], [10, 1000], [0.0, 1e-4], 1500, -7)
    np.testing.assert_array_equal(got, want)
    # The legend names every row in itertools.product order.
    assert "3: init=0.1, decay_steps=1000, end=0.0001" in r.stdout
    assert "7: init=0.01, decay_steps=1000, end=0.0001" in r.stdout


@pytest.mark.parametrize(
    "budget",
    ["1000", "20K"],  # pieces of single rows; blocks of whole rows
)
def test_eval_chunked_equals_whole(tmp_path, budget):
    whole, chunked = tmp_path / "whole.npy", tmp_path / "chunked.npy"
    args = [*GRID, "--num-steps", 3001, "--start", 5]
    assert run("eval", *args, "--out", whole, "-q").returncode == 0
    r = run("eval", *args, "--out", chunked, "--memory-budget", budget)
    assert r.returncode == 0, r.stderr
    assert "100%" in r.stderr  # the progress report (tqdm or the plain one)
    np.testing.assert_array_equal(np.load(chunked), np.load(whole))
    assert chunked.stat().st_size == whole.stat().st_size


def test_eval_single_config_and_zero_steps(tmp_path):
    out = tmp_path / "v.npy"
    assert (
        run("eval", "--init", 1, "--decay-steps", 4, "--num-steps", 6, "--out", out).returncode == 0
    )
    np.testing.assert_allclose(
        np.load(out), [[1.0, 0.8535534, 0.5, 0.1464466, 0.0, 0.0]], atol=1e-7
    )
    assert run("eval", *GRID, "--num-steps", 0, "--out", out).returncode == 0
    assert np.load(out).shape == (8, 0)


def test_npy_writer_in_process(tmp_path):
    # Pieces that split rows unevenly, blocks of rows cut at the end, one piece.
    configs = [(0.1, 5, 0.0), (0.2, 50, 1e-3), (0.3, 500, 0.0)]
    schedule = mcd.cosine_decay(
        mx.array([0.1, 0.2, 0.3]), mx.array([5, 50, 500]), mx.array([0.0, 1e-3, 0.0])
    )
    want = np.asarray(schedule.values(1001, -3))
    for max_values in [1, 7, 1000, 1001, 2002, 10**6]:
        path = tmp_path / f"{max_values}.npy"
        with open(path, "wb") as f:
            _npy.write_npy(f, configs, 1001, -3, max_values)
        np.testing.assert_array_equal(np.load(path), want)


def test_npy_header_is_aligned():
    for shape in [(1, 0), (1000, 100000), (2**40, 2**20)]:
        header = _npy.npy_header(shape, "<f4")
        assert len(header) % 64 == 0 and header.startswith(b"\x93NUMPY\x01\x00")


ERRORS = [
    (["--init", "abc"], "argument --init: 'abc' is not a number"),
    (["--init", "0.1,,0.2"], "argument --init: empty item"),
    (["--init", "inf"], "is not a finite number"),
    (["--decay-steps", "0"], "decay_steps must be greater than 0, but got 0."),
    (["--decay-steps", "10,-5"], "decay_steps must be greater than 0, but got -5."),
    (["--decay-steps", "2.5"], "argument --decay-steps: '2.5' is not an integer"),
    (["--decay-steps", "ten"], "argument --decay-steps: 'ten' is not an integer"),
    (["--num-steps", "-1"], "argument --num-steps: must be non-negative, but got -1"),
    (["--num-steps", "1.5"], "argument --num-steps: '1.5' is not an integer"),
    (["--end", "x"], "argument --end: 'x' is not a number"),
    (["--memory-budget", "lots"], "argument --memory-budget: 'lots' is not a size"),
]


@pytest.mark.parametrize("command", ["eval", "plot"])
@pytest.mark.parametrize("bad,message", ERRORS[:9], ids=[e[1][:30] for e in ERRORS[:9]])
def test_bad_arguments(tmp_path, command, bad, message):
    out = tmp_path / "out"
    args = {"--init": "0.1", "--decay-steps": "10", "--num-steps": "5", "--out": str(out)}
    args.update(zip(bad[::2], bad[1::2], strict=True))
    r = run(command, *itertools.chain(*args.items()))
    assert r.returncode == 2
    assert f"mlx-cosine-decay {command}: error: " in r.stderr
    assert message in r.stderr
    assert "Traceback" not in r.stderr
    assert not out.exists()


@pytest.mark.parametrize("bad,message", ERRORS[9:], ids=[e[1][:30] for e in ERRORS[9:]])
def test_bad_eval_arguments(tmp_path, bad, message):
    r = run(
        "eval", "--init", 0.1, "--decay-steps", 10, "--num-steps", 5, "--out", tmp_path / "o", *bad
    )
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("where", ["missing-dir", "a-directory"])
@pytest.mark.parametrize("command", ["eval", "plot"])
def test_unwritable_output(tmp_path, command, where):
    out = tmp_path / "missing" / "v.npy" if where == "missing-dir" else tmp_path
    r = run(command, "--init", 0.1, "--decay-steps", 10, "--num-steps", 5, "--out", out)
    if command == "plot" and not HAS_MATPLOTLIB:
        assert r.returncode == 2 and "matplotlib is not installed" in r.stderr
        return
    assert r.returncode == 2
    assert "argument --out: cannot write" in r.stderr
    assert "Traceback" not in r.stderr


def test_missing_required_argument():
    r = run("eval", "--init", 0.1)
    assert r.returncode == 2 and "required" in r.stderr


@pytest.mark.skipif(not HAS_MATPLOTLIB, reason="matplotlib not installed")
@pytest.mark.parametrize("extra", [[], ["--log", "--num-steps", "50", "--start", "-5"]])
def test_plot_writes_a_png(tmp_path, extra):
    out = tmp_path / "schedule.png"
    r = run("plot", *GRID, "--out", out, *extra)
    assert r.returncode == 0, r.stderr
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 1000
    assert "8 curve(s)" in r.stdout


def without(tmp_path, module):
    """An environment in which `module` fails to import (a package of that
    name that raises ImportError stands in for none)."""
    fake = tmp_path / "fake" / module
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(f"raise ImportError('no {module} here')\n")
    path = [str(fake.parent), os.environ.get("PYTHONPATH", "")]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, path)))


def test_plot_without_matplotlib(tmp_path):
    out = tmp_path / "p.png"
    r = run(
        "plot",
        "--init",
        0.1,
        "--decay-steps",
        10,
        "--out",
        out,
        env=without(tmp_path, "matplotlib"),
    )
    assert r.returncode == 2
    assert "matplotlib is not installed" in r.stderr and "[plot]" in r.stderr
    assert "Traceback" not in r.stderr
    assert not out.exists()


def test_eval_progress_without_tqdm(tmp_path):
    out = tmp_path / "v.npy"
    r = run(
        "eval",
        *GRID,
        "--num-steps",
        1000,
        "--memory-budget",
        2000,
        "--out",
        out,
        env=without(tmp_path, "tqdm"),
    )
    assert r.returncode == 0, r.stderr
    assert "mlx-cosine-decay eval: 100% (8,000 / 8,000 values)" in r.stderr
    np.testing.assert_array_equal(
        np.load(out), per_configuration([0.1, 0.01], [10, 1000], [0.0, 1e-4], 1000, 0)
    )


def test_demo_small():
    r = run("demo", "--num-steps", 20000, "--repeat", 1)
    assert r.returncode == 0, r.stderr
    assert "mlx.optimizers.cosine_decay" in r.stdout and "speed-up" in r.stdout
    assert "max|x - truth|" in r.stdout  # numpy is installed with the tests


def test_demo_is_the_default(monkeypatch):
    seen = []
    monkeypatch.setattr(cli, "_cmd_demo", lambda parser, args: seen.append(args) or 0)
    assert cli.main([]) == 0
    assert seen and seen[0].num_steps == 10_000_000 and seen[0].command == "demo"


def test_cmake_dir(capsys):
    assert cli.main(["--cmake-dir"]) == 0
    assert Path(capsys.readouterr().out.strip()).is_dir()


def test_console_script():
    script = shutil.which("mlx-cosine-decay", path=os.path.dirname(sys.executable))
    if script is None:
        pytest.skip("the package is not installed with its console script")
    r = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "demo" in r.stdout and "eval" in r.stdout


# --- failures leave the output as it was ----------------------------------

KEEP = b"an existing file that a failed run must not touch"


def keep_file(tmp_path):
    out = tmp_path / "keep.npy"
    out.write_bytes(KEEP)
    return out


def assert_untouched(out):
    assert out.read_bytes() == KEEP
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name]  # no temporary left


@pytest.mark.parametrize(
    "bad,message",
    [
        (
            ["--start", "9223372036854775807"],
            "argument --start: start + num_steps must be in int64",
        ),
        (["--start=-1e30"], "argument --start: start + num_steps must be in int64"),
        (["--decay-steps", "1e30"], "argument --decay-steps: decay_steps must fit in int64"),
        (["--decay-steps", str(2**63)], "argument --decay-steps: decay_steps must fit in int64"),
        (["--decay-steps", str(2**62)], "argument --decay-steps: decay_steps must be less than"),
        (["--decay-steps", "10,0"], "argument --decay-steps: decay_steps must be greater than 0"),
    ],
    ids=["start-overflow", "start-underflow", "1e30", "2**63", "2**62", "zero"],
)
@pytest.mark.parametrize("command", ["eval", "plot"])
def test_argument_error_is_one_line_and_keeps_the_file(tmp_path, command, bad, message):
    out = keep_file(tmp_path)
    r = run(command, "--init", 0.1, "--decay-steps", 10, "--num-steps", 5, "--out", out, *bad)
    assert r.returncode == 2
    assert r.stderr.splitlines() == [
        f"mlx-cosine-decay {command}: error: {r.stderr.split('error: ', 1)[1].strip()}"
    ]
    assert message in r.stderr and "Traceback" not in r.stderr
    assert_untouched(out)


@pytest.mark.parametrize(
    "bad,message",
    [
        (["--decay-steps", "1e30"], "argument --decay-steps: decay_steps must fit in int64"),
        (["--num-steps", "1e10"], "argument --num-steps: must be less than 2**31"),
        (["--repeat", "0"], "argument --repeat: must be at least 1"),
    ],
)
def test_demo_argument_error(bad, message):
    r = run("demo", "--num-steps", 10, *bad)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1
    assert message in r.stderr


def test_write_error_keeps_the_file(tmp_path, monkeypatch, capsys):
    out = keep_file(tmp_path)

    def write_then_fail(f, *args, **kwargs):
        f.write(b"\x93NUMPY partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_grid, "write_npy", write_then_fail)
    code = cli.main(
        ["eval", "--init", "0.1", "--decay-steps", "10", "--num-steps", "5", "--out", str(out)]
    )
    assert code == 1
    assert "No space left on device" in capsys.readouterr().err
    assert_untouched(out)


def test_replaced_file_keeps_its_mode_and_a_new_one_gets_the_umask(tmp_path):
    out = keep_file(tmp_path)
    out.chmod(0o640)
    args = ["eval", "--init", 0.1, "--decay-steps", 10, "--num-steps", 5, "-q"]
    assert run(*args, "--out", out).returncode == 0
    assert np.load(out).shape == (1, 5) and out.stat().st_mode & 0o777 == 0o640
    new = tmp_path / "new.npy"
    umask = os.umask(0o022)
    try:
        assert run(*args, "--out", new).returncode == 0
    finally:
        os.umask(umask)
    assert new.stat().st_mode & 0o777 == 0o644


# A run that stops after its first piece is written and tells the test, which
# then sends the signal: the file is mid-write when the signal arrives.
STOP_MID_WRITE = """
import sys, time
from mlx_cosine_decay import _grid, cli

def stop(self, n):
    print("writing", flush=True)
    time.sleep(60)

_grid.Progress.__call__ = stop
raise SystemExit(cli.main(sys.argv[1:]))
"""


@pytest.mark.parametrize("sig,code", [("SIGINT", 130), ("SIGTERM", 143)])
@pytest.mark.parametrize("existing", [True, False], ids=["existing", "new"])
def test_signal_mid_write_leaves_no_partial_file(tmp_path, sig, code, existing):
    out = keep_file(tmp_path) if existing else tmp_path / "new.npy"
    args = [*GRID, "--num-steps", 100_000, "--memory-budget", "64K", "--out", out]
    proc = subprocess.Popen(
        [sys.executable, "-c", STOP_MID_WRITE, "eval", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A shell's background job starts with SIGINT ignored, and Python then
        # keeps it ignored: give the child the default a user's terminal does.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert proc.stdout.readline() == "writing\n"
        assert len(list(tmp_path.iterdir())) == 1 + existing  # the temporary file
        proc.send_signal(getattr(signal, sig))
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == code
    assert "Traceback" not in err
    if existing:
        assert_untouched(out)
    else:
        assert list(tmp_path.iterdir()) == []


def test_output_through_a_symlink_replaces_its_target(tmp_path):
    target = keep_file(tmp_path)
    link = tmp_path / "link.npy"
    link.symlink_to(target.name)
    args = ["--init", 0.1, "--decay-steps", 10, "--num-steps", 5, "-q", "--out", link]
    assert run("eval", *args).returncode == 0
    assert link.is_symlink() and np.load(target).shape == (1, 5)


def test_failed_final_flush_keeps_the_file(tmp_path, monkeypatch, capsys):
    out = keep_file(tmp_path)

    def fsync_fails(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(_grid.os, "fsync", fsync_fails)
    args = ["--init", "0.1", "--decay-steps", "10", "--num-steps", "5", "--out", str(out)]
    assert cli.main(["eval", *args]) == 1
    assert "Input/output error" in capsys.readouterr().err
    assert_untouched(out)
