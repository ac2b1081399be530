"""Run by run.sh only (not collected by the suite): triggers undefined
behaviour in a sanitized library under pytest's default capture. run.sh
expects this run to fail and to leave a UBSan report in its log."""

import ctypes
import os


def test_signed_overflow_is_reported():
    lib = ctypes.CDLL(os.environ["UB_PROBE_LIB"])
    lib.overflow.argtypes = [ctypes.c_int]
    assert lib.overflow(1) < 0  # never reached under -fno-sanitize-recover
