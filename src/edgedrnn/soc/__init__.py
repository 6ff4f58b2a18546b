"""The accelerator in a LiteX SoC with a DRAM controller, simulated whole (docs/soc.md)."""
