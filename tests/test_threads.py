"""The CPU kernel's threads: set_num_threads validates, and a system that
refuses to start threads gives fewer threads (or a Python exception), never a
process abort."""

import resource
import subprocess
import sys

import pytest

import mlx_cosine_decay as mcd


@pytest.mark.parametrize("n", [-1, 257, 2**31 - 1])
def test_set_num_threads_rejects_out_of_range(n, restore_threads):
    with pytest.raises(ValueError, match=r"\[cosine_decay\] num_threads must be between 0"):
        mcd.set_num_threads(n)


def test_set_num_threads_accepts_the_cap(restore_threads):
    mcd.set_num_threads(256)
    assert mcd.num_threads() == 256


SCRIPT = """
import mlx.core as mx, numpy as np, mlx_cosine_decay as m
m.set_num_threads(64)
out = m.cosine_decay(0.1, 1000)(mx.arange(10**7))
mx.eval(out)
want = m.cosine_decay(0.1, 1000)(mx.arange(1000, 1100))
assert np.array_equal(np.array(out[1000:1100]), np.array(want))
print("ok")
"""


def _limits():
    # 1 GiB thread stacks (glibc sizes them from RLIMIT_STACK) in a 6 GB
    # address space: only a few of the 64 threads can start.
    resource.setrlimit(resource.RLIMIT_STACK, (2**30, 2**30))
    resource.setrlimit(resource.RLIMIT_AS, (6 * 10**9, 6 * 10**9))


@pytest.mark.skipif(sys.platform != "linux", reason="glibc thread stacks from RLIMIT_STACK")
def test_threads_that_cannot_start_do_not_abort():
    r = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        preexec_fn=_limits,
        capture_output=True,
        text=True,
        timeout=300,
    )
    # A Python exception would be acceptable; an abort (-6, 134) is not.
    assert r.returncode == 0, (r.returncode, r.stderr[-2000:])
    assert r.stdout.strip() == "ok"
