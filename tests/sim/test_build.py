"""The Verilator build cache: keyed by content, reused, safe under concurrent builders.

These tests build a tiny stand-in top module with the contract's ports (outputs tied off), so
they exercise the cache and the harness build, not the accelerator, in a few seconds.
"""

from __future__ import annotations

import multiprocessing as mp
import shutil
from pathlib import Path

import pytest

from edgedrnn.config import HardwareConfig
from edgedrnn.sim import build

pytestmark = pytest.mark.skipif(shutil.which("verilator") is None, reason="no Verilator")

TIE_OFF = """
module edgedrnn_top(
  input clk, input rst,
  input [11:0] csr__awaddr, input csr__awvalid, output csr__awready,
  input [31:0] csr__wdata, input [3:0] csr__wstrb, input csr__wvalid, output csr__wready,
  output [1:0] csr__bresp, output csr__bvalid, input csr__bready,
  input [11:0] csr__araddr, input csr__arvalid, output csr__arready,
  output [31:0] csr__rdata, output [1:0] csr__rresp, output csr__rvalid, input csr__rready,
  output [31:0] mem__araddr, output [7:0] mem__arlen, output [2:0] mem__arsize,
  output [1:0] mem__arburst, output mem__arvalid, input mem__arready,
  input [63:0] mem__rdata, input [1:0] mem__rresp, input mem__rlast, input mem__rvalid,
  output mem__rready,
  input [127:0] x_in__payload, input x_in__valid, output x_in__ready,
  output [128:0] h_out__payload, output h_out__valid, input h_out__ready);
  assign csr__awready = 1'b0; assign csr__wready = 1'b0; assign csr__bresp = 2'd0;
  assign csr__bvalid = 1'b0; assign csr__arready = 1'b1; assign csr__rdata = 32'd%(tag)d;
  assign csr__rresp = 2'd0;
  reg rv = 1'b0;
  always @(posedge clk) rv <= csr__arvalid & ~rv;
  assign csr__rvalid = rv;
  assign mem__araddr = 32'd0; assign mem__arlen = 8'd0; assign mem__arsize = 3'd3;
  assign mem__arburst = 2'd1; assign mem__arvalid = 1'b0; assign mem__rready = 1'b0;
  assign x_in__ready = 1'b0; assign h_out__payload = 129'd0; assign h_out__valid = 1'b0;
endmodule
"""

HW = HardwareConfig(num_pe=8, bus_bits=64)


def _build(args: tuple[str, int]) -> str:
    cache, tag = args
    import os

    os.environ["EDGEDRNN_CACHE"] = cache
    return str(build.build_model(HW, verilog_text=TIE_OFF % {"tag": tag}))


@pytest.fixture(scope="module")
def concurrent(tmp_path_factory) -> tuple[Path, list[str]]:
    """Two processes build the same design into a fresh cache at once."""
    cache = tmp_path_factory.mktemp("cache")
    ctx = mp.get_context("spawn")
    with ctx.Pool(2) as pool:
        paths = pool.map(_build, [(str(cache), 7), (str(cache), 7)])
    return cache, paths


def test_concurrent_builds_share_one_result(concurrent) -> None:
    cache, paths = concurrent
    assert paths[0] == paths[1]
    root = cache / "verilator"
    dirs = [p for p in root.iterdir() if p.is_dir()]
    assert [p.name for p in dirs] == [Path(paths[0]).parent.name]  # no temp dirs left
    assert (dirs[0] / "libedgedrnn_sim.so").exists()
    assert (dirs[0] / "edgedrnn_top.v").read_text() == TIE_OFF % {"tag": 7}


def test_cache_hit_does_not_rebuild_and_key_follows_content(concurrent, monkeypatch) -> None:
    cache, paths = concurrent
    monkeypatch.setenv("EDGEDRNN_CACHE", str(cache))

    def no_build(*args, **kwargs):
        raise AssertionError("rebuilt although cached")

    monkeypatch.setattr(build, "_build_in", no_build)
    lib = build.build_model(HW, verilog_text=TIE_OFF % {"tag": 7})
    assert str(lib) == paths[0]
    with pytest.raises(AssertionError, match="rebuilt"):
        build.build_model(HW, verilog_text=TIE_OFF % {"tag": 2})
    key = build.build_key(TIE_OFF % {"tag": 7}, 64, 8)
    assert lib.parent.name == key
    assert key != build.build_key(TIE_OFF % {"tag": 2}, 64, 8)
    assert key != build.build_key(TIE_OFF % {"tag": 7}, 128, 8)  # flags differ


def test_built_library_runs_the_harness(concurrent) -> None:
    from edgedrnn.sim.verilated import SimError, VerilatedModel

    _, paths = concurrent
    with VerilatedModel(paths[0], timeout=50) as model:
        assert model.csr_read(0x0) == 7
        with pytest.raises(SimError, match="timed out"):
            model.csr_write(0x10, 1)  # the tie-off never accepts writes
        model.push_x([[k] * 8 for k in range(3)])  # three beats of 8 lanes
        with pytest.raises(SimError, match="delivered 0 of 2"):
            model.pop_h(2, timeout=20)
        assert model.x_pending == 3
        assert model.cycles > 70
