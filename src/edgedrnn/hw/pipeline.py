"""Pipeline depths and latencies of the EdgeDRNN RTL, in clock cycles (docs/rtl.md).

One named constant per pipeline depth, latency or FIFO depth in :mod:`edgedrnn.hw`. The RTL
components build their pipelines from these numbers (delay lines are generated from them;
blocks whose stages are distinct logic check that the stages they build add up to them), so
this module is the single truth that the cycle model (:mod:`edgedrnn.perf.rtl`) reads. Pure
Python: importing it needs no Amaranth.
"""

from __future__ import annotations

# ---------------------------------------------------------------- controller (control.py)
#: Register stages of the configuration check (each comparison, then their conjunction).
CONFIG_CHECK_STAGES = 2
#: Cycles the controller spends in CHECK: the check's stages plus the cycle it is sampled in.
CHECK_CYCLES = CONFIG_CHECK_STAGES + 1
#: Cycles from LSTART to the layer's first scan issue (LSTART, LSETUP, LSETUP2).
LAYER_SETUP_CYCLES = 3
#: Register stages of "the datapath is idle" (each block's idle term, then their conjunction).
IDLE_STAGES = 2
#: Cycles from the FLUSH/CLEAR decode to the output side's flush (a register).
FLUSH_DELAY = 1
#: Cycles from a CLEAR count to the state memories' zero write (registered address/enable).
CLEAR_WRITE_DELAY = 1

# ---------------------------------------------------------------- scan (scan.py)
#: Cycles from a state-memory read address (scan stage S0) to its data (S1): lib.memory.
STATE_READ_LATENCY = 1
#: Register stages behind the state memories' read data, before the encoder's input (S2).
SCAN_DATA_STAGES = 1
#: Cycles from a scan issue (S0) to the row group on the encoder's input (S2).
SCAN_LATENCY = STATE_READ_LATENCY + SCAN_DATA_STAGES

# ---------------------------------------------------------------- delta encoder (encoder.py)
#: Register stages between the encoder's ``elem`` input and its group FIFO (E1 to E3: the
#: input is the scan's S2 registers, no input register of its own).
ENCODER_STAGES = 3
#: Cycles from a group leaving the encoder (dropped in E4, or taken by the serializer) to its
#: count on ``retired`` (a register: the count's adder is off the scan's credit path).
ENCODER_RETIRE_DELAY = 1
#: Entries of the encoder's group FIFO (row groups with passed lanes), the scan's credits: 8,
#: and 2 more for each cycle the retirements (at most 2 a cycle) are reported late, so the
#: scan is never held where a credit counted without the delay would have let it issue.
ENCODER_GROUP_FIFO_DEPTH = 8 + 2 * ENCODER_RETIRE_DELAY
#: Cycles a group spends in the group FIFO on its way from E4 to the serializer when the FIFO
#: is empty: none, it goes past it (the serializer's hold register is loaded from E4 directly,
#: the source a 2:1 multiplexer selected by a registered "FIFO empty" flag). Behind other
#: groups it waits in the FIFO (a ``FlagFIFO``, hw/fifo.py: readable the cycle after its
#: write).
ENCODER_GROUP_FIFO_LATENCY = 0
#: Register stages of the encoder's serializer (the head group's hold register).
ENCODER_SERIALIZER_STAGES = 1
#: Cycles from a group with a passed lane on ``elem`` to its first delta on ``out``.
ENCODER_LATENCY = ENCODER_STAGES + ENCODER_GROUP_FIFO_LATENCY + ENCODER_SERIALIZER_STAGES

# ---------------------------------------------------------------- column queues (queues.py)
#: Entries of the delta FIFO (encoder → weight fetch and command FIFO).
DELTA_FIFO_DEPTH = 16
#: Delta FIFO entries kept free: the encoder's ``ready`` is a registered "room" flag.
DELTA_FIFO_SLACK = 2
#: Entries of the command FIFO (Δ and kind of each fetched column, for the PE array).
CMD_FIFO_DEPTH = 16
#: Cycles from a delta FIFO write to its read side when the FIFO is empty (a ``BypassFIFO``,
#: hw/fifo.py: its output register is loaded from the input directly, the source a 2:1
#: multiplexer selected by a registered "storage empty" flag).
DELTA_FIFO_LATENCY = 1
#: Cycles from a command FIFO write to its read side (a ``lib.fifo.SyncFIFOBuffered``).
CMD_FIFO_LATENCY = 2

# ---------------------------------------------------------------- weight fetch (fetch.py)
#: Cycles from a fetch request handshake to its first ``arvalid`` (S1, S2, S3, C).
FETCH_LATENCY = 4

# ---------------------------------------------------------------- PE array (pe.py)
#: Accumulate pipeline stage whose end reads the chunk's accumulator (address registered).
PE_READ_STAGE = 1
#: Register stages behind an accumulator bank's read port (output latch, output register).
PE_BANK_READ_STAGES = 2
#: Accumulate pipeline stage whose end writes the saturated sum back to the bank.
PE_WRITE_STAGE = 6
#: Cycles from ``act_addr`` to the accumulators on ``act_r``... ``act_ch``.
PE_ACT_READ_LATENCY = PE_BANK_READ_STAGES
#: Cycles from ``clr_en``/``clr_addr`` to the cycle whose end writes the zeros.
PE_CLEAR_DELAY = 1
#: Cycles from a column's last beat handshake until the PE array's ``idle`` is high again.
PE_DRAIN = PE_WRITE_STAGE + 1
#: Cycles by which the PE array's ``idle_soon`` runs ahead of ``idle`` (the controller's idle
#: detection: IDLE_STAGES registers and the cycle that acts on them), so that the controller
#: acts (DRAIN's exit, the activation's first accumulator read) the cycle ``idle`` rises.
PE_IDLE_LEAD = IDLE_STAGES + 1
#: Cycles from a column's last beat handshake to the PE array's ``landed`` pulse for it: its
#: last write lands PE_DRAIN cycles after that handshake, and the controller, which counts
#: the columns in flight in a register and starts the activation from a register, sees it
#: PE_DRAIN − 1 cycles after it (the cycle before the write lands is the activation's start,
#: its first accumulator read the cycle after the write).
PE_LANDED_DELAY = PE_DRAIN - 2

# ---------------------------------------------------------------- activation (activation.py)
#: Cycles from an activation unit's ``i_valid`` to its ``o_valid`` (stages S0 to S6).
ACT_LATENCY = 7
#: Cycles from an activation issue (A0: read addresses) to the units' input (A2)
#: (activate.py: the accumulators come from the PE array, h_prev from the h memory).
ACT_ISSUE_LATENCY = PE_ACT_READ_LATENCY
#: Cycles by which the next layer's scan may issue a row group of new h before a read of
#: the h memory returns it (the cycle after its write, ``o_valid``): the activation side
#: counts it in ``avail`` AVAIL_LEAD cycles early (from its issue's valid, delayed), and the
#: scan takes the word forwarded from the write data where its read misses it (scan.py):
#: into S1 (issued in the write's cycle), S2 (a cycle before) or onto the encoder's input
#: (two cycles before; the last stage, SCAN_LATENCY after the issue). So the forwarding
#: depth is AVAIL_LEAD stages, and AVAIL_LEAD at most SCAN_LATENCY + 1.
AVAIL_LEAD = SCAN_LATENCY + 1
assert 1 <= AVAIL_LEAD <= SCAN_LATENCY + 1, "the write must reach the group by elem"
assert AVAIL_LEAD <= ACT_ISSUE_LATENCY + ACT_LATENCY, "counted after the activation issue"

# ---------------------------------------------------------------- output side (output.py)
#: Entries of the output FIFO (row groups of the last layer's new h): enough reservations
#: for a row group per cycle (OUT_RESERVATION_LOOP).
OUT_FIFO_DEPTH = 16
#: Output FIFO entries kept free: the activation issue's "room" flag is a register.
OUT_FIFO_SLACK = 2
#: Cycles from an output FIFO write to its head being readable (a ``FlagFIFO``, hw/fifo.py).
OUT_FIFO_LATENCY = 1
#: Register stages of the output serializer (the head entry's register ``ob``).
OUT_SERIALIZER_STAGES = 1
#: Cycles from a row group entering the output side to its pop into ``ob`` when the FIFO is
#: empty and ``ob`` free or sending: 0, it bypasses the FIFO (output.py).
OUT_POP_DELAY = 0
#: Cycles from an entry's pop (into ``ob``, or dropped) to its release from the reservation
#: count (a register: the count's adder is off the path from ``h_out.ready``).
OUT_POP_COUNT_DELAY = 1
#: Cycles from a row group entering the output side to its first ``h_out`` beat (the FIFO
#: empty, ``ob`` free or sending: the bypass).
OUTPUT_LATENCY = OUT_POP_DELAY + OUT_SERIALIZER_STAGES
#: Cycles from an activation issue of the last layer to the cycle its reservation can be
#: reused: the units' new h (ACT_ISSUE_LATENCY + ACT_LATENCY), the pop into ``ob``, its
#: count (OUT_POP_COUNT_DELAY), the registered ``room`` (an entry that waits in the FIFO keeps
#: its reservation until its pop).
OUT_RESERVATION_LOOP = ACT_ISSUE_LATENCY + ACT_LATENCY + OUT_POP_DELAY + OUT_POP_COUNT_DELAY + 1
# The last layer's activation issues a row group per cycle only if the reservations cover
# the loop (else it runs at (DEPTH - SLACK) row groups per loop while h_out is ready).
assert OUT_FIFO_DEPTH - OUT_FIFO_SLACK >= OUT_RESERVATION_LOOP, "output FIFO too shallow"
