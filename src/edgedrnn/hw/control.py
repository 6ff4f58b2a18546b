"""Controller: the configuration check, the per-step sequence, the layer registers, counters.

Per step, in two parts (docs/rtl.md, *Controller*). The hidden part of step t needs only
step t-1's h, so it runs as soon as step t-1 has ended (its last ``h_out`` beat accepted; after
a reset: at once), before ``x_in`` has a beat; the input part waits for ``x_in``::

    hidden part, every layer from the last down to layer 0 (bias first, on the first step
    after a reset):
    IDLE ─▶ CHECK ─▶ LSTART ─▶ LSETUP ─▶ LSETUP2 ─▶ SCAN_H ─▶ HDRAIN ─▶ layer below (LSTART)
                       ▲                      └▶ BIAS ─┘     └─ layer 0 ─▶ WAITX
    input part, every layer in order (layer 0's registers are loaded already):
    WAITX ─x_in─▶ SCAN_X ─▶ DRAIN ─▶ next layer: LSTART ─▶ LSETUP ─▶ LSETUP2 ─▶ SCAN_X
                              │  (the activation issues beside the setup; the scan waits)
         last h_out beat: CHECK (next step's hidden part) ◀─ DONE ◀─ ACT ◀─┘ (last layer)
    early start (two or more layers, the next step's x_in valid in the last layer's ACT):
    ACT ─▶ CHECK (the next step, in order)
    SOFT_RESET (any state) ─▶ FLUSH ─▶ CLEAR ─▶ IDLE
    RESET_STATE (in IDLE, or in WAITX once the datapath is idle) ─▶ CLEAR ─▶ IDLE

* IDLE (or DONE) starts a step's hidden part when START is on and the previous step has
  ended (or CLEAR has run): CHECK waits CHECK_CYCLES for the registered configuration check
  (:class:`ConfigCheck`). Θ of every layer is latched for the step when the step before ends
  (its last ``h_out`` beat accepted), when the step starts early (below), or, for the first
  step, at RESET_STATE: a Θ write applies from the step after the one whose last ``h_out``
  beat is still to come, and a host writes a step's Θ before it offers the step's ``x_in``
  (docs/datapath.md §7).
* Early start: with two or more layers, when the next step's ``x_in`` is valid while the
  last layer is in ACT (and START is on, no reset asked for), the next step starts at once,
  in order (CHECK, layer 0's hidden part), while this step's activation and output finish
  (the *tail*). Layer 0's h and accumulators are final then (layer 1 has scanned its
  input), the activation side and the output side carry their own copy of the layer. The
  tail's last ``h_out`` beat lands STEP_CYCLES, LATENCY, STEP_COUNT and its NZ (kept aside
  at the early start, as its offer time is) and latches no Θ; a second early start waits
  until the tail has left. RESET_STATE's CLEAR (IDLE, WAITX) waits for the tail too.
* LSTART latches the layer's registers (one multiplexer level from the register block);
  LSETUP and LSETUP2 derive the rest (row groups, beats per column, addresses, the lane mask
  of the last row group), so no path crosses both; LSETUP loads the scan's pointers (of the
  hidden or the input vector), LSETUP2 queues the bias column (hidden part of the first step
  after a reset only; BIAS waits for a scan credit).
* SCAN_H, SCAN_X: the scan issues (:class:`~edgedrnn.hw.scan.Scan`) until it is ``done``.
  Per layer the accumulators thus take the bias, the hidden columns, then the input columns
  (docs/datapath.md §5).
* HDRAIN (between the hidden parts of two layers) and DRAIN wait for the datapath to be
  idle (IDLE_STAGES registers behind the blocks' idle terms: the layer registers change
  next); DRAIN stores the layer's delta counts. Layer 0's hidden part ends last, so its
  SCAN_H goes to WAITX without a drain: layer 0's input columns follow its hidden columns
  through the same layer registers (the FIFOs keep the order), and DRAIN counts both.
  WAITX holds the finished hidden part until ``x_in`` has a beat, then loads the scan's
  input pointers.
* DRAIN's exit starts the activation, which issues the layer's row groups on its own
  (``act_run``, a register, until none is left; the activation side keeps its own copy of
  the layer): the next layer's LSTART follows at once, and the scan issues nothing while
  the activation does (they share the h memory's read port). The last layer waits in ACT
  for its activation to drain, then DONE for the output (the step ends from ACT when the
  output's last beat is accepted in the cycle the drain is seen: the output register takes
  the last row group as it comes out).
* STEP_CYCLES counts from the previous step's end (for the first step after a reset: the
  cycle ``x_in`` is first valid) to the step's last ``h_out`` beat; LATENCY from the cycle
  the step's ``x_in`` is first valid to the same beat.
* FLUSH lets the datapath drain (AXI bursts in flight, the activation pipeline) while the
  output side discards; CLEAR zeroes one word of every state memory and accumulator bank
  per cycle (through CLEAR_WRITE_DELAY registers).
"""

from __future__ import annotations

from types import SimpleNamespace

from amaranth import Array, Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..config import HardwareConfig
from .common import StateMap, clog2, delay, layer_constants
from .csr import core_signature
from .fetch import stride_bits
from .pipeline import (
    CHECK_CYCLES,
    CLEAR_WRITE_DELAY,
    CMD_FIFO_DEPTH,
    CONFIG_CHECK_STAGES,
    DELTA_FIFO_DEPTH,
    IDLE_STAGES,
    PE_LANDED_DELAY,
)

#: Most columns between the queues' ``sent`` and the PE array's ``landed``: those in the delta
#: FIFO, in the command FIFO (the fetch takes a request as its command is written), the one
#: the PE array streams and those whose last beat was at most PE_LANDED_DELAY cycles ago.
INFLIGHT_MAX = DELTA_FIFO_DEPTH + CMD_FIFO_DEPTH + 1 + PE_LANDED_DELAY


class ConfigCheck(wiring.Component):
    """The configuration checks of a step (STATUS.ERROR when they fail), registered.

    Every elementary comparison is registered on its own, then their conjunction per layer and
    over the layers: ``ok`` reflects the inputs of CONFIG_CHECK_STAGES cycles before.
    Checked: ``1 ≤ num_layers ≤ max_layers``, ``weight_base`` a multiple of the bus width in
    bytes; per used layer ``1 ≤ input_size ≤ max_input_size`` (layer 0) or ``= hidden_size``
    of the layer before, ``1 ≤ hidden_size ≤ max_hidden_size``, ``rows_per_gate ≥
    hidden_size``, a multiple of NUM_PE and at most ``groups_max · NUM_PE``; ``column_stride``
    a multiple of the bus width and below ``2^stride_bits``; on a sparse build
    ``1 ≤ slots ≤ rows_per_gate / NUM_PE``.

    Parameters
    ----------
    hw : HardwareConfig
        The instance's parameters.

    Interface attributes
    --------------------
    num_layers, weight_base : In(32)
        Global registers.
    input_size, hidden_size, rows_per_gate, column_stride : In(ArrayLayout(unsigned(32), L))
        Per-layer registers.
    slots : In(ArrayLayout(unsigned(32), L))
        Per-layer SLOTS (sparse builds only).
    ok : Out(1)
        The configuration is valid (a register).
    """

    def __init__(self, hw: HardwareConfig) -> None:
        self.hw = hw
        arr = data.ArrayLayout(unsigned(32), hw.max_layers)
        super().__init__(
            {
                "num_layers": In(32),
                "weight_base": In(32),
                "input_size": In(arr),
                "hidden_size": In(arr),
                "rows_per_gate": In(arr),
                "column_stride": In(arr),
                **({"slots": In(arr)} if hw.sparse_weights else {}),
                "ok": Out(1),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        hw = self.hw
        L, P = hw.max_layers, hw.num_pe
        lg_p, lg_bb = clog2(P), clog2(hw.bus_bytes)
        gmax = StateMap.of(hw).gmax

        # Each range check ``x <= K`` is ``x`` below 2^k (k = K's bits: an OR of the high
        # bits) and a k-bit compare; the comparisons of two registers (rows_per_gate with
        # hidden_size, input_size with the hidden_size below, slots with rows_per_gate) and
        # a layer's "used" take only the bits of their range checks: when a value is out of
        # its range its own term fails, and ``ok`` is false whatever the narrowed compare
        # says, so ``ok`` is the full-width check's (tests/hw/test_control.py).
        def at_most(x, limit: int):
            k = limit.bit_length()
            if limit == (1 << k) - 1:  # every k-bit value is at most the limit
                return x[k:] == 0
            return (x[k:] == 0) & (x[:k] <= limit)

        k_layers = L.bit_length()
        glob = [self.num_layers.any(), at_most(self.num_layers, L)]
        if lg_bb:
            glob.append(self.weight_base[:lg_bb] == 0)
        k_hid = hw.max_hidden_size.bit_length()
        k_rpg = max(gmax * P, hw.max_hidden_size).bit_length()
        k_slots = gmax.bit_length()
        per_layer = []
        for i in range(L):
            isz, hsz = self.input_size[i], self.hidden_size[i]
            rpg, stride = self.rows_per_gate[i], self.column_stride[i]
            terms = [
                isz.any(),
                at_most(isz, hw.max_input_size if i == 0 else hw.max_hidden_size),
                hsz.any(),
                at_most(hsz, hw.max_hidden_size),
                rpg[:k_rpg] >= hsz[:k_rpg],
                at_most(rpg, gmax * P),
                rpg[:lg_p] == 0 if lg_p else Const(1),
                stride[:lg_bb] == 0 if lg_bb else Const(1),
                stride[stride_bits(hw) :] == 0,
            ]
            if i > 0:
                terms.append(isz[:k_hid] == self.hidden_size[i - 1][:k_hid])
            if hw.sparse_weights:
                slots = self.slots[i]
                terms += [
                    slots.any(),
                    at_most(slots, gmax),
                    slots[:k_slots] <= (rpg >> lg_p)[:k_slots],
                ]
            per_layer.append((self.num_layers[:k_layers] > i, terms))
        # stage 1: every term
        glob_r = Signal(len(glob))
        m.d.sync += glob_r.eq(Cat(*glob))
        layer_ok = []
        for i, (used, terms) in enumerate(per_layer):
            used_r = Signal(name=f"cfg_used{i}")
            terms_r = Signal(len(terms), name=f"cfg_terms{i}")
            m.d.sync += [used_r.eq(used), terms_r.eq(Cat(*terms))]
            layer_ok.append(~used_r | terms_r.all())
        # stage 2: the conjunction
        m.d.sync += self.ok.eq(glob_r.all() & Cat(*layer_ok).all())
        assert CONFIG_CHECK_STAGES == 2, "terms, then their conjunction"
        return m


class Controller(wiring.Component):
    """The controller FSM, the layer registers, the counters and status (module docstring).

    Latency (:mod:`edgedrnn.hw.pipeline`): a step's first hidden scan issue (``scan_h``, of
    layer NUM_LAYERS − 1, or in order of layer 0) comes 1 + CHECK_CYCLES +
    LAYER_SETUP_CYCLES cycles after the previous step's last ``h_out`` beat (``out_last``),
    or after the cycle the last layer's ACT sees ``x_valid`` (early start), that of a layer
    below LAYER_SETUP_CYCLES cycles after HDRAIN; WAITX follows layer 0's last hidden issue;
    layer 0's first input scan issue (``scan_x``) comes 1 cycle after WAITX sees
    ``x_valid``, a layer l > 0's first scan issue LAYER_SETUP_CYCLES cycles after DRAIN's
    exit; no scan issue while ``act_run`` (until ACT_DONE after the activation's last
    issue); HDRAIN, DRAIN and WAITX see ``idle`` of IDLE_STAGES cycles before;
    ``clr_en``/``clr_addr`` lag the CLEAR count by CLEAR_WRITE_DELAY.

    Parameters
    ----------
    hw : HardwareConfig
        The instance's parameters.
    idle_terms : int
        Idle terms of the datapath blocks (the width of ``idle``).
    scan_terms : int
        The first terms of ``idle`` that are the scan side's (the scan, the encoder).

    Interface attributes
    --------------------
    regs : In(core_signature(max_layers, sparse_weights))
        The register block's core side.
    x_valid : In(1)
        ``x_in`` has an element (the input part may start; LATENCY counts from its rise).
    idle : In(idle_terms)
        Each datapath block's idle term (the first ``scan_terms`` of them: the scan side,
        the scan and the encoder).
    overflow, fetch_error : In(1)
        Saturation of any block; a non-OKAY read response (to STATUS, registered / as is).
    layer : Out(layer_constants(hw))
        The layer registers (the scan side's).
    ctx : Out(1)
        The scan side's context (flipped at a change of layer in the input part, when the
        scan side has let the old layer's last delta out: *Column contexts*).
    ctx_layer : Out(ArrayLayout(layer_constants(hw), 2))
        The layer registers of each context, for the weight fetch and the PE array: the
        scan's context's copy follows ``layer`` a cycle later, the other one holds the old
        layer while its columns are in flight.
    act_layer : Out(layer_constants(hw))
        The layer registers for the activation side (taken at ``act_start``): the layer whose
        activation is started or waits for its columns to land.
    sent, landed : In(1)
        A delta is queued; a column's last write lands (PE_LANDED_DELAY after its last beat):
        the count of columns in flight.
    hold : Out(1)
        Hold the PE array (the R channel, as a memory stall): the activation may issue next
        cycle and reads the accumulators through the PE array's read port (a register).
    setup, setup_h, bias, scan_x, scan_h : Out(1)
        Scan control (:class:`~edgedrnn.hw.scan.Scan`): ``setup`` loads the input vector's
        pointers, ``setup_h`` the hidden vector's.
    scan_ready, scan_done : In(1)
        The scan's credit, end of vector.
    sent_x, sent_h : In(1)
        An input / hidden delta is queued (the layer's NZ counts).
    act_start, act_run : Out(1)
        Load the activation side (DRAIN's exit); let it issue (a register, from DRAIN's
        exit until ``act_left`` falls).
    act_left, act_drained : In(1)
        Row groups are left to issue; nothing is issued or in the activation pipeline.
    read_after_next : In(1)
        The activation may read a row group's accumulators the cycle after next (its
        ``read_after_next``): the hold register's next value.
    flush, clear : Out(1)
        The output side discards (FLUSH, CLEAR); drops its reservations (end of CLEAR).
    out_empty, out_last : In(1)
        The output FIFO is empty; the step's final ``h_out`` beat is accepted.
    clr_en, clr_addr : Out
        Zero this word of the state memories and the accumulator banks.
    """

    def __init__(self, hw: HardwareConfig, idle_terms: int, scan_terms: int = 2) -> None:
        self.hw = hw
        self.map = sm = StateMap.of(hw)
        self.scan_terms = scan_terms
        super().__init__(
            {
                "regs": In(core_signature(hw.max_layers, hw.sparse_weights)),
                "x_valid": In(1),
                "idle": In(idle_terms),
                "overflow": In(1),
                "fetch_error": In(1),
                "layer": Out(layer_constants(hw), init={"layer0": 1}),
                "ctx": Out(1),
                "ctx_layer": Out(data.ArrayLayout(layer_constants(hw), 2)),
                "act_layer": Out(layer_constants(hw)),
                "sent": In(1),
                "landed": In(1),
                "hold": Out(1),
                "setup": Out(1),
                "setup_h": Out(1),
                "bias": Out(1),
                "scan_x": Out(1),
                "scan_h": Out(1),
                "scan_ready": In(1),
                "scan_done": In(1),
                "sent_x": In(1),
                "sent_h": In(1),
                "act_start": Out(1),
                "act_run": Out(1),
                "act_left": In(1),
                "read_after_next": In(1),
                "act_drained": In(1),
                "flush": Out(1),
                "clear": Out(1),
                "out_empty": In(1),
                "out_last": In(1),
                "clr_en": Out(1),
                "clr_addr": Out(range(sm.clear_depth + 1)),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        L = self.hw.max_layers
        regs = self.regs
        m.submodules.check = check = ConfigCheck(self.hw)
        for name in ("num_layers", "weight_base", "input_size", "hidden_size"):
            m.d.comb += getattr(check, name).eq(getattr(regs, name))
        m.d.comb += [
            check.rows_per_gate.eq(regs.rows_per_gate),
            check.column_stride.eq(regs.column_stride),
        ]
        if self.hw.sparse_weights:
            m.d.comb += check.slots.eq(regs.slots)
        s = self._status(m)
        s.cfg_ok = check.ok
        with m.FSM(name="ctrl") as fsm:
            self._step_states(m, s)
            self._layer_states(m, s)
            self._scan_states(m, s)
            self._reset_states(m, s)
        with m.If(regs.soft_reset):
            m.d.sync += s.step_cycles.eq(0)
            for i in range(L):
                m.d.sync += [s.nz_x[i].eq(0), s.nz_h[i].eq(0), s.nzs_x[i].eq(0), s.nzs_h[i].eq(0)]
        # BUSY: a step's input part or a reset (also one asked for and not yet begun) is in
        # flight; not the hidden part done ahead
        m.d.comb += regs.busy.eq(
            (~fsm.ongoing("IDLE") & ~fsm.ongoing("WAITX") & ~(s.hid & ~s.inorder))
            | s.pend_reset_state
            | s.pend_soft
        )
        return m

    def _status(self, m: Module) -> SimpleNamespace:
        """Counters, pending resets, status pulses and the controller's own registers."""
        L = self.hw.max_layers
        regs = self.regs
        s = SimpleNamespace()
        s.layer = Signal(range(max(L, 2)))
        # NUM_LAYERS == i + 1, registered: the top layer's choice in CHECK and the last-layer
        # flag compare no 32-bit register (a write is seen a cycle later; CHECK looks at them
        # CHECK_CYCLES after it starts, and a step's layers after that)
        s.top_is = Signal(L)
        m.d.sync += s.top_is.eq(Cat(*[regs.num_layers == i + 1 for i in range(L)]))
        s.thx = [Signal(16, name=f"thx{i}") for i in range(L)]  # Θ of the step
        s.thh = [Signal(16, name=f"thh{i}") for i in range(L)]
        s.bias_sent = Signal(L)
        # the layer's bias-sent flag is set the cycle after the bias is queued (from a
        # register: the flags' enables are not behind the state decode and ``scan_ready``);
        # it is next read at the next layer's or step's setup, the layer does not change
        # in SCAN_H's first cycle, and CLEAR (which clears the flags) is never that cycle
        bias_queued = Signal()
        m.d.sync += bias_queued.eq(self.bias)
        with m.If(bias_queued):
            m.d.sync += s.bias_sent.bit_select(s.layer, 1).eq(1)
        s.step_cycles, s.step_count, s.cyc = Signal(32), Signal(32), Signal(32)
        s.counting = Signal()
        # NZ of the step in flight (stored at each layer's DRAIN) and of the last completed
        # step (the registers: copied at the step's end, so a host may queue the next input
        # before it reads them)
        s.nzs_x = [Signal(16, name=f"nzs_x{i}") for i in range(L)]
        s.nzs_h = [Signal(16, name=f"nzs_h{i}") for i in range(L)]
        s.nz_x = [Signal(16, name=f"nz_x{i}") for i in range(L)]
        s.nz_h = [Signal(16, name=f"nz_h{i}") for i in range(L)]
        s.nzh_next = [Signal(16, name=f"nzh_next{i}") for i in range(L)]  # hidden part's
        # the NZ of a step whose output is still leaving when the next step has started
        # (early start, below): copied at the start, to the registers at its last h_out beat
        s.nzp_x = [Signal(16, name=f"nzp_x{i}") for i in range(L)]
        s.nzp_h = [Signal(16, name=f"nzp_h{i}") for i in range(L)]
        s.cnt_x, s.cnt_h = Signal(16), Signal(16)
        # the hidden part of the next step may run (the previous step ended, or CLEAR ran);
        # the hidden part is running; the step's last h_out beat is accepted
        s.ahead, s.hid, s.out_done = Signal(init=1), Signal(), Signal()
        # early start: the next step starts in the last layer's ACT, its input already
        # waiting (comb, ACT); the started step's predecessor has still to send its last
        # h_out beat (the tail)
        s.early, s.tail = Signal(), Signal()
        s.check_wait = Signal(range(CHECK_CYCLES))
        # the step's input was already offered when it started: every layer runs its hidden
        # part right before its input part (no drain between layers' hidden parts)
        s.inorder = Signal()
        s.x_done = Signal()  # the step's last x_in element is taken (comb, SCAN_X)
        s.armed = Signal()  # (H)DRAIN, WAITX: the idle terms seen are of after the last issue
        # == (FSM in DRAIN) & armed, a register of its own (set in DRAIN unless it is left):
        # the flip, and the activation's start with it, is no decode of the state
        s.drain_armed = Signal()
        # the FSM is in SCAN_X / SCAN_H, as registers (set on entry, cleared on leaving): the
        # scan's issue enables start from a flip-flop, not from a decode of the state
        s.in_scan_x, s.in_scan_h = Signal(), Signal()
        # the activation side issues (from DRAIN's exit until no row group is left; the FSM
        # sets up the next layer or step meanwhile): it reads the h memory, so the scan
        # waits (the scan's hidden and layer > 0 input reads share that port)
        s.act_on = Signal()  # (its next value: ``_contexts``)
        m.d.comb += [
            self.act_run.eq(s.act_on),
            self.scan_x.eq(s.in_scan_x & ~s.act_on),
            self.scan_h.eq(s.in_scan_h & ~s.act_on),
        ]
        self._latency(m, s)
        m.d.comb += [
            regs.step_cycles.eq(s.step_cycles),
            regs.step_count.eq(s.step_count),
            regs.latency.eq(s.latency),
        ]
        for i in range(L):
            m.d.comb += [regs.nz_x[i].eq(s.nz_x[i]), regs.nz_h[i].eq(s.nz_h[i])]
        with m.If(s.counting):
            m.d.sync += s.cyc.eq(s.cyc + 1)
        s.pend_reset_state, s.pend_soft = Signal(), Signal()
        self._contexts(m, s)
        self._thresholds(m, s)
        with m.If(regs.reset_state):
            m.d.sync += s.pend_reset_state.eq(1)
        with m.If(regs.soft_reset):
            m.d.sync += s.pend_soft.eq(1)
        with m.If(self.sent_x):
            m.d.sync += s.cnt_x.eq(s.cnt_x + 1)
        with m.If(self.sent_h):
            m.d.sync += s.cnt_h.eq(s.cnt_h + 1)
        with m.If(s.early):
            for i in range(L):
                m.d.sync += [s.nzp_x[i].eq(s.nzs_x[i]), s.nzp_h[i].eq(s.nzs_h[i])]
        with m.If(self.out_last):
            for i in range(L):
                m.d.sync += [
                    s.nz_x[i].eq(Mux(s.tail, s.nzp_x[i], s.nzs_x[i])),
                    s.nz_h[i].eq(Mux(s.tail, s.nzp_h[i], s.nzs_h[i])),
                ]
            # STEP_CYCLES: the cycles since the previous step's end (cyc restarts at 0)
            m.d.sync += [
                s.step_cycles.eq(s.cyc + 1),
                s.cyc.eq(0),
                s.step_count.eq(s.step_count + 1),
            ]
            with m.If(s.tail):
                # the step before the running one has ended
                m.d.sync += s.tail.eq(0)
            with m.Else():
                m.d.sync += [s.out_done.eq(1), s.ahead.eq(1)]
        ovf_r = Signal()
        m.d.sync += ovf_r.eq(self.overflow)
        m.d.comb += [regs.set_overflow.eq(ovf_r), regs.set_error.eq(self.fetch_error)]

        # the datapath is idle: each block's term registered, then their conjunction
        idle_terms = delay(m, self.idle, IDLE_STAGES - 1, "idle_terms")[-1]
        s.datapath_idle = Signal()
        m.d.sync += s.datapath_idle.eq(idle_terms.all())
        # the scan side (scan, encoder) is idle: every delta of the layer is queued
        s.scan_idle = Signal()
        m.d.sync += s.scan_idle.eq(idle_terms[: self.scan_terms].all())
        # DRAIN's flip: from registers only (the activation's start follows it)
        m.d.comb += s.flip.eq(s.drain_armed & s.scan_idle & ~s.act_pend & s.act_free)
        assert IDLE_STAGES == 2, "the terms, then their conjunction"

        # CLEAR counts the words; the writes lag by CLEAR_WRITE_DELAY registers
        s.clr_addr = Signal(range(self.map.clear_depth + 1))
        # the CLEAR count's last word is next (a register: the count's compare is not on the
        # path to the registers that CLEAR's end resets)
        s.clr_last = Signal(init=self.map.clear_depth == 1)
        s.clr_en = Signal()
        if self.map.clear_depth > 1:
            # ``clr_last`` is set only in CLEAR (its last cycle): the end of CLEAR for the
            # output side straight from the register, no decode of the state
            m.d.comb += self.clear.eq(s.clr_last)
        clr = delay(m, Cat(s.clr_en, s.clr_addr), CLEAR_WRITE_DELAY, "clr")[-1]
        m.d.comb += [self.clr_en.eq(clr[0]), self.clr_addr.eq(clr[1:])]
        return s

    def _thresholds(self, m: Module, s: SimpleNamespace) -> None:
        """The Θ latch: ``s.thx``/``s.thh``, every layer's thresholds of the step in flight."""
        regs, L = self.regs, self.hw.max_layers
        # Θ of the next step is latched when the step before ends (its last h_out beat), at
        # RESET_STATE (the first step), or when the step starts early (its x_in is offered,
        # so its Θ is written: the host writes a step's Θ before it offers the step's x_in,
        # docs/datapath.md §7); a tail's last beat latches nothing (the next step runs)
        # At a step's end and an early start the latch acts a cycle after the event, from a
        # copy of the registers taken in the event's cycle (what it read there), so its
        # 2·L·16 enables start at a flip-flop, not at the early start's terms; the Θ are
        # first used at the next LSTART, after CHECK. RESET_STATE (a register of the
        # register block) latches at once.
        assert CHECK_CYCLES >= 1, "the delayed latch lands before the next LSTART"
        th_event = Signal()
        m.d.sync += th_event.eq(((self.out_last & ~s.tail) | s.early) & ~regs.soft_reset)
        for i in range(L):
            snap_x, snap_h = Signal(16, name=f"thx_snap{i}"), Signal(16, name=f"thh_snap{i}")
            m.d.sync += [snap_x.eq(regs.theta_x[i][:16]), snap_h.eq(regs.theta_h[i][:16])]
            with m.If(th_event):
                m.d.sync += [s.thx[i].eq(snap_x), s.thh[i].eq(snap_h)]
            with m.If(regs.reset_state):
                m.d.sync += [
                    s.thx[i].eq(regs.theta_x[i][:16]),
                    s.thh[i].eq(regs.theta_h[i][:16]),
                ]
        with m.If(regs.soft_reset):
            for i in range(L):
                m.d.sync += [s.thx[i].eq(0), s.thh[i].eq(0)]

    def _contexts(self, m: Module, s: SimpleNamespace) -> None:
        """Column contexts: the layer registers of each context, the count of columns in
        flight, and the activation that waits for its layer's columns to land.

        At a change of layer in the input part (DRAIN, ``flip``) the scan side moves on to
        the next layer as soon as it is idle; the old layer's columns (those in flight then,
        ``old_left``) are accumulated from the other context's copy of the layer registers,
        and the old layer's activation starts (``act_start``) the cycle its last write is
        about to land (``landed`` through the count: the activation's first read is the
        cycle after that write), holding the PE array while it issues."""
        lay = self.layer
        s.flip = Signal()  # comb: the scan side moves on to the next layer (DRAIN)
        ctx = Signal()
        inflight = Signal(range(INFLIGHT_MAX + 1))  # columns queued and not yet landed
        inflight_n = Signal.like(inflight)
        s.old_left = Signal.like(inflight)  # of them, the old context's
        s.old_zero = Signal()  # == (old_left == 0), a register
        s.act_pend = Signal()  # the old layer's activation waits for its columns
        act_lay = Signal(layer_constants(self.hw))
        inflight_zero = Signal(init=1)  # == (inflight == 0), a register
        m.d.comb += inflight_n.eq(inflight + self.sent - self.landed)
        m.d.sync += [inflight.eq(inflight_n), inflight_zero.eq(inflight_n == 0)]
        pend_go = s.act_pend & s.old_zero & ~s.pend_soft  # (not after a SOFT_RESET)
        act_start = pend_go | (s.flip & inflight_zero)
        # the registers' next values (named: the hold below is registered from them)
        old_left_n, old_zero_n, act_pend_n = Signal.like(s.old_left), Signal(), Signal()
        with m.If(s.flip):
            # (the scan side is idle: nothing is queued in this cycle, so the count is the
            # register less a column landing; no path from the encoder's output)
            m.d.comb += [
                old_left_n.eq(inflight - self.landed),
                old_zero_n.eq(Mux(self.landed, inflight == 1, inflight_zero)),
                # (no column of the old layer in flight: its activation starts at once)
                act_pend_n.eq(~inflight_zero),
            ]
        with m.Else():
            m.d.comb += act_pend_n.eq(s.act_pend & ~pend_go)
            with m.If(self.landed & ~s.old_zero):
                m.d.comb += [old_left_n.eq(s.old_left - 1), old_zero_n.eq(s.old_left == 1)]
            with m.Else():
                m.d.comb += [old_left_n.eq(s.old_left), old_zero_n.eq(s.old_zero)]
        m.d.sync += [
            s.old_left.eq(old_left_n),
            s.old_zero.eq(old_zero_n),
            s.act_pend.eq(act_pend_n),  # (FLUSH clears it: later in the FSM)
        ]
        with m.If(s.flip):
            m.d.sync += ctx.eq(~ctx)
        # the PE array is held the cycle before each accumulator read of the activation: the
        # start from the count, then while the activation may read the cycle after next
        # (``read_after_next``); a register, from the next values (the count's start with or
        # without SOFT_RESET)
        act_on_n = act_start | (s.act_on & self.act_left)
        hold = Signal()
        m.d.sync += hold.eq((act_pend_n & old_zero_n) | (act_on_n & self.read_after_next))
        # no activation issues, is in its pipeline, or starts (a register: the activation's
        # issue, behind the output side's room, is not on the path to the next start)
        s.act_free = Signal()
        m.d.sync += s.act_free.eq(~s.act_on & self.act_drained & ~act_start)
        m.d.comb += [self.act_start.eq(act_start), self.hold.eq(hold)]
        m.d.sync += s.act_on.eq(act_on_n)
        # the activation side's copy: the scan side's layer until the flip, then frozen
        # while the activation waits
        with m.If(~s.act_pend):
            m.d.sync += act_lay.eq(lay)
        m.d.comb += [self.act_layer.eq(act_lay), self.ctx.eq(ctx)]
        for c in range(2):
            with m.If(ctx == c):
                m.d.sync += self.ctx_layer[c].eq(lay)

    def _latency(self, m: Module, s: SimpleNamespace) -> None:
        """LATENCY: the cycles from a step's first ``x_in`` valid to its last ``h_out`` beat.

        ``now`` counts every cycle; the step's offer time (``x_valid`` first seen after the
        previous step's last element was taken, or after CLEAR) moves from ``offer_in`` to
        ``offer_out`` when its last element is taken, so the next step's offer may come
        before this step's end. The first offer after a reset also starts STEP_CYCLES.
        """
        s.now, s.latency = Signal(32), Signal(32)
        s.offer_in, s.offer_out = Signal(32), Signal(32)
        s.offer_tail = Signal(32)  # the tail's offer (early start)
        s.x_wait = Signal(init=1)  # waiting for the first x_in valid of a step
        # x_done a cycle later: the scan's ``done`` does not reach the 32 offer_out enables
        # nor x_wait. Waiting starts with x_done_r as it started with x_done's x_wait; the
        # step's output (out_last, which reads offer_out) is many cycles after x_done
        x_done_r = Signal()
        waiting = s.x_wait | x_done_r
        m.d.sync += [s.now.eq(s.now + 1), x_done_r.eq(s.x_done)]
        with m.If(x_done_r):
            m.d.sync += [s.x_wait.eq(1), s.offer_out.eq(s.offer_in)]
        with m.If(waiting & self.x_valid):
            m.d.sync += [s.x_wait.eq(0), s.offer_in.eq(s.now)]
            with m.If(~s.counting):
                m.d.sync += [s.cyc.eq(1), s.counting.eq(1)]
        with m.If(s.early):
            m.d.sync += s.offer_tail.eq(s.offer_out)
        with m.If(self.out_last):
            m.d.sync += s.latency.eq(s.now - Mux(s.tail, s.offer_tail, s.offer_out) + 1)

    def _abort_on_soft_reset(self, m: Module, s: SimpleNamespace) -> None:
        with m.If(s.pend_soft):
            m.d.sync += [s.in_scan_x.eq(0), s.in_scan_h.eq(0)]
            m.next = "FLUSH"

    @staticmethod
    def _enter_scan_x(m: Module, s: SimpleNamespace) -> None:
        m.d.sync += s.in_scan_x.eq(1)
        m.next = "SCAN_X"

    def _top_layer(self, m: Module, s: SimpleNamespace) -> None:
        """Point the layer registers' word bases at the last used layer (NUM_LAYERS − 1)."""
        lay, sm = self.layer, self.map
        for i in range(self.hw.max_layers):
            with m.If(s.top_is[i]):
                m.d.sync += [
                    s.layer.eq(i),
                    lay.layer0.eq(i == 0),
                    lay.ref_base.eq(i * sm.refg),
                    lay.h_base.eq(i * sm.gmax),
                    lay.acc_base.eq(i * sm.gmax),
                ]

    def _first_layer(self, m: Module, s: SimpleNamespace) -> None:
        """Point the layer registers' word bases at layer 0."""
        lay = self.layer
        m.d.sync += [
            s.layer.eq(0),
            lay.layer0.eq(1),
            lay.ref_base.eq(0),
            lay.h_base.eq(0),
            lay.acc_base.eq(0),
        ]

    def _layer_below(self, m: Module, s: SimpleNamespace) -> None:
        """Point the layer registers' word bases at the layer below (hidden part)."""
        lay, sm = self.layer, self.map
        m.d.sync += [
            s.layer.eq(s.layer - 1),
            lay.layer0.eq(s.layer == 1),
            lay.ref_base.eq(lay.ref_base - sm.refg),
            lay.h_base.eq(lay.h_base - sm.gmax),
            lay.acc_base.eq(lay.acc_base - sm.gmax),
        ]

    def _next_layer(self, m: Module, s: SimpleNamespace) -> None:
        """Point the layer registers' word bases at the next layer."""
        lay, sm = self.layer, self.map
        m.d.sync += [
            s.layer.eq(s.layer + 1),
            lay.layer0.eq(0),
            lay.ref_base.eq(lay.ref_base + sm.refg),
            lay.h_base.eq(lay.h_base + sm.gmax),
            lay.hin_base.eq(lay.h_base),
            lay.acc_base.eq(lay.acc_base + sm.gmax),
        ]

    def _step_states(self, m: Module, s: SimpleNamespace) -> None:
        """IDLE, CHECK, WAITX, DONE: a step's two parts start; it ends when its output has left."""
        regs = self.regs
        check_wait = s.check_wait
        with m.State("IDLE"):
            with m.If(s.pend_soft | regs.soft_reset):
                m.next = "FLUSH"
            # (CLEAR once an early-started step's predecessor has sent its output)
            with m.Elif(s.pend_reset_state | regs.reset_state), m.If(~s.tail):
                m.next = "CLEAR"
            with m.Elif(regs.running & s.ahead):
                # the previous step has ended: the next step's hidden part may run
                m.d.sync += [check_wait.eq(0), s.hid.eq(1)]
                m.next = "CHECK"

        with m.State("CHECK"):
            # the registered configuration check sees the registers of two cycles ago
            m.d.sync += check_wait.eq(check_wait + 1)
            with m.If(check_wait == CHECK_CYCLES - 1):
                with m.If(s.cfg_ok):
                    # the input waits already: layer by layer, each hidden part right
                    # before its input part; else every hidden part ahead, from the top
                    with m.If(self.x_valid):
                        self._first_layer(m, s)
                    with m.Else():
                        self._top_layer(m, s)
                    m.d.sync += [s.ahead.eq(0), s.out_done.eq(0), s.inorder.eq(self.x_valid)]
                    m.next = "LSTART"
                with m.Else():
                    # (not once a SOFT_RESET has come: it cleared ERROR, and IDLE goes on to
                    # FLUSH)
                    m.d.comb += regs.set_error.eq(~s.pend_soft & ~regs.soft_reset)
                    m.d.sync += [s.hid.eq(0), s.ahead.eq(1)]
                    m.next = "IDLE"

        with m.State("WAITX"):
            # the hidden part of every layer is issued (layer 0's last): the input part
            # starts with x_in, on layer 0's registers (loaded for its hidden part)
            m.d.sync += s.armed.eq(1)
            with m.If(s.pend_soft | regs.soft_reset):
                m.next = "FLUSH"
            # (a reset: layer 0's hidden columns may still be in flight, CLEAR once they
            # are not, and once an early-started step's predecessor has sent its output)
            with (
                m.Elif(s.pend_reset_state | regs.reset_state),
                m.If(s.armed & s.datapath_idle & ~s.tail),
            ):
                m.next = "CLEAR"
            with m.Elif(regs.running & self.x_valid):
                # the scan's input pointers; SCAN_X issues from the next cycle
                m.d.comb += self.setup.eq(1)
                m.d.sync += s.hid.eq(0)
                self._enter_scan_x(m, s)

        with m.State("DONE"):
            with m.If(self._step_ends(s)):
                self._end_step(m, s)
            self._abort_on_soft_reset(m, s)

    def _layer_states(self, m: Module, s: SimpleNamespace) -> None:
        """LSTART to BIAS: a layer's setup, for its hidden or its input part."""
        hw, regs, lay = self.hw, self.regs, self.layer
        P = hw.num_pe
        lg_p, lg_bb = clog2(P), clog2(hw.bus_bytes)
        rpg, rpg3 = Signal(16), Signal(18)
        lay_bias, lay_col = Signal(32), Signal(32)

        def last_lanes(size):
            """Lanes of the last row group of a vector of ``size`` (≥ 1) elements."""
            rest = size[:lg_p] if lg_p else Const(0, 1)
            return Mux(rest == 0, (1 << P) - 1, (Const(1, P + 1) << rest) - 1)

        def start_scan_h():
            m.d.sync += s.in_scan_h.eq(1)
            m.next = "SCAN_H"

        def send_bias():
            """Queue the bias column (first step after a reset), then go on to SCAN_H. Not
            while the activation issues: its reads of the accumulators need the PE array
            idle, and the bias column would reach it before they end."""
            sent = s.bias_sent.bit_select(s.layer, 1)
            with m.If(sent):
                start_scan_h()
            with m.Elif(self.scan_ready & ~s.act_on):
                m.d.comb += self.bias.eq(1)
                start_scan_h()
            with m.Else():
                m.next = "BIAS"

        with m.State("LSTART"):
            m.d.sync += [
                lay.n_in.eq(regs.input_size[s.layer]),
                lay.n_hid.eq(regs.hidden_size[s.layer]),
                rpg.eq(regs.rows_per_gate[s.layer]),
                lay_bias.eq(regs.bias_addr[s.layer]),
                lay_col.eq(regs.column_addr[s.layer]),
                lay.stride.eq(regs.column_stride[s.layer]),
                lay.theta_x.eq(Array(s.thx)[s.layer]),
                lay.theta_h.eq(Array(s.thh)[s.layer]),
                lay.last_layer.eq(s.top_is.bit_select(s.layer, 1)),
                s.cnt_x.eq(0),
                s.cnt_h.eq(0),
            ]
            if hw.sparse_weights:
                m.d.sync += lay.slots.eq(regs.slots[s.layer])
            m.next = "LSETUP"
            self._abort_on_soft_reset(m, s)

        with m.State("LSETUP"):
            m.d.comb += [self.setup.eq(~s.hid), self.setup_h.eq(s.hid)]
            m.d.sync += [
                # the last row groups' indices (sizes ≥ 1): a cycle before the scan's
                # ``start`` in LSETUP2, which its last-row-group registers need
                lay.g_in_m1.eq((lay.n_in - 1)[:16] >> lg_p),
                lay.g_hid_m1.eq((lay.n_hid - 1)[:16] >> lg_p),
                lay.g_hid.eq((lay.n_hid + P - 1) >> lg_p),
                lay.groups.eq(rpg >> lg_p),
                rpg3.eq(rpg + (rpg << 1)),  # adds, not a multiplier (DSP)
                lay.bias_beats.eq(((rpg << 2) + hw.bus_bytes - 1) >> lg_bb),
                lay.bias_addr.eq(regs.weight_base + lay_bias),
                lay.col_addr.eq(regs.weight_base + lay_col),
                lay.mask_in_last.eq(last_lanes(lay.n_in)),
                lay.mask_hid_last.eq(last_lanes(lay.n_hid)),
            ]
            m.next = "LSETUP2"
            self._abort_on_soft_reset(m, s)

        with m.State("LSETUP2"):
            if hw.sparse_weights:
                # a sparse column is COLUMN_STRIDE bytes (whole bus words)
                m.d.sync += lay.col_beats.eq(lay.stride >> lg_bb)
            else:
                m.d.sync += lay.col_beats.eq((rpg3 + hw.bus_bytes - 1) >> lg_bb)
            with m.If(s.hid):
                send_bias()
            with m.Else():
                self._enter_scan_x(m, s)
            self._abort_on_soft_reset(m, s)

        with m.State("BIAS"):
            send_bias()
            self._abort_on_soft_reset(m, s)

    def _scan_states(self, m: Module, s: SimpleNamespace) -> None:
        """SCAN_H, HDRAIN (hidden part); SCAN_X, DRAIN, ACT (input part)."""
        lay, regs = self.layer, self.regs
        # (H)DRAIN's (and WAITX's) first cycle sees ``idle`` of the cycle before the last scan
        # issue (IDLE_STAGES registers): it is not looked at
        armed = s.armed
        assert IDLE_STAGES == 2, "one cycle of (H)DRAIN ignored"

        with m.State("SCAN_H"):
            with m.If(self.scan_done):
                m.d.sync += [armed.eq(0), s.in_scan_h.eq(0)]
                # layer 0's hidden part is the last: its input columns follow on the same
                # layer registers, no drain between
                with m.If(lay.layer0):
                    m.next = "WAITX"
                with m.Elif(s.inorder):
                    m.next = "XSETUP"
                with m.Else():
                    m.next = "HDRAIN"
            self._abort_on_soft_reset(m, s)

        with m.State("HDRAIN"):
            # (layers above 0) the layer registers change next: the layer's columns must
            # have left
            m.d.sync += armed.eq(1)
            with m.If(armed & s.datapath_idle):
                m.d.sync += Array(s.nzh_next)[s.layer].eq(s.cnt_h)
                self._layer_below(m, s)
                m.next = "LSTART"
            self._abort_on_soft_reset(m, s)

        with m.State("XSETUP"):
            # (in order, layers above 0) the hidden scan is issued: the scan's input
            # pointers, then SCAN_X on the same layer registers, no drain between
            m.d.comb += self.setup.eq(1)
            m.d.sync += s.hid.eq(0)
            self._enter_scan_x(m, s)
            self._abort_on_soft_reset(m, s)

        with m.State("SCAN_X"):
            with m.If(self.scan_done):
                m.d.comb += s.x_done.eq(lay.layer0)
                m.d.sync += [armed.eq(0), s.in_scan_x.eq(0)]
                m.next = "DRAIN"
            self._abort_on_soft_reset(m, s)

        with m.State("DRAIN"):
            m.d.sync += armed.eq(1)

            def store_nz():
                m.d.sync += [
                    Array(s.nzs_x)[s.layer].eq(s.cnt_x),
                    # layer 0's hidden deltas (every layer's, in order) are counted on: no
                    # LSTART since its SCAN_H
                    Array(s.nzs_h)[s.layer].eq(
                        Mux(lay.layer0 | s.inorder, s.cnt_h, Array(s.nzh_next)[s.layer])
                    ),
                ]

            # column contexts: the scan side moves on once it has queued the layer's last
            # delta (and the layer before has started its activation); this layer's
            # columns stream on from the other context's copy, and its activation starts
            # when they have landed (``_contexts``), issuing on its own (``act_on``, its
            # copy ``act_layer``). The next layer's scan waits while the activation
            # issues, and its scan of row group j (input part) for this layer's h of row
            # group j (the activation side's ``avail``); after the last layer, ACT waits
            # for the activation (or starts the next step early)
            # (across steps, the last layer's activation may still run when the next step's
            # layer 0 is scanned: the next layer's hidden scan reads the h it writes)
            # (DRAIN is left at the flip or at a SOFT_RESET: ``drain_armed`` is not set then)
            m.d.sync += s.drain_armed.eq(~s.flip & ~s.pend_soft)
            with m.If(s.flip):
                store_nz()
                with m.If(~lay.last_layer):
                    self._next_layer(m, s)
                    m.d.sync += s.hid.eq(s.inorder)
                    m.next = "LSTART"
                with m.Else():
                    m.next = "ACT"
            self._abort_on_soft_reset(m, s)

        with m.State("ACT"):
            # (last layer) its activation issues, then drains into the output side
            resets = s.pend_soft | regs.soft_reset | s.pend_reset_state | regs.reset_state
            with m.If(~lay.layer0 & self.x_valid & regs.running & ~resets & ~s.tail):
                # early start: the next step's input waits (its Θ is written): the next
                # step's layer 0 runs while this step's activation and output finish (the
                # tail; layer 0's h and accumulators are final since this step's layer 1
                # scanned its input; the scan waits while the activation issues)
                m.d.comb += s.early.eq(1)
                m.d.sync += [s.check_wait.eq(0), s.hid.eq(1), s.tail.eq(1)]
                m.next = "CHECK"
            with m.Elif(~s.act_pend & ~self.act_left & self.act_drained):
                # (the output register takes the last row group as it comes out: its beat,
                # the step's end, may be sent in the cycle the activation is seen drained)
                with m.If(self._step_ends(s)):
                    self._end_step(m, s)
                with m.Else():
                    m.next = "DONE"
            self._abort_on_soft_reset(m, s)

    def _step_ends(self, s: SimpleNamespace):
        """The step's final ``h_out`` beat is accepted (now, or before) and the output FIFO is
        empty."""
        return self.out_empty & (s.out_done | (self.out_last & ~s.tail))

    def _end_step(self, m: Module, s: SimpleNamespace) -> None:
        """The step ends: the next step's hidden part starts at once (CHECK), or IDLE."""
        regs = self.regs
        resets = s.pend_soft | regs.soft_reset | s.pend_reset_state | regs.reset_state
        with m.If(regs.running & ~resets):
            m.d.sync += [s.check_wait.eq(0), s.hid.eq(1)]
            m.next = "CHECK"
        with m.Else():
            m.next = "IDLE"

    def _reset_states(self, m: Module, s: SimpleNamespace) -> None:
        """FLUSH, CLEAR: SOFT_RESET and RESET_STATE."""
        with m.State("FLUSH"):
            m.d.comb += self.flush.eq(1)
            # an activation waiting for its columns is dropped (the columns still land)
            m.d.sync += s.act_pend.eq(0)
            with m.If(s.datapath_idle):
                m.d.sync += s.pend_soft.eq(0)
                m.next = "CLEAR"

        with m.State("CLEAR"):
            m.d.comb += [s.clr_en.eq(1), self.flush.eq(1)]
            m.d.sync += [
                s.clr_addr.eq(s.clr_addr + 1),
                s.clr_last.eq(s.clr_addr == self.map.clear_depth - 2),
            ]
            with m.If(s.clr_last):
                if self.map.clear_depth == 1:
                    m.d.comb += self.clear.eq(1)
                m.d.sync += [
                    s.clr_addr.eq(0),
                    s.clr_last.eq(self.map.clear_depth == 1),
                    s.bias_sent.eq(0),
                    s.pend_reset_state.eq(0),
                    s.step_count.eq(0),
                    s.ahead.eq(1),
                    s.hid.eq(0),
                    s.out_done.eq(0),
                    s.tail.eq(0),
                ]
                # the first step after a reset is counted from its first x_in valid; an
                # input offered during the reset keeps the offer time it was seen at
                with m.If(~self.x_valid):
                    m.d.sync += [s.counting.eq(0), s.x_wait.eq(1)]
                m.next = "IDLE"
