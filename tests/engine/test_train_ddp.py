"""`torchrun --nproc_per_node=2` on CPU (gloo): DDP keeps both ranks' weights identical; rank 0 alone writes the run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

HERE = Path(__file__).parent
TORCHRUN = Path(sys.executable).parent / "torchrun"


@pytest.mark.slow
@pytest.mark.skipif(not TORCHRUN.exists(), reason="torchrun is not installed next to this Python")
def test_two_process_torchrun_ends_with_identical_weights(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(HERE.parent.parent)]), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([str(TORCHRUN), "--standalone", "--nproc_per_node=2", str(HERE / "ddp_worker.py"),
                           str(tmp_path)], env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = sorted(line for line in proc.stdout.splitlines() if line.startswith("rank "))
    assert len(lines) == 2 and all("world 2" in line for line in lines)
    assert lines[0].split("steps")[1] == lines[1].split("steps")[1]  # same steps and the same (all-reduced) val loss
    a, b = load_file(str(tmp_path / "rank0.safetensors")), load_file(str(tmp_path / "rank1.safetensors"))
    assert set(a) == set(b)
    for key in a:
        assert torch.equal(a[key], b[key]), key
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1 and (runs[0] / "events.jsonl").exists()
    steps = int(lines[0].split("steps ")[1].split()[0])
    assert steps == 3 * 4  # 105 training samples / 2 ranks / batch 16 = 4 batches per epoch
