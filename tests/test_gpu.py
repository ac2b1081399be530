"""Schedules on the GPU stream against the CPU stream, on a GPU that the op
serves: Metal (Apple silicon), or CUDA with our plugin loaded; the whole file
is skipped elsewhere (the kernels are emulated on the host in
test_emulation.py).

On Metal the result may differ from the CPU by a few float32 ulps: the shader
computes in float32, the Metal compiler may contract a * b + c into fma and
its division need not round correctly. On CUDA the kernels compute as the CPU
does (double for float32 results, --fmad=false), so results are the CPU's bit
for bit (NaNs by position)."""

import mlx.core as mx
import mlx.optimizers as optim
import numpy as np
import pytest
from conftest import GPU_STEP_DTYPES

from mlx_cosine_decay import _ext, cosine_decay

CUDA = mx.cuda.is_available() and _ext._cuda_plugin_loaded()
if not (mx.metal.is_available() or CUDA):
    pytest.skip(
        "no GPU that the op serves: needs Apple silicon, or CUDA MLX with our plugin",
        allow_module_level=True,
    )


def both(f):
    gpu = f(mx.gpu)
    cpu = f(mx.cpu)
    mx.eval(gpu, cpu)
    assert gpu.dtype == cpu.dtype and gpu.shape == cpu.shape
    return np.array(gpu.astype(mx.float32)), np.array(cpu.astype(mx.float32)), cpu.dtype


def assert_close(gpu, cpu, dtype):
    if CUDA:  # bit for bit (both widened to float32 exactly)
        nan = np.isnan(cpu)
        assert np.array_equal(np.isnan(gpu), nan)
        assert np.array_equal(gpu[~nan].view(np.uint32), cpu[~nan].view(np.uint32))
        return
    # A few ulps of the output type (the CPU result is the reference).
    ulps = {mx.float32: 2.0**-23, mx.float16: 2.0**-10, mx.bfloat16: 2.0**-7}[dtype]
    np.testing.assert_allclose(gpu, cpu, rtol=4 * ulps, atol=1e-30, equal_nan=True)


def step_array(dtype, d):
    """Steps around 0, D/2, D, 2D and -D, clipped to what the dtype holds."""
    v = np.concatenate([c + np.arange(-64, 64) for c in (0, d // 2, d, 2 * d, -d)])
    if dtype == mx.bool_:
        return mx.array(np.array([False, True]))
    if dtype in (mx.float16, mx.bfloat16, mx.float32):
        return mx.array((v + 0.25).astype(np.float32)).astype(dtype)
    info = np.iinfo(np.dtype(str(dtype).split(".")[-1]))
    v = np.unique(v[(v >= info.min) & (v <= info.max)])
    return mx.array(v).astype(dtype)


@pytest.mark.parametrize("dtype", GPU_STEP_DTYPES, ids=str)
@pytest.mark.parametrize("d", [7, 1000, 10**6, 3 * 10**9])
def test_contiguous_steps_match_the_cpu(dtype, d):
    steps = step_array(dtype, d)
    gpu, cpu, out = both(lambda s: _ext.cosine_decay(steps, 0.1, d, 0.0, stream=s))
    assert_close(gpu, cpu, out)


@pytest.mark.parametrize("dtype", [mx.int32, mx.float16, mx.float32])
def test_strided_steps_and_array_params_match_the_cpu(dtype):
    base = mx.arange(0, 3 * 4 * 5 * 50, 7).astype(dtype)[: 3 * 4 * 5].reshape(5, 4, 3)
    steps = base.transpose(2, 1, 0)[:, ::-1]
    gpu, cpu, out = both(lambda s: _ext.cosine_decay(steps, 1.0, 200, 0.0, stream=s))
    assert_close(gpu, cpu, out)
    init = mx.array([1.0, -0.5, 0.75]).reshape(3, 1, 1)
    d = mx.array([7, 10**12, 300, 3 * 10**9]).reshape(4, 1)
    end = mx.array([0.0, 0.125, -2.0, 0.5, 3.0])
    gpu, cpu, out = both(lambda s: _ext.cosine_decay(steps, init, d, end, stream=s))
    assert_close(gpu, cpu, out)


def test_generated_values_match_the_cpu():
    init = mx.array([1.0, 0.5]).reshape(2, 1)
    d = mx.array([[1, 7, 10**6], [3 * 10**9, 2**40 + 3, 16]])
    end = mx.array([0.0, -0.25, 0.125])
    for start in (-20, 0, 10**6 - 4):
        gpu, cpu, out = both(
            lambda s, start=start: _ext.cosine_decay_values(init, d, end, 1000, start, stream=s)
        )
        assert_close(gpu, cpu, out)


def test_schedule_on_the_default_gpu_stream_matches_the_reference():
    schedule = cosine_decay(1e-1, 1000)
    with mx.stream(mx.gpu):
        gpu = schedule(mx.arange(2000))
    cpu = optim.cosine_decay(1e-1, 1000)(mx.arange(2000))
    assert gpu.dtype == cpu.dtype == mx.float32
    np.testing.assert_allclose(np.array(gpu), np.array(cpu), rtol=1e-5, atol=1e-7)


def test_float64_is_rejected_on_the_gpu():
    # When the node is made (MLX) or at the latest when it is evaluated.
    with pytest.raises(ValueError, match="float64"):
        mx.eval(_ext.cosine_decay(mx.array([1.0], mx.float64), 1.0, 10, stream=mx.gpu))


def test_gpu_stream_stays_on_the_gpu():
    # resolve_stream sends a GPU stream to the CPU only where no GPU kernel
    # serves the op (CUDA MLX without our plugin).
    assert _ext._node_device(_ext.cosine_decay(mx.arange(10), 1.0, 10, 0.0, stream=mx.gpu)) == "gpu"
    with mx.stream(mx.gpu):
        assert _ext._node_device(cosine_decay(1.0, 10)(mx.arange(10))) == "gpu"


@pytest.mark.parametrize(
    "step,out",
    [
        (mx.int32, mx.float32),
        (mx.uint8, mx.float32),
        (mx.int64, mx.float32),
        (mx.float32, mx.float32),
        (mx.float16, mx.float16),
        (mx.float16, mx.float32),
        (mx.bfloat16, mx.bfloat16),
        (mx.bfloat16, mx.float32),
    ],
)
def test_array_params_every_output_dtype(step, out):
    steps = step_array(step, 1000).reshape(-1, 1)
    init = mx.array([1.0, -0.5, 0.75, 3.0], out)
    d = mx.array([7, 1000, 10**12, 3 * 10**9])
    end = mx.array([0.0, 0.125, -2.0, 0.5], out)
    gpu, cpu, dtype = both(lambda s: _ext.cosine_decay(steps, init, d, end, stream=s))
    assert dtype == out
    assert_close(gpu, cpu, dtype)


def test_values_scalar_params_and_donation():
    gpu, cpu, dtype = both(
        lambda s: _ext.cosine_decay_values(0.1, 1000, 1e-3, 5000, -2500, stream=s)
    )
    assert_close(gpu, cpu, dtype)
    # A donated step buffer (int32 -> float32) becomes the output.
    steps = mx.arange(-3000, 3000, dtype=mx.int32)
    want = _ext.cosine_decay(steps, 0.1, 1000, 0.0, stream=mx.cpu)
    mx.eval(want)
    got = _ext.cosine_decay(mx.arange(-3000, 3000, dtype=mx.int32), 0.1, 1000, 0.0, stream=mx.gpu)
    mx.eval(got)
    assert_close(np.array(got), np.array(want), mx.float32)


def test_64_bit_indices():
    # More than 2^32 elements: the kernels with 64-bit indices (4.3 GB of
    # uint8 steps, 17 GB of float32 results); the tail is checked.
    n = 2**32 + 1000
    steps = (mx.arange(n, dtype=mx.uint32) % 251).astype(mx.uint8)
    gpu = _ext.cosine_decay(steps, 1.0, 200, 0.0, stream=mx.gpu)
    tail = gpu[-4096:]
    want = _ext.cosine_decay(steps[-4096:], 1.0, 200, 0.0, stream=mx.cpu)
    mx.eval(tail, want)
    assert_close(np.array(tail), np.array(want), mx.float32)


@pytest.mark.parametrize("exponent", [1.0, 2.0])
def test_family_nodes_and_results(exponent):
    # Every family value runs on the GPU; on CUDA bit for bit as the CPU (the
    # core's portable pow and log), in the Metal shader within its float
    # error. The step slopes of the transforms run on the CPU on CUDA (sin
    # and cos in CUDA's double are not glibc's).
    steps = mx.arange(-5, 3000)
    kw = dict(warmup_steps=100, warmup_init=1e-3, exponent=exponent)
    warmup = _ext.cosine_decay(steps, 0.1, 1000, 1e-4, **kw, stream=mx.gpu)
    restarts = _ext.cosine_decay_restarts(steps, 0.1, 100, 1e-4, t_mul=1.5, stream=mx.gpu)
    assert _ext._node_device(warmup) == "gpu"
    assert _ext._node_device(restarts) == "gpu"
    want = _ext.cosine_decay(steps, 0.1, 1000, 1e-4, **kw, stream=mx.cpu)
    want_restarts = _ext.cosine_decay_restarts(steps, 0.1, 100, 1e-4, t_mul=1.5, stream=mx.cpu)
    for got, cpu in ((warmup, want), (restarts, want_restarts)):
        got, cpu = np.array(got), np.array(cpu)
        if CUDA:
            assert np.array_equal(got.view(np.uint32), cpu.view(np.uint32))
        else:  # pow in float32: a few ulps (see test_emulation.py)
            np.testing.assert_allclose(got, cpu, rtol=2e-6, atol=1e-9)
    slope = mx.grad(lambda s: _ext.cosine_decay(s, 0.1, 1000, 1e-4, **kw, stream=mx.gpu).sum())(
        steps.astype(mx.float32)
    )
    want_slope = mx.grad(
        lambda s: _ext.cosine_decay(s, 0.1, 1000, 1e-4, **kw, stream=mx.cpu).sum()
    )(steps.astype(mx.float32))
    np.testing.assert_allclose(np.array(slope), np.array(want_slope), rtol=1e-5, atol=1e-12)
