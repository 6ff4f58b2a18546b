"""Will a point fit? The network against its configuration, the instance against its device.

Two checks run before any synthesis (``--device-fit``):

* :func:`network_fits`: the network's layers, input and hidden sizes within the
  configuration's ``max_layers``, ``max_input_size`` and ``max_hidden_size``;
* :func:`resource_estimate`: LUT, FF and block RAM of an instance, linear in the PEs,
  fitted to the post-synthesis counts of docs/performance.md ("Synthesis": 8, 16 and 32 PEs
  with the default maximum sizes; 7-series scaled by the 8-PE XC7Z007S row). A point is
  pruned only when an estimate exceeds the device by more than :data:`MARGIN`: the
  estimate decides nothing close; synthesis does.
"""

from __future__ import annotations

from typing import Any

from ..config import HardwareConfig
from ..perf import Network
from ..synth.devices import DEVICES

__all__ = ["MARGIN", "device_fit", "network_fits", "resource_estimate"]

#: A point is pruned when an estimate exceeds the device's capacity by more than this.
MARGIN = 0.15

#: ECP5 (LUT4, FF, EBR) per PE and fixed, from the 8/16/32-PE rows of docs/performance.md.
_ECP5 = {"lut": (1350.0, 6600.0), "ff": (1030.0, 3000.0), "bram": (4.5, 8.0)}
#: 7-series against ECP5 (the 8-PE XC7Z007S row against the 25F row): LUT6 and BRAM36.
_XC7_SCALE = {"lut": 10266 / 17563, "ff": 11818 / 11258, "bram": 22 / 44}


def resource_estimate(num_pe: int, device: str) -> dict[str, float]:
    """LUT, FF, DSP and BRAM of an instance of ``num_pe`` PEs on ``device`` (its units).

    Parameters
    ----------
    num_pe : int
        Processing elements.
    device : str
        A :data:`~edgedrnn.synth.devices.DEVICES` key.
    """
    dev = DEVICES[device]
    out = {k: a * num_pe + b for k, (a, b) in _ECP5.items()}
    if dev.family == "xc7":
        out = {k: v * _XC7_SCALE[k] for k, v in out.items()}
    out["dsp"] = 0.0  # the PE products are in logic (docs/performance.md)
    return {k: round(v, 1) for k, v in out.items()}


def network_fits(net: Network, hw: HardwareConfig) -> str:
    """ "" if ``net`` fits ``hw``'s maximum sizes, else why not."""
    if net.num_layers > hw.max_layers:
        return f"{net.num_layers} layers > max_layers {hw.max_layers}"
    if net.layers[0][0] > hw.max_input_size:
        return f"input size {net.layers[0][0]} > max_input_size {hw.max_input_size}"
    big = max(h for _, h in net.layers)
    if big > hw.max_hidden_size:
        return f"hidden size {big} > max_hidden_size {hw.max_hidden_size}"
    return ""


def device_fit(num_pe: int, device: str, margin: float = MARGIN) -> dict[str, Any]:
    """The resource estimate of an instance on ``device`` and whether it fits.

    Returns
    -------
    dict
        ``estimate`` (:func:`resource_estimate`), ``fits`` (bool: no resource above
        capacity × (1 + ``margin``)) and ``reason`` ("" or the resource that does not fit).
    """
    est = resource_estimate(num_pe, device)
    cap = DEVICES[device].capacity
    for key in ("lut", "ff", "bram"):
        if est[key] > cap[key] * (1 + margin):
            return {
                "estimate": est,
                "fits": False,
                "reason": f"~{est[key]:.0f} {key.upper()} > {cap[key]} on {device}",
            }
    return {"estimate": est, "fits": True, "reason": ""}
