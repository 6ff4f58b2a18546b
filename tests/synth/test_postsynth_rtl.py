"""Post-synthesis simulation of the whole accelerator (slow: Yosys, then a Verilator build of
the gate-level netlist, minutes).

The 8-PE, 64-bit accelerator is synthesized for the ECP5-25F exactly as ``edgedrnn synth``
does it, block-RAM output registers included (edgedrnn.synth.outreg); the resulting netlist, with
Yosys' models of the logic primitives and ours of the block RAM (edgedrnn.synth.postsynth), replaces
the Amaranth-generated Verilog in the rtl co-simulation, and random networks, inputs,
thresholds and memory/stream timing must give the reference's outputs, delta counts and
overflow flag exactly, in the same cycles as the RTL.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import edgedrnn
from edgedrnn.backends.reference import run_program as reference_run
from edgedrnn.host import EdgeDRNNDriver
from edgedrnn.host.verilator import VerilatorTransport
from edgedrnn.sim.build import build_model
from edgedrnn.sim.verilated import VerilatedModel
from strategies import rtl_cases

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("verilator") is None, reason="Verilator not installed"),
]

HW = edgedrnn.HardwareConfig(num_pe=8, bus_bits=64)


def _run(library, program, x, tx, th, **sim):
    with VerilatedModel(library, **sim) as model:
        driver = EdgeDRNNDriver(VerilatorTransport(model))
        driver.configure(program, weight_base=0x3000)
        out = driver.run(x, tx, th)
        model.check_protocol()
    return out


@pytest.fixture(scope="module")
def netlist_library(tmp_path_factory):
    from edgedrnn.synth import accelerator, synthesize
    from edgedrnn.synth.postsynth import simulation_verilog

    work = tmp_path_factory.mktemp("ecp5-25k")
    report = synthesize(
        accelerator(HW.num_pe, HW.bus_bits), "ecp5-25k", build_dir=work, place_and_route=False
    )
    # the accumulator banks (4 per PE) and the reference memory's words read into registers
    assert report.ram_output_registers >= 4 * HW.num_pe
    return build_model(HW, verilog_text=simulation_verilog(work / "netlist.json"))


def test_ecp5_netlist_equals_reference_and_rtl(netlist_library):
    rtl_library = build_model(HW)

    @settings(max_examples=12, suppress_health_check=[HealthCheck.too_slow], deadline=None)
    @given(
        case=rtl_cases(
            HW, max_steps=10, max_size=2 * HW.num_pe + 3, mem_latencies=(1, 8), stalls=(0.0, 0.5)
        )
    )
    def prop(case):
        program, x, tx, th, sim = case
        ref = reference_run(program, x, tx, th)
        got = _run(netlist_library, program, x, tx, th, **sim)
        assert np.array_equal(got.outputs_q, ref.outputs_q)
        assert np.array_equal(got.nonzero, ref.nonzero)
        assert got.overflow == ref.overflow
        rtl = _run(rtl_library, program, x, tx, th, **sim)
        assert np.array_equal(got.cycles, rtl.cycles)

    prop()
