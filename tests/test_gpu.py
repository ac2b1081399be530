"""Schedules on the GPU stream against the CPU stream, on a real Metal GPU
(Apple silicon); the whole file is skipped elsewhere (the Metal kernels are
emulated on the host in test_metal_emulation.py). On a GPU the result may differ
from the CPU by a few float32 ulps: the Metal compiler may contract a * b + c
into fma and its division need not round correctly."""

import mlx.core as mx
import mlx.optimizers as optim
import numpy as np
import pytest

from conftest import GPU_STEP_DTYPES
from mlx_cosine_decay import _ext, cosine_decay

if not mx.metal.is_available():
    pytest.skip("no Metal GPU: these tests need Apple silicon", allow_module_level=True)


def both(f):
    gpu = f(mx.gpu)
    cpu = f(mx.cpu)
    mx.eval(gpu, cpu)
    assert gpu.dtype == cpu.dtype and gpu.shape == cpu.shape
    return np.array(gpu.astype(mx.float32)), np.array(cpu.astype(mx.float32)), cpu.dtype


def assert_close(gpu, cpu, dtype):
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
def test_contiguous_steps_within_4_ulp_of_the_cpu(dtype, d):
    steps = step_array(dtype, d)
    gpu, cpu, out = both(lambda s: _ext.cosine_decay(steps, 0.1, d, 0.0, stream=s))
    assert_close(gpu, cpu, out)


@pytest.mark.parametrize("dtype", [mx.int32, mx.float16, mx.float32])
def test_strided_steps_and_array_params_within_4_ulp_of_the_cpu(dtype):
    base = mx.arange(0, 3 * 4 * 5 * 50, 7).astype(dtype)[: 3 * 4 * 5].reshape(5, 4, 3)
    steps = base.transpose(2, 1, 0)[:, ::-1]
    gpu, cpu, out = both(lambda s: _ext.cosine_decay(steps, 1.0, 200, 0.0, stream=s))
    assert_close(gpu, cpu, out)
    init = mx.array([1.0, -0.5, 0.75]).reshape(3, 1, 1)
    d = mx.array([7, 10**12, 300, 3 * 10**9]).reshape(4, 1)
    end = mx.array([0.0, 0.125, -2.0, 0.5, 3.0])
    gpu, cpu, out = both(lambda s: _ext.cosine_decay(steps, init, d, end, stream=s))
    assert_close(gpu, cpu, out)


def test_generated_values_within_4_ulp_of_the_cpu():
    init = mx.array([1.0, 0.5]).reshape(2, 1)
    d = mx.array([[1, 7, 10**6], [3 * 10**9, 2**40 + 3, 16]])
    end = mx.array([0.0, -0.25, 0.125])
    for start in (-20, 0, 10**6 - 4):
        gpu, cpu, out = both(
            lambda s: _ext.cosine_decay_values(init, d, end, 1000, start, stream=s))
        assert_close(gpu, cpu, out)


def test_schedule_on_the_default_gpu_stream_matches_the_reference():
    schedule = cosine_decay(1e-1, 1000)
    with mx.stream(mx.gpu):
        gpu = schedule(mx.arange(2000))
    cpu = optim.cosine_decay(1e-1, 1000)(mx.arange(2000))
    assert gpu.dtype == cpu.dtype == mx.float32
    np.testing.assert_allclose(np.array(gpu), np.array(cpu), rtol=1e-5, atol=1e-7)


def test_float64_is_rejected_on_the_gpu():
    with pytest.raises(ValueError, match="float64"):
        _ext.cosine_decay(mx.array([1.0], mx.float64), 1.0, 10, stream=mx.gpu)
