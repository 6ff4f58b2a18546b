"""Controller and configuration check (edgedrnn.hw.control): the step sequence and its cycles."""

from __future__ import annotations

from amaranth.sim import Simulator

from edgedrnn import HardwareConfig
from edgedrnn.hw.common import StateMap
from edgedrnn.hw.control import ConfigCheck, Controller
from edgedrnn.hw.pipeline import (
    CHECK_CYCLES,
    CLEAR_WRITE_DELAY,
    CONFIG_CHECK_STAGES,
    IDLE_STAGES,
    LAYER_SETUP_CYCLES,
)

HW = HardwareConfig(num_pe=4, bus_bits=64, max_layers=2, max_input_size=8, max_hidden_size=8)
IDLE_ALL = (1 << 6) - 1


def _run(dut, bench):
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


def _config(ctx, regs, **over):
    """One layer: I = 3, H = 5, R = 8, 3-beat columns (64-bit bus)."""
    cfg = {
        "num_layers": 1,
        "weight_base": 0x1000,
        "input_size": [3, 0],
        "hidden_size": [5, 0],
        "rows_per_gate": [8, 0],
        "column_stride": [24, 0],
    }
    cfg.update(over)
    for name, value in cfg.items():
        ctx.set(getattr(regs, name), value)


def test_config_check_latency_and_terms():
    """``ok`` follows the registers CONFIG_CHECK_STAGES cycles later; each rule is checked."""
    dut = ConfigCheck(HW)
    bad = [
        {"num_layers": 0},
        {"num_layers": 3},
        {"weight_base": 0x1004},
        {"input_size": [9, 0]},
        {"hidden_size": [0, 0]},
        {"rows_per_gate": [4, 0]},  # < hidden_size
        {"rows_per_gate": [6, 0]},  # not a multiple of NUM_PE
        {"rows_per_gate": [12, 0]},  # > groups_max · NUM_PE
        {"column_stride": [20, 0]},  # not a multiple of the bus width
        {"num_layers": 2, "input_size": [3, 4], "hidden_size": [5, 5], "rows_per_gate": [8, 8]},
    ]

    async def bench(ctx):
        _config(ctx, dut)
        await ctx.tick().repeat(CONFIG_CHECK_STAGES)
        assert ctx.get(dut.ok)
        for over in bad:
            _config(ctx, dut, **over)
            for _ in range(CONFIG_CHECK_STAGES):
                assert ctx.get(dut.ok), over
                await ctx.tick()
            assert not ctx.get(dut.ok), over
            _config(ctx, dut)
            await ctx.tick().repeat(CONFIG_CHECK_STAGES)
            assert ctx.get(dut.ok)
        # a second layer that is consistent with the first
        _config(ctx, dut, num_layers=2, input_size=[3, 5], hidden_size=[5, 2],
                rows_per_gate=[8, 4], column_stride=[24, 16])  # fmt: skip
        await ctx.tick().repeat(CONFIG_CHECK_STAGES)
        assert ctx.get(dut.ok)

    _run(dut, bench)


def _config_ok(hw: HardwareConfig, cfg: dict) -> bool:
    """The configuration check at full width (32-bit registers), as docs/rtl.md states it."""
    from edgedrnn.hw.fetch import stride_bits

    L, P, bb = hw.max_layers, hw.num_pe, hw.bus_bytes
    gmax = StateMap.of(hw).gmax
    n = cfg["num_layers"]
    if not (1 <= n <= L and cfg["weight_base"] % bb == 0):
        return False
    for i in range(n):
        isz, hsz = cfg["input_size"][i], cfg["hidden_size"][i]
        rpg, stride = cfg["rows_per_gate"][i], cfg["column_stride"][i]
        ok = (
            1 <= isz <= (hw.max_input_size if i == 0 else hw.max_hidden_size)
            and 1 <= hsz <= hw.max_hidden_size
            and hsz <= rpg <= gmax * P
            and rpg % P == 0
            and stride % bb == 0
            and stride < 1 << stride_bits(hw)
            and (i == 0 or isz == cfg["hidden_size"][i - 1])
        )
        if hw.sparse_weights:
            ok = ok and 1 <= cfg["slots"][i] <= rpg // P
        if not ok:
            return False
    return True


def test_config_check_random_values_full_width():
    """``ok`` equals the full-width check on random 32-bit register values around every
    limit (the check compares only the bits of its range checks where that is exact)."""
    import random

    for hw in (HW, HardwareConfig(num_pe=4, bus_bits=64, max_layers=3, max_input_size=8,
                                  max_hidden_size=8, sparse_weights=True)):  # fmt: skip
        dut = ConfigCheck(hw)
        rnd = random.Random(hw.sparse_weights)
        L = hw.max_layers

        def value(limit, rnd=rnd):
            r = rnd.random()
            if r < 0.15:
                return rnd.getrandbits(32)  # anything, high bits too
            if r < 0.3:
                return rnd.randrange(limit + 1) | 1 << rnd.randrange(4, 32)  # a far high bit
            return rnd.choice([0, 1, limit, limit + 1, rnd.randrange(1, limit + 1)])

        async def bench(ctx, dut=dut, hw=hw, value=value, rnd=rnd, L=L):
            seen = [0, 0]
            for _ in range(400):
                P = hw.num_pe
                h = [rnd.randrange(1, hw.max_hidden_size + 1) for _ in range(L)]
                rpg = [-(-x // P) * P for x in h]
                cfg = {
                    "num_layers": rnd.randrange(1, L + 1),
                    "weight_base": rnd.choice([0, 8, 0x1000]),
                    "input_size": [rnd.randrange(1, hw.max_input_size + 1), *h[:-1]],
                    "hidden_size": h,
                    "rows_per_gate": rpg,
                    "column_stride": [rnd.choice([8, 16, 24]) for _ in h],
                }
                if hw.sparse_weights:
                    cfg["slots"] = [rnd.randrange(1, r // P + 1) for r in rpg]
                for _ in range(rnd.choice([0, 0, 1, 2])):  # spoil a field (or not)
                    name = rnd.choice(sorted(cfg))
                    if name in ("num_layers", "weight_base"):
                        cfg[name] = value(L if name == "num_layers" else 0x1004)
                    else:
                        limit = {"column_stride": 1 << 12, "slots": 2}.get(name, 8)
                        cfg[name][rnd.randrange(L)] = value(limit)
                for name, v in cfg.items():
                    ctx.set(getattr(dut, name), v)
                await ctx.tick().repeat(CONFIG_CHECK_STAGES)
                want = _config_ok(hw, cfg)
                assert ctx.get(dut.ok) == want, cfg
                seen[want] += 1
            assert min(seen) > 40, seen  # both outcomes well covered

        _run(dut, bench)


def test_controller_step():
    """Two steps of one layer. The hidden part starts at once (after RESET_STATE, and after a
    step's last h_out beat): its scan 1 + CHECK_CYCLES + LAYER_SETUP_CYCLES cycles after IDLE
    (bias queued the cycle before), then WAITX (layer 0: no drain), not busy. WAITX loads the
    input pointers the cycle it sees x_in, the input part's scan starts the cycle after; DRAIN
    leaves IDLE_STAGES cycles after the datapath is idle (not in its first cycle); STEP_CYCLES,
    LATENCY and the delta counts (layer 0's hidden deltas counted until DRAIN) land in the
    registers."""
    dut = Controller(HW, idle_terms=6)
    regs, lay = dut.regs, dut.layer

    async def bench(ctx):
        now = 0

        async def tick(n=1):
            nonlocal now
            if n:
                await ctx.tick().repeat(n)
            now += n

        _config(ctx, regs, bias_addr=[0x40, 0], column_addr=[0x80, 0], theta_x=[5, 0],
                theta_h=[7, 0])  # fmt: skip
        ctx.set(dut.idle, IDLE_ALL)
        ctx.set(dut.scan_ready, 1)
        ctx.set(dut.out_empty, 1)
        ctx.set(dut.act_drained, 1)  # the activation side is idle
        # RESET_STATE latches Θ of the first step; CLEAR runs
        ctx.set(regs.reset_state, 1)
        await tick()
        ctx.set(regs.reset_state, 0)
        await tick(StateMap.of(HW).clear_depth + CLEAR_WRITE_DELAY + 2)
        ctx.set(regs.running, 1)
        strobes = {}
        for cycle in range(1 + CHECK_CYCLES + LAYER_SETUP_CYCLES + 1):
            for name in ("setup_h", "setup", "bias", "scan_h", "scan_x"):
                if ctx.get(getattr(dut, name)) and name not in strobes:
                    strobes[name] = cycle
            assert not ctx.get(regs.busy)
            await tick()
        first_scan = 1 + CHECK_CYCLES + LAYER_SETUP_CYCLES
        assert strobes == {
            "setup_h": first_scan - 2,
            "bias": first_scan - 1,
            "scan_h": first_scan,
        }
        fields = {
            "layer0": 1, "last_layer": 1, "n_in": 3, "n_hid": 5, "g_hid": 2,
            "g_in_m1": 0, "g_hid_m1": 1, "mask_in_last": 0b0111, "mask_hid_last": 0b0001,
            "groups": 2, "col_beats": 3, "bias_beats": 4, "bias_addr": 0x1040,
            "col_addr": 0x1080, "stride": 24, "ref_base": 0, "h_base": 0, "acc_base": 0,
            "theta_x": 5, "theta_h": 7,
        }  # fmt: skip
        assert {k: ctx.get(getattr(lay, k)) for k in fields} == fields
        ctx.set(regs.theta_x, [9, 0])  # for the next step: latched at this step's end

        async def drain(strobe):
            """The datapath busy for a while, then idle: ``strobe`` IDLE_STAGES later."""
            ctx.set(dut.idle, 0)
            await tick(4)
            ctx.set(dut.idle, IDLE_ALL)
            for _ in range(IDLE_STAGES):
                assert strobe is None or not ctx.get(strobe)
                await tick()
            assert strobe is None or ctx.get(strobe)

        async def step(n_hidden, n_input, x_wait):
            """SCAN_H (``n_hidden`` deltas, the last one sent in WAITX), WAITX for ``x_wait``
            cycles, SCAN_X, DRAIN, ACT, DONE; returns the cycles of x_valid's rise and of the
            last h_out beat."""
            ctx.set(dut.idle, 0)  # the scan issues
            ctx.set(dut.sent_h, 1)
            await tick(n_hidden - 1)
            ctx.set(dut.sent_h, 0)
            ctx.set(dut.scan_done, 1)
            await tick()  # to WAITX
            ctx.set(dut.scan_done, 0)
            assert not ctx.get(dut.scan_h) and not ctx.get(regs.busy)  # WAITX
            ctx.set(dut.sent_h, 1)
            await tick()  # a hidden delta leaves the encoder in WAITX
            ctx.set(dut.sent_h, 0)
            await drain(None)
            await tick(x_wait)
            assert not ctx.get(regs.busy)  # WAITX
            ctx.set(dut.x_valid, 1)
            offered = now
            for cycle in range(2):
                assert ctx.get(dut.setup) == (cycle == 0)
                assert ctx.get(dut.scan_x) == (cycle == 1)
                await tick()
            ctx.set(dut.idle, 0)
            ctx.set(dut.sent_x, 1)
            await tick(n_input)
            ctx.set(dut.sent_x, 0)
            ctx.set(dut.x_valid, 0)
            ctx.set(dut.scan_done, 1)
            await tick()  # to DRAIN
            ctx.set(dut.scan_done, 0)
            assert ctx.get(regs.busy)
            await drain(dut.act_start)
            await tick()
            assert ctx.get(dut.act_run)
            # act_left is 0, act_drained 1: all row groups issued
            await tick()
            assert not ctx.get(dut.act_run)  # DONE, waiting for the last h_out beat
            await tick(3)
            assert ctx.get(regs.busy)
            ctx.set(dut.out_last, 1)
            end = now
            await tick()
            ctx.set(dut.out_last, 0)
            await tick()
            return offered, end

        offered, end = await step(1, 2, x_wait=5)
        ctx.set(regs.theta_x, [11, 0])  # after the step's end: for the step after next
        assert ctx.get(regs.step_cycles) == end - offered + 1
        assert ctx.get(regs.latency) == end - offered + 1
        assert ctx.get(regs.step_count) == 1
        assert list(ctx.get(regs.nz_x)) == [2, 0] and list(ctx.get(regs.nz_h)) == [1, 0]
        # the next step's hidden part starts on its own: its scan 1 + CHECK_CYCLES +
        # LAYER_SETUP_CYCLES cycles after the last h_out beat (DONE, CHECK, setup)
        await tick(first_scan - 2)
        assert ctx.get(dut.scan_h) and not ctx.get(regs.busy)
        assert ctx.get(lay.theta_x) == 9
        offered2, end2 = await step(3, 1, x_wait=7)
        assert ctx.get(regs.step_cycles) == end2 - end
        assert ctx.get(regs.latency) == end2 - offered2 + 1
        assert ctx.get(regs.step_count) == 2
        assert list(ctx.get(regs.nz_x)) == [1, 0] and list(ctx.get(regs.nz_h)) == [3, 0]

    _run(dut, bench)


def test_controller_bad_config_sets_error():
    dut = Controller(HW, idle_terms=6)

    async def bench(ctx):
        _config(ctx, dut.regs, num_layers=0, running=1)
        ctx.set(dut.x_valid, 1)
        for cycle in range(1 + CHECK_CYCLES + 3):
            assert ctx.get(dut.regs.set_error) == (cycle == CHECK_CYCLES)
            assert not ctx.get(dut.setup)
            await ctx.tick()

    _run(dut, bench)


def test_controller_soft_reset_flushes_then_clears():
    """SOFT_RESET: FLUSH until the datapath is idle, then CLEAR writes every word once,
    CLEAR_WRITE_DELAY cycles behind its count, and drops the output's reservations."""
    dut = Controller(HW, idle_terms=6)
    depth = StateMap.of(HW).clear_depth

    async def bench(ctx):
        ctx.set(dut.regs.soft_reset, 1)
        await ctx.tick()
        ctx.set(dut.regs.soft_reset, 0)
        assert ctx.get(dut.flush) and ctx.get(dut.regs.busy)
        await ctx.tick().repeat(4)
        ctx.set(dut.idle, IDLE_ALL)
        await ctx.tick().repeat(IDLE_STAGES)
        # FLUSH sees the idle datapath: CLEAR from the next cycle
        cleared, clear_at = [], None
        for cycle in range(depth + 10):
            if ctx.get(dut.clr_en):
                cleared.append((cycle, ctx.get(dut.clr_addr)))
            if ctx.get(dut.clear):
                clear_at = cycle
            await ctx.tick()
        assert [a for _, a in cleared] == list(range(depth))
        first = cleared[0][0]
        assert clear_at == first - CLEAR_WRITE_DELAY + depth - 1
        assert not ctx.get(dut.regs.busy)

    _run(dut, bench)


def test_controller_reset_state_in_waitx_waits_for_the_datapath():
    """RESET_STATE after the hidden part (WAITX, layer 0's hidden columns still in flight):
    CLEAR starts only once the datapath is idle, and x_in is not taken meanwhile."""
    dut = Controller(HW, idle_terms=6)
    regs = dut.regs

    async def bench(ctx):
        _config(ctx, regs)
        ctx.set(dut.idle, IDLE_ALL)
        ctx.set(dut.scan_ready, 1)
        ctx.set(dut.out_empty, 1)
        ctx.set(regs.running, 1)
        while not ctx.get(dut.scan_h):
            await ctx.tick()
        ctx.set(dut.idle, 0)
        ctx.set(dut.scan_done, 1)
        await ctx.tick()  # to WAITX
        ctx.set(dut.scan_done, 0)
        ctx.set(regs.reset_state, 1)
        ctx.set(dut.x_valid, 1)
        await ctx.tick()
        ctx.set(regs.reset_state, 0)
        for _ in range(6):
            assert not ctx.get(dut.flush) and ctx.get(regs.busy)
            assert not ctx.get(dut.setup) and not ctx.get(dut.scan_x)
            await ctx.tick()
        ctx.set(dut.idle, IDLE_ALL)
        for _ in range(IDLE_STAGES):
            assert not ctx.get(dut.flush)
            await ctx.tick()
        await ctx.tick()
        assert ctx.get(dut.flush)  # CLEAR

    _run(dut, bench)


def _two_layers(ctx, regs, **over):
    """Two layers: I = 3, H = 5 each (R = 8, 3-beat columns)."""
    _config(ctx, regs, num_layers=2, input_size=[3, 5], hidden_size=[5, 5],
            rows_per_gate=[8, 8], column_stride=[24, 24], **over)  # fmt: skip


def _early_bench(dut, ctx):
    """Helpers for a two-layer controller whose datapath answers at once: a scan is done the
    cycle after it issues (one delta each when ``deltas[0]``), the activation has no row
    group left and is drained, the datapath is idle."""
    regs, lay = dut.regs, dut.layer
    state = {"now": 0, "deltas": [True]}

    async def cycle():
        scan_h, scan_x = ctx.get(dut.scan_h), ctx.get(dut.scan_x)
        ctx.set(dut.scan_done, scan_h | scan_x)
        ctx.set(dut.sent_h, scan_h & state["deltas"][0])
        ctx.set(dut.sent_x, scan_x & state["deltas"][0])
        await ctx.tick()
        state["now"] += 1

    async def until(cond, limit=200):
        for _ in range(limit):
            if cond():
                return
            await cycle()
        raise AssertionError("condition not reached")

    def in_act(last):
        return ctx.get(dut.act_run) and ctx.get(lay.last_layer) == last

    async def start():
        _two_layers(ctx, regs, theta_x=[5, 6], theta_h=[0, 0])
        ctx.set(dut.idle, IDLE_ALL)
        ctx.set(dut.scan_ready, 1)
        ctx.set(dut.out_empty, 1)
        ctx.set(dut.act_drained, 1)
        ctx.set(regs.reset_state, 1)
        await ctx.tick()
        ctx.set(regs.reset_state, 0)
        await ctx.tick().repeat(StateMap.of(HW).clear_depth + CLEAR_WRITE_DELAY + 2)
        ctx.set(regs.running, 1)
        ctx.set(dut.x_valid, 1)  # every step's input is waiting (back to back)
        state["offer"] = state["now"]

    async def pulse(signal):
        ctx.set(signal, 1)
        await cycle()
        ctx.set(signal, 0)

    return state, cycle, until, in_act, start, pulse


def test_controller_early_start():
    """Two layers, inputs waiting: the next step starts when the last layer's ACT has issued
    its row groups (no DONE), its Θ latched then (a Θ write after that is for the step after);
    the predecessor's last h_out beat (the tail) then lands STEP_CYCLES, LATENCY, STEP_COUNT and
    the predecessor's NZ (not those of the running step's layer 0, stored before it)."""
    dut = Controller(HW, idle_terms=6)
    regs, lay = dut.regs, dut.layer

    async def bench(ctx):
        state, cycle, until, in_act, start, pulse = _early_bench(dut, ctx)
        await start()
        await until(lambda: ctx.get(dut.scan_x))  # step 0, layer 0's input scan
        ctx.set(regs.theta_x, [9, 10])  # written before step 1's input is offered (§7)
        await until(lambda: in_act(last=1))
        await cycle()  # ACT → CHECK: step 1 starts; step 0's output still leaves
        assert not ctx.get(dut.act_run) and ctx.get(regs.step_count) == 0
        ctx.set(regs.theta_x, [13, 14])  # after step 1's start: for step 2
        state["deltas"][0] = False  # step 1 passes nothing
        await until(lambda: ctx.get(dut.scan_h))
        assert ctx.get(lay.layer0) and ctx.get(lay.theta_x) == 9
        await until(lambda: in_act(last=0))  # step 1's layer 0 drained: its NZ stored
        assert ctx.get(regs.step_count) == 0
        end0 = state["now"]
        await pulse(dut.out_last)  # step 0's last h_out beat
        assert ctx.get(regs.step_count) == 1
        assert list(ctx.get(regs.nz_x)) == [1, 1] and list(ctx.get(regs.nz_h)) == [1, 1]
        assert ctx.get(regs.step_cycles) == end0 - state["offer"] + 1
        assert ctx.get(regs.latency) == end0 - state["offer"] + 1
        await until(lambda: ctx.get(dut.scan_h))
        assert not ctx.get(lay.layer0) and ctx.get(lay.theta_x) == 10
        await until(lambda: in_act(last=1))
        await cycle()  # step 2 starts early too (step 0's tail has left)
        end1 = state["now"]
        await pulse(dut.out_last)
        assert ctx.get(regs.step_count) == 2 and ctx.get(regs.step_cycles) == end1 - end0
        assert list(ctx.get(regs.nz_x)) == [0, 0] and list(ctx.get(regs.nz_h)) == [0, 0]
        await until(lambda: ctx.get(dut.scan_h))
        assert ctx.get(lay.theta_x) == 13

    _run(dut, bench)


def test_controller_no_early_start_for_one_layer():
    """One layer: the next step's hidden part reads the h that the activation still writes,
    so the step ends (DONE, its last h_out beat) before the next starts."""
    dut = Controller(HW, idle_terms=6)

    async def bench(ctx):
        _state, cycle, until, _in_act, start, pulse = _early_bench(dut, ctx)
        await start()
        ctx.set(dut.regs.num_layers, 1)
        await until(lambda: ctx.get(dut.act_run))
        for _ in range(10):
            await cycle()
            assert not ctx.get(dut.scan_h) and not ctx.get(dut.setup_h)
        await pulse(dut.out_last)
        await until(lambda: ctx.get(dut.scan_h), limit=1 + CHECK_CYCLES + LAYER_SETUP_CYCLES)

    _run(dut, bench)


def test_controller_reset_state_during_an_early_started_step():
    """RESET_STATE given after an early start: the started step stops in WAITX (x_in not
    taken) until its predecessor's last h_out beat has left, then CLEAR discards it."""
    dut = Controller(HW, idle_terms=6)
    regs = dut.regs

    async def bench(ctx):
        _state, cycle, until, in_act, start, pulse = _early_bench(dut, ctx)
        await start()
        await until(lambda: in_act(last=1))
        await cycle()  # step 1 starts early
        await pulse(regs.reset_state)
        for _ in range(30):  # SCAN_H(0), then WAITX holds
            assert not ctx.get(dut.flush) and not ctx.get(dut.scan_x)
            await cycle()
        await pulse(dut.out_last)  # step 0's output has left: CLEAR
        assert ctx.get(regs.step_count) == 1
        await until(lambda: ctx.get(dut.flush), limit=IDLE_STAGES + 3)
        assert not ctx.get(dut.scan_x)

    _run(dut, bench)


def test_controller_soft_reset_during_an_early_started_step():
    """SOFT_RESET after an early start: FLUSH (the predecessor's output is discarded), then
    CLEAR; the steps after it start as after any reset."""
    dut = Controller(HW, idle_terms=6)
    regs = dut.regs

    async def bench(ctx):
        _state, cycle, until, in_act, start, pulse = _early_bench(dut, ctx)
        await start()
        await until(lambda: in_act(last=1))
        await cycle()  # step 1 starts early
        await pulse(regs.soft_reset)
        await until(lambda: ctx.get(dut.flush), limit=CHECK_CYCLES + 2)  # (from LSTART)
        await until(lambda: ctx.get(dut.clear), limit=StateMap.of(HW).clear_depth + 10)
        await cycle()
        # after CLEAR: a new sequence starts from IDLE (no tail left behind)
        await until(lambda: ctx.get(dut.scan_h), limit=2 + CHECK_CYCLES + LAYER_SETUP_CYCLES)
        await until(lambda: in_act(last=1))
        await cycle()
        await until(lambda: ctx.get(dut.scan_h), limit=CHECK_CYCLES + LAYER_SETUP_CYCLES + 1)

    _run(dut, bench)


def test_controller_sets_up_the_next_layer_beside_the_activation():
    """DRAIN's exit starts the activation (ACT flag ``act_run`` until no row group is left)
    and the next layer's setup at once; the next layer's scan (h memory reads) and its bias
    column (first step: it would reach the PE array, whose accumulators the activation
    reads) wait while the activation issues: the bias the cycle after, then the scan."""
    dut = Controller(HW, idle_terms=6)
    lay = dut.layer

    async def bench(ctx):
        _state, cycle, until, _in_act, start, _pulse = _early_bench(dut, ctx)
        await start()
        await until(lambda: ctx.get(dut.act_start))
        ctx.set(dut.act_left, 1)  # the activation issues for a while
        await cycle()
        setup_h = False
        for _ in range(8):
            assert ctx.get(dut.act_run) and not ctx.get(dut.scan_h) and not ctx.get(dut.bias)
            setup_h |= bool(ctx.get(dut.setup_h))
            await cycle()
        assert setup_h and not ctx.get(lay.layer0)  # layer 1 is set up, its scan waits
        ctx.set(dut.act_left, 0)  # the last row group is issued
        await cycle()
        assert not ctx.get(dut.act_run) and ctx.get(dut.bias) and not ctx.get(dut.scan_h)
        await cycle()
        assert ctx.get(dut.scan_h)

    _run(dut, bench)


def test_controller_column_contexts():
    """Two layers: layer 0's DRAIN moves the scan side on (the context flips, LSTART of layer
    1) as soon as the scan side is idle, with layer 0's columns still in flight; their
    context's copy of the layer registers and the activation's copy keep layer 0, and the
    activation starts the cycle after the count of those columns reaches zero (``landed``),
    holding the PE array from that cycle while it has row groups to issue."""
    dut = Controller(HW, idle_terms=6)
    lay = dut.layer
    scan_side = 0b000011  # the scan and the encoder idle, the rest of the datapath busy

    async def bench(ctx):
        state, cycle, until, _, start, pulse = _early_bench(dut, ctx)
        await start()
        await until(lambda: ctx.get(dut.scan_h))  # layer 0's hidden scan
        assert ctx.get(dut.ctx) == 0
        ctx.set(dut.idle, scan_side)
        for _ in range(2):
            await pulse(dut.sent)  # two columns of layer 0 queued
        await until(lambda: ctx.get(dut.scan_x))
        await cycle()  # the scan is done: DRAIN
        flip = state["now"]
        await until(lambda: ctx.get(dut.ctx) == 1, limit=IDLE_STAGES + 1)
        assert state["now"] - flip == IDLE_STAGES  # DRAIN's first cycle is not looked at
        # flipped: layer 1 is set up while layer 0's columns stream from context 0
        assert ctx.get(dut.ctx) == 1 and not ctx.get(lay.layer0)
        assert not ctx.get(dut.act_start) and not ctx.get(dut.hold)
        for _ in range(3):
            await cycle()
        assert ctx.get(dut.ctx_layer[0].layer0) and ctx.get(dut.ctx_layer[0].acc_base) == 0
        assert not ctx.get(dut.ctx_layer[1].layer0)
        assert ctx.get(dut.ctx_layer[1].acc_base) == ctx.get(lay.acc_base) != 0
        assert ctx.get(dut.act_layer.layer0) and ctx.get(dut.act_layer.acc_base) == 0
        await pulse(dut.landed)
        for _ in range(3):
            assert not ctx.get(dut.act_start) and not ctx.get(dut.hold)
            await cycle()
        ctx.set(dut.landed, 1)
        assert not ctx.get(dut.act_start)
        await cycle()
        ctx.set(dut.landed, 0)
        assert ctx.get(dut.act_start) and ctx.get(dut.hold)
        ctx.set(dut.read_after_next, 1)  # two row groups: a read the cycle after next
        await cycle()
        ctx.set(dut.act_left, 1)
        assert ctx.get(dut.act_run) and ctx.get(dut.hold)
        ctx.set(dut.read_after_next, 0)  # the second read is next cycle's, the last
        await cycle()
        ctx.set(dut.act_left, 0)
        assert ctx.get(dut.act_run) and not ctx.get(dut.hold)

    _run(dut, bench)
