/*
 * EdgeDRNN C runtime: drives an EdgeDRNN delta-GRU accelerator through its register map.
 *
 * C99, no libc beyond <stdint.h> and <stddef.h>, no allocation: a board's bare-metal
 * firmware, a Linux process over /dev/mem and a host test over a simulation use the same
 * code through a small HAL (register read/write, one stream beat in and out, optionally a
 * weight-memory copy). The register sequence is that of the Python driver,
 * edgedrnn.host.EdgeDRNNDriver; the register addresses come from edgedrnn_regs.h, generated
 * from edgedrnn.hw.regmap. See docs/board.md.
 */
#ifndef EDGEDRNN_H
#define EDGEDRNN_H

#include <stddef.h>
#include <stdint.h>

#include "edgedrnn_regs.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Layers a device struct holds (CONFIG.MAX_LAYERS is at most 15). */
#ifndef EDGEDRNN_MAX_LAYERS
#define EDGEDRNN_MAX_LAYERS 15u
#endif
/* Widest beat (NUM_PE lanes) the runtime buffers. */
#ifndef EDGEDRNN_MAX_PE
#define EDGEDRNN_MAX_PE 64u
#endif
/* STATUS reads edgedrnn_wait_idle makes before giving up (default of dev->poll_limit). */
#ifndef EDGEDRNN_POLL_LIMIT
#define EDGEDRNN_POLL_LIMIT 100000u
#endif

/* Runtime image (docs/board.md): magic, version, header bytes before the layer records. */
#define EDGEDRNN_IMAGE_MAGIC "EDRNNIMG"
#define EDGEDRNN_IMAGE_VERSION 1u        /* a dense weight image */
#define EDGEDRNN_IMAGE_VERSION_SPARSE 2u /* a sparse one (for builds with CONFIG.SPARSE) */
#define EDGEDRNN_IMAGE_HEADER_BYTES 32u
#define EDGEDRNN_IMAGE_LAYER_BYTES 32u        /* version 1: 8 words per layer */
#define EDGEDRNN_IMAGE_SPARSE_LAYER_BYTES 36u /* version 2: the same 8, then SLOTS */

/* Flags of edgedrnn_configure. */
#define EDGEDRNN_CONFIGURE_NO_START 1u    /* leave the accelerator stopped (no CTRL START) */
#define EDGEDRNN_CONFIGURE_NO_CHECKSUM 2u /* skip the image's CRC-32 (slow CPUs, trusted data) */

/* Error codes: 0 is success, every error is negative. edgedrnn_strerror names them. */
typedef enum edgedrnn_error {
    EDGEDRNN_OK = 0,
    EDGEDRNN_ERR_ARGUMENT = -1,       /* a NULL pointer or a missing HAL hook */
    EDGEDRNN_ERR_NOT_EDGEDRNN = -2,   /* the ID register does not read "EDRN" */
    EDGEDRNN_ERR_VERSION = -3,        /* the register map's major version differs */
    EDGEDRNN_ERR_IMAGE_MAGIC = -4,    /* not a runtime image */
    EDGEDRNN_ERR_IMAGE_VERSION = -5,  /* an image format this runtime does not read */
    EDGEDRNN_ERR_IMAGE_TRUNCATED = -6,/* shorter than its header announces */
    EDGEDRNN_ERR_IMAGE_CHECKSUM = -7, /* CRC-32 mismatch */
    EDGEDRNN_ERR_IMAGE_LAYOUT = -8,   /* inconsistent sizes, offsets or strides */
    EDGEDRNN_ERR_HW_MISMATCH = -9,    /* compiled for another NUM_PE / bus width / image kind */
    EDGEDRNN_ERR_TOO_LARGE = -10,     /* more layers or larger sizes than the device takes */
    EDGEDRNN_ERR_ALIGNMENT = -11,     /* weight base not aligned to the bus width */
    EDGEDRNN_ERR_NOT_CONFIGURED = -12,/* no program configured */
    EDGEDRNN_ERR_THRESHOLD = -13,     /* a threshold outside 0..32767 */
    EDGEDRNN_ERR_TIMEOUT = -14,       /* STATUS.BUSY did not clear */
    EDGEDRNN_ERR_STREAM = -15,        /* a HAL stream hook failed (no beat, full FIFO) */
    EDGEDRNN_ERR_LAST_FLAG = -16,     /* h_out LAST not on exactly the step's final beat */
    EDGEDRNN_ERR_PADDING = -17,       /* h_out lanes past the hidden size are not zero */
    EDGEDRNN_ERR_DEVICE = -18,        /* STATUS.ERROR: bad configuration or memory error */
    EDGEDRNN_ERR_STEP_COUNT = -19,    /* STEP_COUNT lower than the steps run */
    EDGEDRNN_ERR_MEMORY = -20         /* the HAL's weight-memory copy failed */
} edgedrnn_error;

/*
 * The hardware access layer. read32 / write32 take byte offsets of the register block
 * (edgedrnn_regs.h). push_x sends `beats` consecutive x_in beats of num_pe lanes each from
 * lanes (beats * num_pe values; last: the final one ends the step, e.g. to commit a
 * StreamWindow); pop_h receives `beats` h_out beats into lanes and sets *last to the LAST
 * flags seen: EDGEDRNN_LAST_FINAL when the final beat popped had it, plus
 * EDGEDRNN_LAST_EARLY when an earlier one did. Both return 0 or a nonzero failure (no beat,
 * full FIFO); the runtime calls them once for a step's whole beats and once for its last,
 * partial one. write_mem (may be NULL) copies the weight image to the accelerator's memory
 * at byte address addr; without it the weights must already be there. ctx is passed to
 * every hook.
 *
 * For the pipelined run (EDGEDRNN_RUN_PIPELINED), on a system where a FIFO takes h_out on
 * its own and x_in beats can be queued and released later (the SoC's StreamWindow):
 * push_x's last is EDGEDRNN_PUSH_HOLD on a step's final beat when the step is to stay queued
 * until release_x(ctx, beats) releases that many queued beats to the accelerator; wait_end
 * waits for the next step end not yet reported (in order) and stores its timestamp (any
 * cycle counter; 0 without one). Both return 0 or a nonzero failure; both may be NULL
 * otherwise.
 */
#define EDGEDRNN_LAST_FINAL 1
#define EDGEDRNN_LAST_EARLY 2
/* push_x's last: the step's final beat, released at once / held until release_x. */
#define EDGEDRNN_PUSH_END 1
#define EDGEDRNN_PUSH_HOLD 2
typedef struct edgedrnn_hal {
    void *ctx;
    uint32_t (*read32)(void *ctx, uint32_t offset);
    void (*write32)(void *ctx, uint32_t offset, uint32_t value);
    int (*push_x)(void *ctx, const int16_t *lanes, uint32_t num_pe, uint32_t beats, int last);
    int (*pop_h)(void *ctx, int16_t *lanes, uint32_t num_pe, uint32_t beats, int *last);
    int (*write_mem)(void *ctx, uint32_t addr, const uint8_t *data, uint32_t length);
    int (*release_x)(void *ctx, uint32_t beats);
    int (*wait_end)(void *ctx, uint32_t *cycle);
} edgedrnn_hal;

/* ID, VERSION and CONFIG as read by edgedrnn_init. */
typedef struct edgedrnn_info {
    uint32_t version_major;
    uint32_t version_minor;
    uint32_t num_pe;
    uint32_t bus_bits;
    uint32_t max_layers;
    uint32_t max_hidden_size;
    uint32_t max_input_size;
    uint32_t sparse_weights; /* CONFIG.SPARSE: the build decodes sparse weight images only */
} edgedrnn_info;

/* One layer's registers (the runtime image's layer record). */
typedef struct edgedrnn_layer {
    uint32_t input_size;
    uint32_t hidden_size;
    uint32_t rows_per_gate;
    uint32_t bias_addr;
    uint32_t column_addr;
    uint32_t column_stride;
    uint32_t theta_x;
    uint32_t theta_h;
    uint32_t slots; /* sparse images: entries per (gate, PE lane) of a column; 0 dense */
} edgedrnn_layer;

/* A device: fill with edgedrnn_init; the fields are read-only for the user. */
typedef struct edgedrnn_dev {
    edgedrnn_hal hal;
    edgedrnn_info info;
    uint32_t num_layers;          /* of the configured program, 0 before */
    uint32_t input_size;          /* I of layer 0 */
    uint32_t output_size;         /* H of the last layer */
    uint32_t weight_base;         /* WEIGHT_BASE written */
    const uint8_t *weights;       /* the image's weight image */
    uint32_t weight_bytes;
    edgedrnn_layer layers[EDGEDRNN_MAX_LAYERS]; /* thresholds: the values last written */
    uint32_t poll_limit;          /* STATUS reads of edgedrnn_wait_idle */
    int fresh;                    /* no step since RESET_STATE */
    uint32_t x_beats;             /* x_in beats of a step: ceil(I / NUM_PE) */
    uint32_t h_beats;             /* h_out beats of a step: ceil(H_last / NUM_PE) */
} edgedrnn_dev;

/* What edgedrnn_run collects; every pointer may be NULL (that register is not read). */
typedef struct edgedrnn_run_out {
    int16_t *h;           /* (T, H_last) raw Q8.8 outputs */
    uint32_t *nonzero;    /* (T, L, 2): NZ_X, NZ_H per step and layer */
    uint32_t *cycles;     /* (T,): STEP_CYCLES */
    uint32_t *latency;    /* (T,): LATENCY */
    int *overflow;        /* STATUS.OVERFLOW at the end */
    uint32_t *ends;       /* (T,): step end timestamps from wait_end (pipelined run only) */
} edgedrnn_run_out;

/* The message of an error code (a static string). */
const char *edgedrnn_strerror(int error);

/* A HAL whose read32 / write32 are volatile 32-bit accesses at base + offset (a board's
 * register block, memory-mapped); the stream hooks and write_mem are left NULL. */
void edgedrnn_hal_mmio(edgedrnn_hal *hal, uintptr_t base);

/* Bind a device to its HAL and read ID, VERSION and CONFIG. */
int edgedrnn_init(edgedrnn_dev *dev, const edgedrnn_hal *hal);

/* Check a runtime image (header, CRC-32 unless flags has NO_CHECKSUM, layout) without a
 * device; num_pe / bus_bits of 0 accept any. */
int edgedrnn_check_image(const void *image, size_t length, uint32_t num_pe, uint32_t bus_bits,
                         uint32_t flags);

/* Soft-reset, copy the weights to weight_base (HAL write_mem, when given), write every
 * register of the image and, unless flags has NO_START, CTRL = RESET_STATE | START. The
 * image must stay valid while the device is configured without write_mem. */
int edgedrnn_configure(edgedrnn_dev *dev, const void *image, size_t length,
                       uint32_t weight_base, uint32_t flags);

/* Control and registers. */
int edgedrnn_soft_reset(edgedrnn_dev *dev);
int edgedrnn_reset_state(edgedrnn_dev *dev);
int edgedrnn_start(edgedrnn_dev *dev, int reset_state);
uint32_t edgedrnn_status(const edgedrnn_dev *dev);
int edgedrnn_overflow(const edgedrnn_dev *dev);
int edgedrnn_clear_status(const edgedrnn_dev *dev, uint32_t bits);
int edgedrnn_check_error(const edgedrnn_dev *dev);
int edgedrnn_wait_idle(const edgedrnn_dev *dev);
uint32_t edgedrnn_step_cycles(const edgedrnn_dev *dev);
uint32_t edgedrnn_latency(const edgedrnn_dev *dev);
uint32_t edgedrnn_step_count(const edgedrnn_dev *dev);
/* NZ_X and NZ_H of each layer for the last completed step: nonzero[2l], nonzero[2l + 1]. */
int edgedrnn_nonzero(const edgedrnn_dev *dev, uint32_t *nonzero);

/* Per-layer raw Q8.8 thresholds for the following steps; writes only the changes. Returns
 * the number of registers written (>= 0) or an error. */
int edgedrnn_set_thresholds(edgedrnn_dev *dev, const uint16_t *theta_x,
                            const uint16_t *theta_h);

/* Push one input vector x (I raw Q8.8 values) as ceil(I/P) x_in beats. */
int edgedrnn_push_input(edgedrnn_dev *dev, const int16_t *x);
/* Pop one step's ceil(H/P) h_out beats into h (H_last values); checks LAST and padding. */
int edgedrnn_read_output(edgedrnn_dev *dev, int16_t *h);
/* One time step: (after a reset, wait for idle) push x, pop h. */
int edgedrnn_step(edgedrnn_dev *dev, const int16_t *x, int16_t *h);

/* The orders of edgedrnn_run (docs/board.md, *When Θ applies*). */
#define EDGEDRNN_RUN_SEQUENTIAL 0  /* per step: Θ(t+1), x[t], h[t], step t's registers */
#define EDGEDRNN_RUN_QUEUE_AHEAD 1 /* per step: Θ(t+1), x[t+1], h[t], registers */
#define EDGEDRNN_RUN_PIPELINED 2   /* per step: wait for step t-1's end, its registers,
                                    * Θ(t+1), release x[t] (queued before), h[t-1], queue
                                    * x[t+1] */

/* A sequence of T steps x (T, I) from the current state, with optional per-step per-layer
 * thresholds (T, L) (both NULL: keep them), in one of the orders above (mode):
 * QUEUE_AHEAD (the register sequence of EdgeDRNNDriver.run) for systems where h_out waits
 * for the reader; SEQUENTIAL for systems where a FIFO takes h_out on its own; PIPELINED on
 * such a system with the HAL's release_x and wait_end: a step's output is read and the next
 * input queued while the accelerator runs the step after it, so a step waits only for its
 * predecessor's registers, the Θ changes and the release (docs/board.md). */
int edgedrnn_run(edgedrnn_dev *dev, const int16_t *x, uint32_t steps, const uint16_t *theta_x,
                 const uint16_t *theta_h, int mode, const edgedrnn_run_out *out);

#ifdef __cplusplus
}
#endif

#endif /* EDGEDRNN_H */
