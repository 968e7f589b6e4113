"""Standalone compiles shared between processes: reuse, same results, invalidation."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.standalone

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from snn_rram import devices, snn
    from snn_rram.crossbar import Circuit, Crossbar, Layout

    n_out = int(sys.argv[1])
    rng = np.random.default_rng(0)
    dev = devices.load("sinh_mild")
    layout = Layout.differential(6, n_out)
    G = dev.levels.values[rng.integers(0, dev.levels.n, (6, 2 * n_out))]
    xbar = Crossbar(G, dev, Circuit(v_read=0.2, r_neuron=100.0, pulse_width=2e-4), layout)
    spikes = snn.RegularEncoder(max_rate=400.0, dead_time=2e-4).encode(
        rng.random((2, 6)), 1e-4, 0.02
    )
    neuron = snn.IFNeuron(threshold=1.0, capacitance=2e-13)
    net = snn.SpikingNetwork([xbar], neuron, spikes, target="cpp_standalone")
    res = net.run()
    print(json.dumps({"reused": net.reused_build, "counts": res.counts.tolist(),
                      "energy": float(res.total_device_energy())}))
    """
)


def run_in_process(build, n_out=3):
    env = dict(os.environ, SNN_RRAM_BUILD_DIR=str(build))
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(n_out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_second_process_reuses_the_compile_and_gets_the_same_results(tmp_path):
    build = tmp_path / "build"
    first = run_in_process(build)
    assert first["reused"] is False
    assert sum(map(sum, first["counts"])) > 0
    cache = build / "standalone" / "cache"
    (entry,) = [p for p in cache.iterdir() if p.is_dir()]
    assert (entry / "main").exists() and (entry / "dependencies.json").exists()

    second = run_in_process(build)  # another pid: another project folder, the same code
    assert second == {**first, "reused": True}

    # a header the compile depended on is not what it was: compile again, replace the entry
    deps = json.loads((entry / "dependencies.json").read_text())
    header = next(name for name in deps if name.endswith(".h"))
    deps[header] = "0" * 64
    (entry / "dependencies.json").write_text(json.dumps(deps))
    third = run_in_process(build)
    assert third == {**first, "reused": False}
    assert json.loads((entry / "dependencies.json").read_text())[header] != "0" * 64

    # another network shape is another project
    other = run_in_process(build, n_out=4)
    assert other["reused"] is False
    assert len([p for p in cache.iterdir() if p.is_dir()]) == 2


def test_canonical_form_orders_only_brian2s_unordered_statements():
    from snn_rram.snn._build_cache import _canonical

    end = b"net.add(&z_clock, NULL);\n"
    a = b"x = 1;\n_array_b_clock_t[0] = 0.0;\n_array_a_clock_t[0] = 0.0;\n" + end
    b = b"x = 1;\n_array_a_clock_t[0] = 0.0;\n_array_b_clock_t[0] = 0.0;\n" + end
    assert _canonical(a) == _canonical(b)
    assert _canonical(b"y = 2;\nx = 1;\n") != _canonical(b"x = 1;\ny = 2;\n")
    c = b"net.add(&b_clock, NULL);\nnet.add(&a_clock, NULL);\nf();\nnet.add(&c_clock, f);\n"
    assert _canonical(c) == (
        b"net.add(&a_clock, NULL);\nnet.add(&b_clock, NULL);\nf();\nnet.add(&c_clock, f);\n"
    )
