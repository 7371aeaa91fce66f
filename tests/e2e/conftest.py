"""End-to-end tests import the PyTorch twins of the examples from bench/torch_models.py
(the benchmark owns them and must run without the test suite; the tests reuse them so
there is one copy). ``python -m pytest`` already puts the repository root on ``sys.path``
(as ``tests.golden_support`` relies on); this makes ``import bench.torch_models`` work
however pytest is started."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
