"""Generate the SoC with LiteX and build its Verilator simulator, cached by content hash.

The key is a SHA-256 of the accelerator's Verilog (:func:`edgedrnn.sim.build.generate_verilog`
without ``src`` attributes), the :class:`~edgedrnn.soc.config.SoCConfig` (its CPU included,
which also names the folder: ``vexriscv-<hash>``), the sources of the :mod:`edgedrnn.soc`
modules that shape the design, the LiteX / LiteDRAM / Migen versions,
``verilator --version`` and the C++ compiler's version. Builds live in
``$EDGEDRNN_CACHE/litex-sim/<hash>/`` (next to the rtl backend's ``verilator/``), filled under
a lock and published with an atomic rename (:mod:`edgedrnn.support.cache`):

* ``gateware/obj_dir/Vsim`` and ``gateware/modules/*.so``: the simulator and its modules;
* ``gateware/sim.v``, ``edgedrnn_top.v``, ``csr.csv``, ``csr.json`` (the address map: the
  firmware is built against it), ``build.log``;
* ``banks.json``: the DRAM model's geometry and the init file of each bank, which
  :mod:`edgedrnn.soc.simulation` rewrites per run with the weight image (``$readmemh`` reads
  them when the simulator starts, so new weights need no rebuild).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from importlib import metadata, resources
from pathlib import Path

from ..config import HardwareConfig
from ..sim.build import _cxx_version, find_verilator, generate_verilog, verilator_version
from ..support.cache import cache_home, locked, make_temp_dir, publish_dir
from .config import SoCConfig

#: Executable of a finished build, relative to its folder.
SIM_BINARY = Path("gateware/obj_dir/Vsim")
#: Bank geometry and init file names, relative to a build's folder.
BANKS_FILE = "banks.json"
_PACKAGES = ("litex", "litedram", "migen", "liteeth")
#: Modules of :mod:`edgedrnn.soc` that shape the simulator (part of the key).
_DESIGN_SOURCES = ("build.py", "config.py", "core.py", "dram.py", "streams.py", "system.py")


def cache_root() -> Path:
    """Directory that holds the cached SoC simulator builds."""
    return cache_home("litex-sim")


def _sources_digest() -> bytes:
    h = hashlib.sha256()
    pkg = resources.files("edgedrnn.soc")
    for name in _DESIGN_SOURCES:
        h.update(name.encode() + b"\0" + pkg.joinpath(name).read_bytes())
    return h.digest()


def build_key(verilog_text: str, soc: SoCConfig) -> str:
    """Cache key of a build: see the module docstring."""
    h = hashlib.sha256()
    h.update(verilog_text.encode())
    h.update(json.dumps(soc.as_dict(), sort_keys=True).encode())
    h.update(_sources_digest())
    for name in _PACKAGES:
        h.update(f"{name}={metadata.version(name)}".encode())
    h.update(verilator_version().encode())
    h.update(_cxx_version().encode())
    prefix = f"{soc.cpu}-" if soc.cpu else ""
    return prefix + h.hexdigest()[:32]


def build_soc(hw: HardwareConfig, soc: SoCConfig, *, jobs: int | None = None) -> Path:
    """Folder of the simulator build for ``hw`` in ``soc``, building it if needed (about a
    minute on 2 cores, mostly Verilator and the C++ compiler; a few with the CPU).

    Parameters
    ----------
    hw : HardwareConfig
        The accelerator.
    soc : SoCConfig
        The system around it (with or without the CPU).
    jobs : int, optional
        Parallel C++ compile jobs (default ``$EDGEDRNN_BUILD_JOBS`` or 2).

    Returns
    -------
    pathlib.Path
        The build folder (layout in the module docstring).
    """
    find_verilator()
    text = generate_verilog(hw, emit_src=False)
    key = build_key(text, soc)
    root = cache_root()
    final = root / key
    if (final / SIM_BINARY).exists():
        return final
    with locked(root / f"{key}.lock"):
        if (final / SIM_BINARY).exists():
            return final
        tmp = make_temp_dir(root, key)
        try:
            _build_in(tmp, hw, soc, text, jobs)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        publish_dir(tmp, final)
    return final


def _build_in(
    work: Path, hw: HardwareConfig, soc: SoCConfig, verilog_text: str, jobs: int | None
) -> None:
    from litex.build.sim.config import SimConfig
    from litex.soc.integration.builder import Builder

    from .system import EdgeDRNNSoC

    top = work / "edgedrnn_top.v"
    top.write_text(verilog_text)
    system = EdgeDRNNSoC(hw, soc)
    system.platform.add_source(str(top))
    sim_config = SimConfig()
    sim_config.add_clocker("sys_clk", freq_hz=soc.sys_clk_hz)
    sim_config.add_module("serial2tcp", "serial", args={"port": 1})
    builder = Builder(
        system,
        output_dir=str(work),
        gateware_dir=str(work / "gateware"),
        compile_software=False,
        csr_csv=str(work / "csr.csv"),
        csr_json=str(work / "csr.json"),
    )
    log = work / "build.log"
    if jobs is None:
        jobs = int(os.environ.get("EDGEDRNN_BUILD_JOBS", "2"))
    cwd = os.getcwd()
    try:  # generates the Verilog and the build script (LiteX passes JOBS to make -j)
        vns = builder.build(sim_config=sim_config, run=False, interactive=False, jobs=jobs)
    finally:
        os.chdir(cwd)
    banks = _bank_files(system, vns)
    script = work / "gateware" / "build_sim.sh"
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS")}
    proc = subprocess.run(
        ["bash", script.name], cwd=script.parent, capture_output=True, text=True, env=env
    )
    log.write_text(proc.stdout + "\n" + proc.stderr)
    if proc.returncode != 0 or not (work / SIM_BINARY).exists():
        tail = (proc.stdout + proc.stderr)[-4000:]
        raise RuntimeError(f"LiteX simulator build failed (exit {proc.returncode}):\n{tail}")
    (work / BANKS_FILE).write_text(json.dumps(banks, indent=2))
    obj = work / "gateware" / "obj_dir"
    for path in obj.iterdir():  # keep the executable only
        if path.name != "Vsim":
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()


def _bank_files(system, vns) -> dict[str, object]:
    """The DRAM model's geometry and each bank memory's init file (in bank order)."""
    from litedram.phy.model import BankModel

    phy = system.sdrphy
    banks = [m for _, m in phy._submodules if isinstance(m, BankModel)]
    files = []
    for bank in banks:
        mems = [s for s in bank._fragment.specials if type(s).__name__ == "Memory"]
        if len(mems) != 1:
            raise RuntimeError("unexpected litedram BankModel: no single Memory")
        files.append(f"sim_{vns.get_name(mems[0])}.init")
    geom = phy.module.geom_settings
    return {
        "files": files,
        "nbanks": 1 << geom.bankbits,
        "nrows": 1 << geom.rowbits,
        "ncols": 1 << geom.colbits,
        "databits": phy.settings.databits,
        "data_width": phy.settings.dfi_databits * phy.settings.nphases,
        "width_hex_digits": mems[0].width // 4,
    }
