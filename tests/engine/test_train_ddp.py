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
def torchrun_worker(folder: Path, *args: str) -> list[str]:
    """Run ddp_worker.py in 2 processes; the line each rank wrote, rank 0 first, after checking both saved the
    same weights and buffers and only rank 0 wrote a run folder."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(HERE.parent.parent)]), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([str(TORCHRUN), "--standalone", "--nproc_per_node=2", str(HERE / "ddp_worker.py"),
                           str(folder), *args], env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [(folder / f"rank{rank}.txt").read_text() for rank in (0, 1)]
    assert len(lines) == 2 and all("world 2" in line for line in lines)
    assert lines[0].split("steps")[1] == lines[1].split("steps")[1]  # same steps and the same (all-reduced) val loss
    a, b = load_file(str(folder / "rank0.safetensors")), load_file(str(folder / "rank1.safetensors"))
    assert set(a) == set(b)
    for key in a:
        assert torch.equal(a[key], b[key]), key
    runs = list((folder / "runs").iterdir())
    assert len(runs) == 1 and (runs[0] / "events.jsonl").exists()
    return lines


@pytest.mark.slow
@pytest.mark.skipif(not TORCHRUN.exists(), reason="torchrun is not installed next to this Python")
def test_two_process_torchrun_ends_with_identical_weights(tmp_path):
    lines = torchrun_worker(tmp_path)
    steps = int(lines[0].split("steps ")[1].split()[0])
    assert steps == 3 * 4  # 105 training samples / 2 ranks / batch 16 = 4 batches per epoch


@pytest.mark.slow
@pytest.mark.skipif(not TORCHRUN.exists(), reason="torchrun is not installed next to this Python")
def test_a_gan_trains_under_torchrun_with_both_networks_identical_on_every_rank(tmp_path):
    lines = torchrun_worker(tmp_path, "gan")
    steps = int(lines[0].split("steps ")[1].split()[0])
    assert steps == 2 * 10  # 1257 training digits / 2 ranks / batch 64 = 10 batches per epoch
    weights = load_file(str(tmp_path / "rank0.safetensors"))
    assert any(key.endswith("running_mean") for key in weights)  # the BatchNorm statistics were compared too


@pytest.mark.slow
@pytest.mark.skipif(not TORCHRUN.exists(), reason="torchrun is not installed next to this Python")
def test_progressive_unfreezing_under_torchrun_keeps_the_ranks_identical(tmp_path):
    torchrun_worker(tmp_path, "finetune")
