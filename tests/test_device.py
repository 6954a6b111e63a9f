"""Devices: the server's thread policy (one thread a run; LAB_THREADS gives a run alone more, and
company drops it to one), asking for CUDA where there is none (a one-line error on the CLI, a notice on the page),
and, where a GPU exists, the engine on CUDA against the CPU."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from core import cli, device, mlp, registry
from core.contract import ConfigError
from tests import quick

NO_CUDA = "error: device: cuda was asked for, but this machine has no CUDA GPU; allowed: cpu\n"

# ---------------------------------------------------------------------------------------------
# the thread policy


def test_lab_threads_gives_a_lone_run_its_threads_and_company_drops_it_to_one(monkeypatch):
    monkeypatch.setenv("LAB_THREADS", "2")
    entered, arrived, measured, leave = threading.Event(), threading.Event(), threading.Event(), threading.Event()
    seen = []

    def first() -> None:
        with device.computing() as alone:
            seen.append(alone)
            entered.set()
            arrived.wait()
            seen.append(device.rebalance())  # its next progress report, with company
            measured.set()
            leave.wait()
            seen.append(device.rebalance())  # the company has gone

    def second() -> None:
        with device.computing() as threads:
            seen.append(threads)
            arrived.set()
            measured.wait()
        leave.set()

    workers = [threading.Thread(target=first), threading.Thread(target=second)]
    workers[0].start()
    entered.wait()
    workers[1].start()
    for w in workers:
        w.join()
    assert seen == [2, 1, 1, 2]
    assert torch.get_num_threads() == 2  # the policy reached torch, not only its own count


def test_a_run_alone_gets_one_thread_by_default(monkeypatch):
    """The default from bench/lone_run_threads.py: with passively waiting OpenMP threads, every
    page's defaults together ran faster on one thread than on every core."""
    monkeypatch.setenv("LAB_THREADS", "2")
    device.serve_threads()
    assert torch.get_num_threads() == 2
    monkeypatch.delenv("LAB_THREADS")
    with device.computing() as threads:
        assert threads == torch.get_num_threads() == 1


def test_the_count_is_right_after_many_threads_come_and_go(monkeypatch):
    monkeypatch.delenv("LAB_THREADS", raising=False)
    inside, seen = threading.Barrier(8), []

    def run() -> None:
        with device.computing():
            inside.wait()
            seen.append(device.rebalance())
            inside.wait()

    workers = [threading.Thread(target=run) for _ in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert seen == [1] * 8
    monkeypatch.setenv("LAB_THREADS", "2")  # the last one gone: a lone run gets its threads again
    assert device.serve_threads() == 2


# ---------------------------------------------------------------------------------------------
# CUDA asked for where there is none


@pytest.fixture
def no_cuda(monkeypatch):
    """This machine as one without CUDA, whatever it has."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def test_resolve_device_refuses_cuda_without_it_in_one_line(no_cuda):
    with pytest.raises(ConfigError) as err:
        device.resolve_device("cuda")
    assert f"error: {err.value}\n" == NO_CUDA
    assert device.resolve_device(None).type == device.resolve_device("cpu").type == "cpu"


def test_cli_asking_for_cuda_without_it_is_one_line_and_status_2(no_cuda, capsys):
    sets = [f"{k}={v}" for k, v in quick.QUICK["optimization"].items()]
    assert cli.main(["run", "optimization", "--set", *sets, "--device", "cuda"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == NO_CUDA


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: the command would run")
def test_python_m_core_asking_for_cuda_without_it_exits_2_without_a_traceback():
    """The issue's command, as a user types it (it used to end in an AssertionError traceback)."""
    done = subprocess.run([sys.executable, "-m", "core", "run", "optimization", "--device", "cuda"],
                          cwd=Path(quick.APP).parent, capture_output=True, text=True, timeout=300)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", NO_CUDA)


def test_the_page_says_it_runs_on_the_cpu_when_there_is_no_cuda(no_cuda, one_thread):
    from ui.page import NO_CUDA_NOTICE

    exp = registry.get("optimization")
    at = quick.open_page(exp, quick.overrides(exp))
    quick.assert_drew_a_chart(at)
    assert NO_CUDA_NOTICE in [c.value for c in at.caption]
    assert {m.label: m.value for m in at.metric}["Device"] == "cpu"
    assert any(c.value.startswith("Device: **cpu") for c in at.sidebar.caption)
    at.sidebar.toggle(key="force_cpu").set_value(True).run()  # asked for the CPU: nothing to explain
    quick.assert_drew_a_chart(at)
    assert NO_CUDA_NOTICE not in [c.value for c in at.caption]
    assert {m.label: m.value for m in at.metric}["Device"] == "cpu"


# ---------------------------------------------------------------------------------------------
# CUDA against the CPU (run only where a GPU exists; see conftest)

#: fp32 on both devices; the summation order differs. One forward and backward pass agree to
#: 1e-4 relative; a whole cheap run (a few hundred training steps) to 1e-3 relative, 1e-5 absolute.
STEP_RTOL, RUN_RTOL, RUN_ATOL = 1e-4, 1e-3, 1e-5


@pytest.mark.cuda
def test_one_engine_step_on_cuda_matches_the_cpu():
    sizes = mlp.layer_sizes(20, 200, 2)
    seeds = [mlp.derive_seed(7, "cuda", r) for r in range(3)]
    gen = torch.Generator().manual_seed(1)
    x, y = torch.randn(100, 20, generator=gen), torch.randn(100, 1, generator=gen)
    results = {}
    for dev in ("cpu", "cuda"):
        stack = mlp.init_stack(sizes, seeds, device=dev)
        out, saved = mlp.forward(stack, x.to(dev))
        grads = mlp.backward(stack, saved, out, y.to(dev))
        results[dev] = [t.cpu() for t in (out, *grads)]
    for cpu, cuda in zip(results["cpu"], results["cuda"]):
        torch.testing.assert_close(cuda, cpu, rtol=STEP_RTOL, atol=STEP_RTOL * float(cpu.abs().max()))


def _torch_experiments() -> list[str]:
    names = []
    for name in registry.names():
        try:
            if registry.get(name).backend is None:
                names.append(name)
        except Exception:  # fails in its own test instead of breaking collection
            names.append(name)
    return names


@pytest.mark.cuda
@pytest.mark.parametrize("name", _torch_experiments())
def test_each_torch_experiment_on_cuda_matches_the_cpu(name):
    exp = registry.get(name)
    config = quick.cheap(exp)
    cpu, cuda = exp.execute(config, device="cpu"), exp.execute(config, device="cuda")
    assert cuda.metrics["device"].startswith("cuda (") and cuda.status == cpu.status
    assert list(cuda.tables) == list(cpu.tables)
    for table, df in cpu.tables.items():
        other = cuda.tables[table]
        assert list(other.columns) == list(df.columns) and len(other) == len(df), table
        for column in df.columns:
            if column in quick.timed(exp, table):
                continue
            a, b = df[column], other[column]
            if pd.api.types.is_numeric_dtype(a) and not pd.api.types.is_bool_dtype(a):
                np.testing.assert_allclose(b.to_numpy(dtype=float), a.to_numpy(dtype=float), rtol=RUN_RTOL, atol=RUN_ATOL,
                                           equal_nan=True, err_msg=f"{name}.{table}.{column}")
            else:
                assert a.tolist() == b.tolist(), f"{name}.{table}.{column}"
