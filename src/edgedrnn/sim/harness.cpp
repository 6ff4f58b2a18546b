// edgedrnn Verilator harness: drives the EdgeDRNN top level (AXI4-Lite CSR slave, AXI4 read
// master for the weights, x_in / h_out streams) from C++, so that Python only calls in once per
// register access or time step (see src/edgedrnn/sim/model.py, which loads this as a shared
// library through ctypes).
//
// Build-time defines: EDRNN_BUS_BITS (width of mem rdata), EDRNN_LANES (NUM_PE: Q8.8 elements
// per x_in / h_out beat), EDRNN_TOP (Verilated class name), EDRNN_TOP_H (its header, as a
// string).
//
// Clocking: one cycle = set inputs, eval with clk low (combinational outputs settle), sample
// all handshakes (valid && ready), posedge eval, then update the testbench state from the
// sampled handshakes. Valid signals driven by the harness are held until accepted (AXI rule);
// ready signals are randomised freely.
//
// Pacing and step timing: with a step size (x_in beats per step) set, the harness numbers the
// queued x_in beats by step and records, per step, the cycle its first beat was queued by the
// host (push), the cycle that beat's VALID was raised (offer) and the cycle its last h_out beat
// (LAST set) was accepted (end). With a frame of N cycles, the first beat of step s > 0 is not
// offered before offer[s-1] + N.

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "verilated.h"
#include EDRNN_TOP_H

#ifndef EDRNN_BUS_BITS
#error "EDRNN_BUS_BITS must be defined"
#endif
#ifndef EDRNN_LANES
#error "EDRNN_LANES must be defined"
#endif

// Verilator encodes "__" in port names as "___05F".
#define PORT(group, field) top->group##___05F##field

static const int kBusBytes = EDRNN_BUS_BITS / 8;
static const int kLanes = EDRNN_LANES;
// x_in payload: lane k in bits 16k..16k+15; h_out payload: the same, then ``last``.
static const int kXWords = (16 * kLanes + 31) / 32;
static const int kHWords = (16 * kLanes + 1 + 31) / 32;

namespace {

// Verilator ports up to 64 bits are integers, wider ones VlWide arrays of 32-bit words.
template <typename T>
void port_set(T& port, const uint32_t* w, int n) {
    uint64_t v = w[0];
    if (n > 1) v |= uint64_t(w[1]) << 32;
    port = T(v);
}
template <std::size_t N>
void port_set(VlWide<N>& port, const uint32_t* w, int n) {
    for (std::size_t i = 0; i < N; ++i) port[i] = int(i) < n ? w[i] : 0;
}
template <typename T>
void port_get(const T& port, uint32_t* w, int n) {
    uint64_t v = port;
    w[0] = uint32_t(v);
    if (n > 1) w[1] = uint32_t(v >> 32);
}
template <std::size_t N>
void port_get(const VlWide<N>& port, uint32_t* w, int n) {
    for (int i = 0; i < n; ++i) w[i] = std::size_t(i) < N ? port[i] : 0;
}

// One beat of x_in or h_out: kLanes elements (and, for h_out, the last flag).
struct Beat {
    int16_t v[kLanes];
    bool last = false;
};

void pack(const Beat& b, uint32_t* w, int n) {
    for (int i = 0; i < n; ++i) w[i] = 0;
    for (int k = 0; k < kLanes; ++k)
        w[k / 2] |= uint32_t(uint16_t(b.v[k])) << (16 * (k % 2));
}

Beat unpack_h(const uint32_t* w) {
    Beat b;
    for (int k = 0; k < kLanes; ++k) b.v[k] = int16_t(w[k / 2] >> (16 * (k % 2)));
    int bit = 16 * kLanes;
    b.last = (w[bit / 32] >> (bit % 32)) & 1;
    return b;
}

struct Burst {
    uint64_t addr;
    uint32_t beats;
    uint32_t done;
    uint64_t ready_at;
};

struct Sim {
    VerilatedContext* ctx = nullptr;
    EDRNN_TOP* top = nullptr;
    uint64_t cycle = 0;
    std::mt19937_64 rng;
    std::uniform_real_distribution<double> uni{0.0, 1.0};

    // Memory model.
    std::vector<uint8_t> mem;
    uint32_t latency = 1;
    double ar_stall = 0.0, r_stall = 0.0;
    std::deque<Burst> bursts;
    uint32_t max_outstanding = 64;
    bool r_valid = false;
    uint64_t n_bursts = 0, n_beats = 0, n_oob = 0;
    uint64_t loaded_lo = UINT64_MAX, loaded_hi = 0;  // span of the loaded image

    // Streams.
    double x_stall = 0.0, h_stall = 0.0;
    // h_out is ready only while the host waits for beats (edrnn_pop_h), as for a host that
    // reads the port: a step cannot end, and its registers cannot change, behind its back.
    uint32_t h_want = 0;
    std::deque<Beat> xq;
    bool x_valid = false;
    std::deque<Beat> hq;
    std::deque<uint64_t> h_times, x_times;  // cycle numbers of accepted beats

    // Pacing (step_beats 0: no step numbering, beats offered as soon as queued).
    uint32_t step_beats = 0;
    uint64_t frame_cycles = 0;
    uint64_t x_pushed = 0, x_taken = 0;  // x_in beats queued / accepted since set_pacing
    std::vector<uint64_t> push_at, offer_at, end_at;  // per step (see the file header)

    // CSR master state.
    bool aw_pend = false, w_pend = false, b_wait = false, ar_pend = false, r_wait = false;
    bool aw_on = false, w_on = false, ar_on = false;  // VALID raised (held until accepted)
    double csr_stall = 0.0;
    uint32_t b_resp = 0, r_data = 0, r_resp = 0;

    // Protocol checks.
    uint64_t errors = 0;
    std::string first_error;

    void error(const std::string& msg) {
        if (errors == 0) first_error = "cycle " + std::to_string(cycle) + ": " + msg;
        ++errors;
    }

    bool chance(double stall) { return stall <= 0.0 || uni(rng) >= stall; }

    // May the front x_in beat be offered now? Only the first beat of a paced step waits.
    bool x_due() const {
        if (!step_beats || !frame_cycles || x_taken % step_beats) return true;
        uint64_t step = x_taken / step_beats;
        return step == 0 || step > offer_at.size() || cycle >= offer_at[step - 1] + frame_cycles;
    }

    void clear_steps() {
        x_pushed = x_taken = 0;
        push_at.clear();
        offer_at.clear();
        end_at.clear();
    }

    void set_rdata(const Burst& b) {
        uint8_t buf[kBusBytes];
        uint64_t addr = b.addr + uint64_t(b.done) * kBusBytes;
        for (int i = 0; i < kBusBytes; ++i) {
            uint64_t a = addr + i;
            buf[i] = a < mem.size() ? mem[a] : 0;
        }
#if EDRNN_BUS_BITS <= 64
        uint64_t v = 0;
        std::memcpy(&v, buf, kBusBytes);
        PORT(mem, rdata) = v;
#else
        for (int i = 0; i < EDRNN_BUS_BITS / 32; ++i) {
            uint32_t w;
            std::memcpy(&w, buf + 4 * i, 4);
            PORT(mem, rdata)[i] = w;
        }
#endif
        PORT(mem, rlast) = (b.done + 1 == b.beats);
        PORT(mem, rresp) = 0;
    }

    void cycle_once() {
        // ---- drive inputs for this cycle
        if (!x_valid && !xq.empty() && x_due() && chance(x_stall)) {
            x_valid = true;
            if (step_beats && x_taken % step_beats == 0) offer_at.push_back(cycle);
        }
        PORT(x_in, valid) = x_valid;
        uint32_t xw[kXWords] = {};
        if (x_valid) pack(xq.front(), xw, kXWords);
        port_set(PORT(x_in, payload), xw, kXWords);
        PORT(h_out, ready) = hq.size() < h_want && chance(h_stall);
        PORT(mem, arready) = bursts.size() < max_outstanding && chance(ar_stall);
        if (!r_valid && !bursts.empty() && bursts.front().ready_at <= cycle && chance(r_stall))
            r_valid = true;
        PORT(mem, rvalid) = r_valid;
        if (r_valid) set_rdata(bursts.front());
        if (aw_pend && !aw_on && chance(csr_stall)) aw_on = true;
        if (w_pend && !w_on && chance(csr_stall)) w_on = true;
        if (ar_pend && !ar_on && chance(csr_stall)) ar_on = true;
        PORT(csr, awvalid) = aw_on;
        PORT(csr, wvalid) = w_on;
        PORT(csr, bready) = b_wait && chance(csr_stall);
        PORT(csr, arvalid) = ar_on;
        PORT(csr, rready) = r_wait && chance(csr_stall);

        top->clk = 0;
        top->eval();

        // ---- sample handshakes
        bool x_fire = x_valid && PORT(x_in, ready);
        bool h_fire = PORT(h_out, valid) && PORT(h_out, ready);
        uint32_t hw[kHWords];
        port_get(PORT(h_out, payload), hw, kHWords);
        bool ar_fire = PORT(mem, arvalid) && PORT(mem, arready);
        uint64_t ar_addr = PORT(mem, araddr);
        uint32_t ar_len = PORT(mem, arlen), ar_size = PORT(mem, arsize);
        uint32_t ar_burst = PORT(mem, arburst);
        bool r_fire = r_valid && PORT(mem, rready);
        bool aw_fire = aw_on && PORT(csr, awready);
        bool w_fire = w_on && PORT(csr, wready);
        bool b_fire = PORT(csr, bready) && PORT(csr, bvalid);
        uint32_t bresp = PORT(csr, bresp);
        bool car_fire = ar_on && PORT(csr, arready);
        bool cr_fire = PORT(csr, rready) && PORT(csr, rvalid);
        uint32_t crdata = PORT(csr, rdata), crresp = PORT(csr, rresp);

        top->clk = 1;
        top->eval();
        ++cycle;

        // ---- update testbench state
        if (x_fire) {
            x_times.push_back(cycle - 1);
            xq.pop_front();
            x_valid = false;
            ++x_taken;
        }
        if (h_fire) {
            hq.push_back(unpack_h(hw));
            h_times.push_back(cycle - 1);
            if (step_beats && hq.back().last) end_at.push_back(cycle - 1);
        }
        if (ar_fire) {
            uint32_t beats = ar_len + 1;
            uint64_t bytes = uint64_t(beats) * kBusBytes;
            if (ar_burst != 1) error("mem: arburst " + std::to_string(ar_burst) + " != INCR");
            if ((1u << ar_size) != uint32_t(kBusBytes))
                error("mem: arsize " + std::to_string(ar_size) + " != log2(bus bytes)");
            if (ar_addr % kBusBytes) error("mem: unaligned araddr " + std::to_string(ar_addr));
            if ((ar_addr >> 12) != ((ar_addr + bytes - 1) >> 12))
                error("mem: burst at " + std::to_string(ar_addr) + " of " +
                      std::to_string(beats) + " beats crosses a 4 KiB boundary");
            if (ar_addr < loaded_lo || ar_addr + bytes > loaded_hi) ++n_oob;
            bursts.push_back(Burst{ar_addr, beats, 0, cycle - 1 + latency});
            ++n_bursts;
        }
        if (r_fire) {
            Burst& b = bursts.front();
            ++b.done;
            ++n_beats;
            r_valid = false;
            if (b.done == b.beats) bursts.pop_front();
        }
        if (aw_fire) aw_pend = aw_on = false;
        if (w_fire) w_pend = w_on = false;
        if (b_fire) {
            b_resp = bresp;
            b_wait = false;
        }
        if (car_fire) ar_pend = ar_on = false;
        if (cr_fire) {
            r_data = crdata;
            r_resp = crresp;
            r_wait = false;
        }
    }
};

}  // namespace

extern "C" {

void* edrnn_create(uint64_t seed) {
    Sim* s = new Sim();
    s->ctx = new VerilatedContext;
    s->ctx->randReset(0);
    s->top = new EDRNN_TOP(s->ctx, "top");
    s->rng.seed(seed);
    return s;
}

void edrnn_destroy(void* p) {
    Sim* s = static_cast<Sim*>(p);
    s->top->final();
    delete s->top;
    delete s->ctx;
    delete s;
}

int edrnn_bus_bits() { return EDRNN_BUS_BITS; }

void edrnn_reset(void* p, int cycles) {
    Sim* s = static_cast<Sim*>(p);
    s->xq.clear();
    s->x_valid = false;
    s->hq.clear();
    s->h_times.clear();
    s->x_times.clear();
    s->clear_steps();
    s->bursts.clear();
    s->r_valid = false;
    s->aw_pend = s->w_pend = s->b_wait = s->ar_pend = s->r_wait = false;
    s->aw_on = s->w_on = s->ar_on = false;
    s->top->rst = 1;
    for (int i = 0; i < cycles; ++i) s->cycle_once();
    s->top->rst = 0;
}

void edrnn_set_mem_timing(void* p, uint32_t latency, double ar_stall, double r_stall,
                          uint32_t max_outstanding) {
    Sim* s = static_cast<Sim*>(p);
    s->latency = latency < 1 ? 1 : latency;
    s->ar_stall = ar_stall;
    s->r_stall = r_stall;
    s->max_outstanding = max_outstanding < 1 ? 1 : max_outstanding;
}

void edrnn_set_stream_stall(void* p, double x_stall, double h_stall, double csr_stall) {
    Sim* s = static_cast<Sim*>(p);
    s->x_stall = x_stall;
    s->h_stall = h_stall;
    s->csr_stall = csr_stall;
}

void edrnn_mem_write(void* p, uint64_t addr, const uint8_t* data, uint64_t len) {
    Sim* s = static_cast<Sim*>(p);
    if (s->mem.size() < addr + len) s->mem.resize(addr + len, 0);
    if (addr < s->loaded_lo) s->loaded_lo = addr;
    if (addr + len > s->loaded_hi) s->loaded_hi = addr + len;
    std::memcpy(s->mem.data() + addr, data, len);
}

uint64_t edrnn_cycles(void* p) { return static_cast<Sim*>(p)->cycle; }

void edrnn_run(void* p, uint64_t n) {
    Sim* s = static_cast<Sim*>(p);
    for (uint64_t i = 0; i < n; ++i) s->cycle_once();
}

// Returns BRESP (0..3), or -1 on timeout.
int edrnn_csr_write(void* p, uint32_t addr, uint32_t data, uint64_t timeout) {
    Sim* s = static_cast<Sim*>(p);
    s->top->csr___05Fawaddr = addr;
    s->top->csr___05Fwdata = data;
    s->top->csr___05Fwstrb = 0xF;
    s->aw_pend = s->w_pend = s->b_wait = true;
    for (uint64_t i = 0; i < timeout; ++i) {
        s->cycle_once();
        if (!s->aw_pend && !s->w_pend && !s->b_wait) return int(s->b_resp);
    }
    s->aw_pend = s->w_pend = s->b_wait = s->aw_on = s->w_on = false;
    return -1;
}

// Returns RRESP (0..3) and stores the data, or -1 on timeout.
int edrnn_csr_read(void* p, uint32_t addr, uint32_t* data, uint64_t timeout) {
    Sim* s = static_cast<Sim*>(p);
    s->top->csr___05Faraddr = addr;
    s->ar_pend = s->r_wait = true;
    for (uint64_t i = 0; i < timeout; ++i) {
        s->cycle_once();
        if (!s->ar_pend && !s->r_wait) {
            *data = s->r_data;
            return int(s->r_resp);
        }
    }
    s->ar_pend = s->r_wait = s->ar_on = false;
    return -1;
}

int edrnn_lanes() { return kLanes; }

// Queues n x_in beats of EDRNN_LANES elements each (data: n * EDRNN_LANES, beat by beat).
void edrnn_push_x(void* p, const int16_t* data, uint32_t n) {
    Sim* s = static_cast<Sim*>(p);
    for (uint32_t i = 0; i < n; ++i) {
        if (s->step_beats && s->x_pushed % s->step_beats == 0) s->push_at.push_back(s->cycle);
        ++s->x_pushed;
        Beat b;
        std::memcpy(b.v, data + size_t(i) * kLanes, sizeof b.v);
        s->xq.push_back(b);
    }
}

// Number the x_in beats queued from now on by steps of step_beats (0: off) and hold the first
// beat of each step until frame_cycles after the previous step's was offered (0: no hold).
// Clears the step records; returns -1 (and changes nothing) while beats are still queued.
int edrnn_set_pacing(void* p, uint32_t step_beats, uint64_t frame_cycles) {
    Sim* s = static_cast<Sim*>(p);
    if (!s->xq.empty() || s->x_valid) return -1;
    s->step_beats = step_beats;
    s->frame_cycles = frame_cycles;
    s->clear_steps();
    return 0;
}

// Copies up to n per-step cycle numbers of one kind (0 push, 1 offer, 2 end) into out;
// returns how many steps have that record.
uint32_t edrnn_step_times(void* p, int kind, uint64_t* out, uint32_t n) {
    Sim* s = static_cast<Sim*>(p);
    const std::vector<uint64_t>& v = kind == 0 ? s->push_at : kind == 1 ? s->offer_at : s->end_at;
    for (uint32_t i = 0; i < n && i < v.size(); ++i) out[i] = v[i];
    return uint32_t(v.size());
}

uint32_t edrnn_x_pending(void* p) { return uint32_t(static_cast<Sim*>(p)->xq.size()); }

uint32_t edrnn_h_available(void* p) { return uint32_t(static_cast<Sim*>(p)->hq.size()); }

// Runs the clock until n h_out beats are buffered (or timeout cycles pass), then pops up to
// n of them into data (EDRNN_LANES elements a beat) and last. Returns the number popped.
uint32_t edrnn_pop_h(void* p, int16_t* data, uint8_t* last, uint64_t* when, uint32_t n,
                     uint64_t timeout) {
    Sim* s = static_cast<Sim*>(p);
    s->h_want = n;
    for (uint64_t i = 0; i < timeout && s->hq.size() < n; ++i) s->cycle_once();
    s->h_want = 0;
    uint32_t k = 0;
    while (k < n && !s->hq.empty()) {
        const Beat& b = s->hq.front();
        std::memcpy(data + size_t(k) * kLanes, b.v, sizeof b.v);
        last[k] = uint8_t(b.last);
        s->hq.pop_front();
        if (when) when[k] = s->h_times.front();
        s->h_times.pop_front();
        ++k;
    }
    return k;
}

// Pops up to n recorded x_in acceptance cycles into out; returns the number popped.
uint32_t edrnn_pop_x_times(void* p, uint64_t* out, uint32_t n) {
    Sim* s = static_cast<Sim*>(p);
    uint32_t k = 0;
    while (k < n && !s->x_times.empty()) {
        out[k++] = s->x_times.front();
        s->x_times.pop_front();
    }
    return k;
}

// stats[0..3] = bursts, beats, bursts outside the loaded image, bursts outstanding now.
void edrnn_mem_stats(void* p, uint64_t* stats) {
    Sim* s = static_cast<Sim*>(p);
    stats[0] = s->n_bursts;
    stats[1] = s->n_beats;
    stats[2] = s->n_oob;
    stats[3] = s->bursts.size();
}

// Number of protocol violations seen; the first one's description is copied into buf.
uint64_t edrnn_protocol_errors(void* p, char* buf, uint32_t buflen) {
    Sim* s = static_cast<Sim*>(p);
    if (buflen > 0) {
        std::snprintf(buf, buflen, "%s", s->first_error.c_str());
    }
    return s->errors;
}

}  // extern "C"
