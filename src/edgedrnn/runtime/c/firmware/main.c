/*
 * EdgeDRNN firmware for the VexRiscv of the SoC (the simulated SoCConfig(cpu="vexriscv") and
 * the board's, docs/board.md).
 *
 * Reads a parameter block in the DRAM (edgedrnn.runtime.firmware writes it, with the runtime
 * image, the inputs and the thresholds: preloaded into the simulated DRAM, or sent by the
 * LiteX BIOS's serial boot on a board), configures the accelerator with the C runtime, runs
 * the sequence and writes per step the outputs, NZ counts, STEP_CYCLES, LATENCY and two
 * timestamps of the SoC timer (64-bit uptime cycles), then the summary with a DONE word last,
 * and prints a report: a line per step and a summary, then the same results as
 * machine-readable lines with a CRC-32 (edgedrnn.runtime.firmware.parse_log reads them).
 *
 * Two modes: sequential (mode 0), step by step in the order of edgedrnn_run's
 * EDGEDRNN_RUN_SEQUENTIAL, timestamps before the step's Θ and input are written and after
 * its output is read (a sample-by-sample loop's latency); pipelined (mode 1),
 * edgedrnn_run(EDGEDRNN_RUN_PIPELINED) with the step ends the StreamWindow records as
 * timestamps (its time base is the timer's uptime; a step's start: its predecessor's end,
 * the first one's: the run's start).
 *
 * Everything the SoC build decides comes from its address map (csr.json) as -D defines
 * (edgedrnn.runtime.firmware.firmware_defines): MAIN_RAM_BASE, EDGEDRNN_BASE, STREAMS_BASE,
 * FW_PARAMS_ADDR, the timer's CSR_TIMER0_UPTIME_LATCH_ADDR / CSR_TIMER0_UPTIME_CYCLES_ADDR
 * and, with FW_CONSOLE_UART, the UART's CSR_UART_RXTX_ADDR / CSR_UART_TXFULL_ADDR.
 *
 * The report's sink is the compile-time switch: FW_CONSOLE_UART (the board variant) writes it
 * to the UART (on a board the BIOS's console; in the simulation LiteX's crossover UART, whose
 * other end the host reads over the bridge); without it, to a console buffer in the DRAM
 * (parameter block's console_addr) that the host reads over the bridge.
 */
#include <stddef.h>
#include <stdint.h>

#include "edgedrnn.h"

#if !defined(MAIN_RAM_BASE) || !defined(EDGEDRNN_BASE) || !defined(STREAMS_BASE) ||            \
    !defined(FW_PARAMS_ADDR) || !defined(CSR_TIMER0_UPTIME_LATCH_ADDR) ||                       \
    !defined(CSR_TIMER0_UPTIME_CYCLES_ADDR)
#error "build with the SoC's addresses (edgedrnn.runtime.firmware.build_firmware)"
#endif
#if defined(FW_CONSOLE_UART) && (!defined(CSR_UART_RXTX_ADDR) || !defined(CSR_UART_TXFULL_ADDR))
#error "FW_CONSOLE_UART needs the UART's CSR addresses"
#endif

#define STREAMS ((volatile uint32_t *)STREAMS_BASE)
#define CSR(addr) (*(volatile uint32_t *)(addr))
enum {
    SW_X_DATA = 0, SW_X_COMMIT = 1, SW_H_LEVEL = 2, SW_H_DATA = 3, SW_CYCLE = 4,
    SW_H_ENDS = 6, SW_H_ENDS_LEVEL = 7
};

#define PARAMS_MAGIC 0x57464445u /* "EDFW" */
#define DONE_MAGIC 0x454E4F44u   /* "DONE" */
#define POP_TRIES 50000000u
#define FW_MAX_SIZE 1024u /* largest input and output vectors (on the stack, 8 KiB of SRAM) */

/* The SoC timer's uptime: system clock cycles since power-up, 64 bits (LiteX's timer0 with
 * uptime: a write latches the counter, the CSR holds it as two 32-bit words, high first). */
static inline uint64_t uptime(void)
{
    uint32_t hi, lo;
    CSR(CSR_TIMER0_UPTIME_LATCH_ADDR) = 1u;
    hi = CSR(CSR_TIMER0_UPTIME_CYCLES_ADDR);
    lo = CSR(CSR_TIMER0_UPTIME_CYCLES_ADDR + 4u);
    return ((uint64_t)hi << 32) | lo;
}

/* The parameter block (edgedrnn.runtime.firmware.PARAMS_FIELDS); addresses are the CPU's. */
typedef struct fw_params {
    uint32_t magic;
    uint32_t image_addr;
    uint32_t image_len;
    uint32_t weight_base;   /* accelerator address of the image's weights */
    uint32_t flags;         /* edgedrnn_configure flags */
    uint32_t steps;
    uint32_t x_addr;        /* int16 (T, I) */
    uint32_t theta_x_addr;  /* uint16 (T, L), 0: keep the image's */
    uint32_t theta_h_addr;
    uint32_t summary_addr;  /* uint32 [8], DONE last */
    uint32_t h_addr;        /* int16 (T, H) */
    uint32_t nz_addr;       /* uint32 (T, L, 2) */
    uint32_t cycles_addr;   /* uint32 (T,) STEP_CYCLES */
    uint32_t latency_addr;  /* uint32 (T,) LATENCY */
    uint32_t t_start_addr;  /* uint64 (T,) uptime before the step's Θ and input are written */
    uint32_t t_end_addr;    /* uint64 (T,) uptime after its output is read */
    uint32_t console_addr;  /* the text report, NUL-terminated (the DRAM console) */
    uint32_t console_size;
    uint32_t mode;          /* 0 sequential, 1 pipelined */
} fw_params;

/* summary words */
enum {
    S_DONE, S_ERROR, S_OVERFLOW, S_STEP_COUNT, S_CONFIG_CYCLES, S_STEPS_DONE, S_LAYERS, S_OUTPUTS,
    S_RUN_CYCLES, S_WORDS
};

/* The StreamWindow hooks. A beat is W = ceil(P/2) words, lanes 2j and 2j+1 in bits 15:0 and
 * 31:16 of word j: on this little-endian CPU the int16 lanes of even-P beats at a 4-byte
 * aligned address are those words in memory, moved as they are. */
static uint32_t queued; /* x_in beats pushed and not yet released */

static int push_x(void *ctx, const int16_t *lanes, uint32_t num_pe, uint32_t beats, int last)
{
    uint32_t j, hi;
    (void)ctx;
    if (!(num_pe & 1u) && !((uintptr_t)lanes & 3u)) {
        const uint32_t *words = (const uint32_t *)(const void *)lanes;
        uint32_t n = beats * (num_pe / 2u);
        for (j = 0; j + 4u <= n; j += 4u) { /* unrolled by four words */
            STREAMS[SW_X_DATA] = words[j];
            STREAMS[SW_X_DATA] = words[j + 1u];
            STREAMS[SW_X_DATA] = words[j + 2u];
            STREAMS[SW_X_DATA] = words[j + 3u];
        }
        for (; j < n; j++) STREAMS[SW_X_DATA] = words[j];
    } else {
        for (; beats; beats--, lanes += num_pe)
            for (j = 0; j < num_pe; j += 2u) {
                hi = j + 1u < num_pe ? (uint16_t)lanes[j + 1u] : 0u;
                STREAMS[SW_X_DATA] = (uint16_t)lanes[j] | (hi << 16);
            }
    }
    queued += beats;
    if (last == EDGEDRNN_PUSH_END) {
        STREAMS[SW_X_COMMIT] = queued;
        queued = 0;
    }
    return 0;
}

static int release_x(void *ctx, uint32_t beats)
{
    (void)ctx;
    STREAMS[SW_X_COMMIT] = beats;
    queued -= beats;
    return 0;
}

/* The next step end the StreamWindow recorded (H_ENDS pops it), in order. */
static int wait_end(void *ctx, uint32_t *cycle)
{
    uint32_t tries = POP_TRIES;
    (void)ctx;
    while (!STREAMS[SW_H_ENDS_LEVEL])
        if (--tries == 0u) return 1;
    *cycle = STREAMS[SW_H_ENDS];
    return 0;
}

/* Wait for the next h_out beat's header (bit 31 valid, bit 0 LAST); 0 when none comes. With
 * the FIFO empty the header reads 0 and the next read is a header again. */
static uint32_t next_header(void)
{
    uint32_t tries = POP_TRIES, head;
    while (!((head = STREAMS[SW_H_DATA]) >> 31))
        if (--tries == 0u) return 0;
    return head;
}

static int pop_h(void *ctx, int16_t *lanes, uint32_t num_pe, uint32_t beats, int *last)
{
    uint32_t head, word, j, b, early = 0, prev = 0;
    (void)ctx;
    if (num_pe == 8u && !((uintptr_t)lanes & 3u)) { /* the common beat: 4 words, unrolled */
        uint32_t *words = (uint32_t *)(void *)lanes;
        for (b = 0; b < beats; b++, words += 4) {
            head = STREAMS[SW_H_DATA];
            if (!(head >> 31) && !(head = next_header())) return 1;
            early |= prev;
            prev = head & 1u;
            words[0] = STREAMS[SW_H_DATA];
            words[1] = STREAMS[SW_H_DATA];
            words[2] = STREAMS[SW_H_DATA];
            words[3] = STREAMS[SW_H_DATA]; /* the last data word pops the beat */
        }
    } else {
        for (b = 0; b < beats; b++, lanes += num_pe) {
            if (!(head = next_header())) return 1;
            early |= prev;
            prev = head & 1u;
            for (j = 0; j < num_pe; j += 2u) {
                word = STREAMS[SW_H_DATA];
                lanes[j] = (int16_t)(word & 0xFFFFu);
                if (j + 1u < num_pe) lanes[j + 1u] = (int16_t)(word >> 16);
            }
        }
    }
    *last = (prev ? EDGEDRNN_LAST_FINAL : 0) | (early ? EDGEDRNN_LAST_EARLY : 0);
    return 0;
}

/* The pipelined run's buffers: the whole sequence's inputs, thresholds and results in the
 * SRAM, so that the timed run leaves the DRAM to the accelerator (a DRAM access there, a
 * write-through store above all, waits behind the weight reads and breaks their rows). */
#define WORK_BYTES 0x6000u
static uint32_t work[WORK_BYTES / 4u] __attribute__((section(".sram")));

static uint32_t words_of(uint32_t bytes)
{
    return (bytes + 3u) / 4u;
}

/* Pipelined (mode 1): copy the inputs and Θ into the SRAM, edgedrnn_run with
 * EDGEDRNN_RUN_PIPELINED, timed by the step ends, then copy the results to the DRAM. */
__attribute__((noinline)) static int run_pipelined_fw(edgedrnn_dev *dev, const fw_params *p,
                                                      volatile uint32_t *summary)
{
    uint32_t steps = p->steps, layers = dev->num_layers, n_in = dev->input_size;
    uint32_t n_out = dev->output_size, per_step = p->theta_x_addr && p->theta_h_addr;
    uint32_t wx = words_of(2u * steps * n_in), wh = words_of(2u * steps * n_out);
    uint32_t wt = per_step ? words_of(2u * steps * layers) : 0u, i, t;
    uint64_t begin, end;
    uint32_t *nz, *cycles, *latency, *ends;
    int16_t *xs = (int16_t *)(void *)work, *hs;
    uint16_t *txs = NULL, *ths = NULL;
    int overflow = 0, err;
    if (4u * (wx + wh + 2u * wt + 2u * steps * layers + 3u * steps) > WORK_BYTES)
        return EDGEDRNN_ERR_TOO_LARGE;
    hs = (int16_t *)(void *)(work + wx);
    if (per_step) {
        txs = (uint16_t *)(void *)(work + wx + wh);
        ths = (uint16_t *)(void *)(work + wx + wh + wt);
    }
    nz = work + wx + wh + 2u * wt;
    cycles = nz + 2u * steps * layers;
    latency = cycles + steps;
    ends = latency + steps;
    for (i = 0; i < steps * n_in; i++) xs[i] = ((const int16_t *)p->x_addr)[i];
    for (i = 0; per_step && i < steps * layers; i++) {
        txs[i] = ((const uint16_t *)p->theta_x_addr)[i];
        ths[i] = ((const uint16_t *)p->theta_h_addr)[i];
    }
    {
        edgedrnn_run_out out = {hs, nz, cycles, latency, &overflow, ends};
        begin = uptime();
        err = edgedrnn_run(dev, xs, steps, txs, ths, EDGEDRNN_RUN_PIPELINED, &out);
        summary[S_RUN_CYCLES] = (uint32_t)(uptime() - begin);
    }
    if (err) return err;
    for (i = 0; i < steps * n_out; i++) ((int16_t *)p->h_addr)[i] = hs[i];
    for (i = 0; i < 2u * steps * layers; i++) ((uint32_t *)p->nz_addr)[i] = nz[i];
    /* the step ends are the uptime's low 32 bits (the StreamWindow's time base): extended
     * to 64 from the run's start, each end after the one before */
    for (t = 0; t < steps; t++) {
        ((uint32_t *)p->cycles_addr)[t] = cycles[t];
        ((uint32_t *)p->latency_addr)[t] = latency[t];
        end = begin + (uint32_t)(ends[t] - (uint32_t)begin);
        ((uint64_t *)p->t_start_addr)[t] = begin;
        ((uint64_t *)p->t_end_addr)[t] = end;
        begin = end;
    }
    summary[S_STEPS_DONE] = steps;
    summary[S_STEP_COUNT] = edgedrnn_step_count(dev);
    summary[S_OVERFLOW] = (uint32_t)overflow;
    return EDGEDRNN_OK;
}

static int run(const fw_params *p, volatile uint32_t *summary)
{
    edgedrnn_dev dev;
    edgedrnn_hal hal;
    const int16_t *x = (const int16_t *)p->x_addr;
    const uint16_t *tx = (const uint16_t *)p->theta_x_addr;
    const uint16_t *th = (const uint16_t *)p->theta_h_addr;
    int16_t *h = (int16_t *)p->h_addr;
    uint32_t *nz = (uint32_t *)p->nz_addr;
    uint32_t *cycles = (uint32_t *)p->cycles_addr;
    uint32_t *latency = (uint32_t *)p->latency_addr;
    uint64_t *t_start = (uint64_t *)p->t_start_addr;
    uint64_t *t_end = (uint64_t *)p->t_end_addr;
    /* the step's input and output live on the stack, in the SRAM, as a control loop's
     * would: the DRAM arrays are copied outside the timed part (a write-through store to
     * the DRAM costs tens of cycles) */
    int16_t x_now[FW_MAX_SIZE] __attribute__((aligned(4)));
    int16_t h_now[FW_MAX_SIZE] __attribute__((aligned(4)));
    uint16_t tx_now[EDGEDRNN_MAX_LAYERS], th_now[EDGEDRNN_MAX_LAYERS];
    uint32_t t, i, l, n_in, n_out, layers;
    uint64_t start, begin, end;
    int next;
    int err, per_step = tx && th, fresh;

    edgedrnn_hal_mmio(&hal, EDGEDRNN_BASE);
    hal.push_x = push_x;
    hal.pop_h = pop_h;
    hal.release_x = release_x;
    hal.wait_end = wait_end;
    if ((err = edgedrnn_init(&dev, &hal)) != EDGEDRNN_OK) return err;
    start = uptime();
    err = edgedrnn_configure(&dev, (const void *)p->image_addr, p->image_len, p->weight_base,
                             p->flags);
    summary[S_CONFIG_CYCLES] = (uint32_t)(uptime() - start);
    if (err) return err;
    layers = dev.num_layers;
    n_in = dev.input_size;
    n_out = dev.output_size;
    summary[S_LAYERS] = layers;
    summary[S_OUTPUTS] = n_out;
    if (p->mode == 1u) return run_pipelined_fw(&dev, p, summary);
    start = uptime();
    /* the register sequence of edgedrnn_run with queue_ahead = 0, timed per step */
    if (per_step && p->steps) {
        fresh = dev.fresh;
        err = edgedrnn_set_thresholds(&dev, tx, th);
        if (err < 0) return err;
        if (err > 0 && fresh) edgedrnn_start(&dev, 1);
    }
    if (dev.fresh && (err = edgedrnn_wait_idle(&dev)) != EDGEDRNN_OK) return err;
    if (n_in > FW_MAX_SIZE || n_out > FW_MAX_SIZE) return EDGEDRNN_ERR_TOO_LARGE;
    for (i = 0; p->steps && i < n_in; i++) x_now[i] = x[i];
    for (t = 0; t < p->steps; t++) {
        /* the timed part touches only the SRAM and the accelerator: a DRAM access there would
         * wait behind the accelerator's weight reads (the next step's hidden part runs as
         * soon as this one ends) */
        next = per_step && t + 1u < p->steps;
        for (l = 0; next && l < layers; l++) {
            tx_now[l] = tx[(t + 1u) * layers + l];
            th_now[l] = th[(t + 1u) * layers + l];
        }
        begin = uptime();
        /* Θ of step t+1 before step t's input: the StreamWindow takes h_out on its own, so
         * step t may end before its output is read; Θ written now is latched at its end */
        if (next && (err = edgedrnn_set_thresholds(&dev, tx_now, th_now)) < 0) return err;
        if ((err = edgedrnn_push_input(&dev, x_now)) != EDGEDRNN_OK) return err;
        if ((err = edgedrnn_read_output(&dev, h_now)) != EDGEDRNN_OK) return err;
        end = uptime();
        t_start[t] = begin;
        t_end[t] = end;
        for (i = 0; i < n_out; i++) h[t * n_out + i] = h_now[i];
        if (t + 1u < p->steps)
            for (i = 0; i < n_in; i++) x_now[i] = x[(t + 1u) * n_in + i];
        cycles[t] = edgedrnn_step_cycles(&dev);
        latency[t] = edgedrnn_latency(&dev);
        edgedrnn_nonzero(&dev, nz + 2u * layers * t);
        summary[S_STEPS_DONE] = t + 1u;
    }
    summary[S_RUN_CYCLES] = (uint32_t)(uptime() - start);
    summary[S_STEP_COUNT] = edgedrnn_step_count(&dev);
    if ((err = edgedrnn_check_error(&dev)) != EDGEDRNN_OK) return err;
    summary[S_OVERFLOW] = (uint32_t)edgedrnn_overflow(&dev);
    return EDGEDRNN_OK;
}

/* ------------------------------------------------------------------ report */

/* The report's sink: the UART (FW_CONSOLE_UART) or a buffer in the DRAM; while `crc_on`,
 * every character also goes into a CRC-32 (zlib's), which the machine-readable block ends
 * with. */
typedef struct console {
    char *buf;
    uint32_t len, size;
    uint32_t crc;
    int crc_on;
} console;

static const uint32_t crc_nibble[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u,
    0x4DB26158u, 0x5005713Cu, 0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
    0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu,
};

static void put_c(console *c, char ch)
{
    if (c->crc_on) {
        c->crc ^= (uint8_t)ch;
        c->crc = (c->crc >> 4) ^ crc_nibble[c->crc & 15u];
        c->crc = (c->crc >> 4) ^ crc_nibble[c->crc & 15u];
    }
#ifdef FW_CONSOLE_UART
    while (CSR(CSR_UART_TXFULL_ADDR)) {
    }
    CSR(CSR_UART_RXTX_ADDR) = (uint8_t)ch;
#else
    if (c->len + 1u < c->size) {
        c->buf[c->len++] = ch;
        c->buf[c->len] = 0;
    }
#endif
}

static void put_s(console *c, const char *s)
{
    while (*s) put_c(c, *s++);
}

static void put_u(console *c, uint32_t v)
{
    char digits[11];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    while (n) put_c(c, digits[--n]);
}

static void put_i(console *c, int32_t v)
{
    if (v < 0) {
        put_c(c, '-');
        put_u(c, 0u - (uint32_t)v);
    } else {
        put_u(c, (uint32_t)v);
    }
}

/* `digits` lowercase hex digits of v (a space before unless `glued`) */
static void put_x(console *c, uint64_t v, int digits, int glued)
{
    if (!glued) put_c(c, ' ');
    while (digits--) put_c(c, "0123456789abcdef"[(v >> (4 * digits)) & 15u]);
}

/* One line per step (its cycles, deltas passed on, first outputs), the summary, then the
 * machine-readable block (docs/board.md, "The firmware's report"):
 *   @edgedrnn 1 T L H mode
 *   @step t hhhh... nz_x0 nz_h0 ... step_cycles latency t_start t_end     (per step)
 *   @summary error overflow step_count config_cycles run_cycles steps_done
 *   @end crc
 * every number lowercase hex (h: 4 digits per output, int16 two's complement; t_start and
 * t_end 16 digits; the others 8), the CRC-32 over every byte from '@edgedrnn' to the newline
 * before '@end'. */
static void report(const fw_params *p, volatile const uint32_t *summary, int err)
{
    console c = {(char *)p->console_addr, 0, p->console_size, 0, 0};
    const int16_t *h = (const int16_t *)p->h_addr;
    const uint32_t *nz = (const uint32_t *)p->nz_addr;
    const uint32_t *cycles = (const uint32_t *)p->cycles_addr;
    const uint32_t *latency = (const uint32_t *)p->latency_addr;
    const uint64_t *t_start = (const uint64_t *)p->t_start_addr;
    const uint64_t *t_end = (const uint64_t *)p->t_end_addr;
    uint32_t t, l, k, layers = summary[S_LAYERS], n_out = summary[S_OUTPUTS];
    uint32_t done = summary[S_STEPS_DONE];
#ifndef FW_CONSOLE_UART
    if (!c.buf || !c.size) return;
    c.buf[0] = 0;
#endif
    put_s(&c, "edgedrnn firmware: configure ");
    put_u(&c, summary[S_CONFIG_CYCLES]);
    put_s(&c, p->mode == 1u ? " cycles, pipelined\n" : " cycles\n");
    for (t = 0; t < done; t++) {
        put_s(&c, "step ");
        put_u(&c, t);
        put_s(&c, ": latency ");
        put_u(&c, latency[t]);
        put_s(&c, ", cpu ");
        put_u(&c, (uint32_t)(t_end[t] - t_start[t]));
        put_s(&c, ", nz");
        for (l = 0; l < layers; l++) {
            put_s(&c, " ");
            put_u(&c, nz[2u * (t * layers + l)]);
            put_s(&c, "/");
            put_u(&c, nz[2u * (t * layers + l) + 1u]);
        }
        put_s(&c, ", h");
        for (k = 0; k < n_out && k < 4u; k++) {
            put_s(&c, " ");
            put_i(&c, h[t * n_out + k]);
        }
        put_s(&c, n_out > 4u ? " ...\n" : "\n");
    }
    put_s(&c, "done: ");
    put_u(&c, done);
    put_s(&c, " steps in ");
    put_u(&c, summary[S_RUN_CYCLES]);
    put_s(&c, " cycles, overflow ");
    put_u(&c, summary[S_OVERFLOW]);
    put_s(&c, ", ");
    put_s(&c, edgedrnn_strerror(err));
    put_s(&c, "\n");

    c.crc = 0xFFFFFFFFu;
    c.crc_on = 1;
    put_s(&c, "@edgedrnn 1");
    put_x(&c, p->steps, 8, 0);
    put_x(&c, layers, 8, 0);
    put_x(&c, n_out, 8, 0);
    put_x(&c, p->mode, 8, 0);
    put_c(&c, '\n');
    for (t = 0; t < done; t++) {
        put_s(&c, "@step");
        put_x(&c, t, 8, 0);
        put_c(&c, ' ');
        for (k = 0; k < n_out; k++) put_x(&c, (uint16_t)h[t * n_out + k], 4, 1);
        for (l = 0; l < 2u * layers; l++) put_x(&c, nz[2u * t * layers + l], 8, 0);
        put_x(&c, cycles[t], 8, 0);
        put_x(&c, latency[t], 8, 0);
        put_x(&c, t_start[t], 16, 0);
        put_x(&c, t_end[t], 16, 0);
        put_c(&c, '\n');
    }
    put_s(&c, "@summary");
    put_x(&c, (uint32_t)err, 8, 0);
    put_x(&c, summary[S_OVERFLOW], 8, 0);
    put_x(&c, summary[S_STEP_COUNT], 8, 0);
    put_x(&c, summary[S_CONFIG_CYCLES], 8, 0);
    put_x(&c, summary[S_RUN_CYCLES], 8, 0);
    put_x(&c, done, 8, 0);
    put_c(&c, '\n');
    c.crc_on = 0;
    put_s(&c, "@end");
    put_x(&c, ~c.crc, 8, 0);
    put_c(&c, '\n');
}

int main(void)
{
    const fw_params *p = (const fw_params *)FW_PARAMS_ADDR;
    volatile uint32_t *summary;
    uint32_t i;
    int err;
    if (p->magic != PARAMS_MAGIC) {
#ifdef FW_CONSOLE_UART
        console c = {NULL, 0, 0, 0, 0};
        put_s(&c, "edgedrnn firmware: no parameter block (load the images of `edgedrnn soc "
                  "image`)\n");
#endif
        return 1;
    }
    summary = (volatile uint32_t *)p->summary_addr;
    for (i = 0; i < S_WORDS; i++) summary[i] = 0;
    err = run(p, summary);
    summary[S_ERROR] = (uint32_t)err;
    report(p, summary, err);
    summary[S_DONE] = DONE_MAGIC;
    return 0;
}
