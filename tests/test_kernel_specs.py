"""What the GPU hosts (Metal and CUDA) refuse to name or instantiate: one
check of the dtype rules both share (csrc/common/kernel_spec.cpp) and of each
backend's variant rule. The names themselves are checked per backend in
test_metal_compile_check.py and test_cuda_kernels.py."""

import mlx.core as mx
import pytest

from mlx_cosine_decay import _ext

# (hook, a variant the backend has no kernel for, what its error says)
HOOKS = {
    "metal": (_ext._metal_library, (True, True, True, mx.int64), "contiguous"),
    "cuda": (_ext._cuda_kernel, (True, False, True, mx.int32), "scalar parameters"),
}


@pytest.mark.parametrize("backend", HOOKS)
def test_kernel_hooks_reject_float64_other_outputs_and_missing_variants(backend):
    hook, bad_variant, message = HOOKS[backend]
    with pytest.raises(ValueError, match="float64"):
        hook(True, False, False, mx.float64, mx.float32, False)
    with pytest.raises(ValueError, match="float32, float16 or bfloat16"):
        hook(True, False, False, mx.int32, mx.float64, False)
    with pytest.raises(ValueError, match="float32, float16 or bfloat16"):
        hook(False, False, False, mx.int32, mx.int32, False)
    with pytest.raises(ValueError, match=message):
        hook(*bad_variant, mx.float32, False)
