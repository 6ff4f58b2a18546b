/*
 * EdgeDRNN C runtime (edgedrnn.h). C99, no libc beyond <stdint.h> / <stddef.h>.
 *
 * The register sequences follow edgedrnn.host.EdgeDRNNDriver one for one (configure, the
 * threshold writes, step, run), so the host tests compare the two register logs.
 */
#include "edgedrnn.h"

#define CTRL_START EDGEDRNN_CTRL_START_MASK
#define CTRL_RESET_STATE EDGEDRNN_CTRL_RESET_STATE_MASK
#define CTRL_SOFT_RESET EDGEDRNN_CTRL_SOFT_RESET_MASK
#define THETA_MAX 32767u
#define IMAGE_ALIGN 64u
#define CRC_OFFSET 24u

const char *edgedrnn_strerror(int error)
{
    switch (error) {
    case EDGEDRNN_OK: return "success";
    case EDGEDRNN_ERR_ARGUMENT: return "invalid argument (NULL pointer or missing HAL hook)";
    case EDGEDRNN_ERR_NOT_EDGEDRNN: return "ID register does not read 0x4544524E: no EdgeDRNN at this address";
    case EDGEDRNN_ERR_VERSION: return "device register map major version differs from the runtime's";
    case EDGEDRNN_ERR_IMAGE_MAGIC: return "not an EdgeDRNN runtime image (magic EDRNNIMG missing)";
    case EDGEDRNN_ERR_IMAGE_VERSION: return "runtime image format version not supported";
    case EDGEDRNN_ERR_IMAGE_TRUNCATED: return "runtime image shorter than its header announces";
    case EDGEDRNN_ERR_IMAGE_CHECKSUM: return "runtime image CRC-32 mismatch";
    case EDGEDRNN_ERR_IMAGE_LAYOUT: return "runtime image layout inconsistent (sizes, offsets or strides)";
    case EDGEDRNN_ERR_HW_MISMATCH: return "program compiled for another NUM_PE, bus width or weight image kind (dense/sparse)";
    case EDGEDRNN_ERR_TOO_LARGE: return "more layers or larger sizes than the device (or the runtime) takes";
    case EDGEDRNN_ERR_ALIGNMENT: return "weight base not aligned to the bus width";
    case EDGEDRNN_ERR_NOT_CONFIGURED: return "no program configured";
    case EDGEDRNN_ERR_THRESHOLD: return "threshold outside 0..32767 (raw Q8.8)";
    case EDGEDRNN_ERR_TIMEOUT: return "STATUS.BUSY still set after the poll limit";
    case EDGEDRNN_ERR_STREAM: return "stream hook failed (no h_out beat or x_in full)";
    case EDGEDRNN_ERR_LAST_FLAG: return "h_out LAST flag not on exactly the step's final beat";
    case EDGEDRNN_ERR_PADDING: return "h_out lanes past the hidden size are not zero";
    case EDGEDRNN_ERR_DEVICE: return "device reports STATUS.ERROR: bad configuration or a weight-memory error";
    case EDGEDRNN_ERR_STEP_COUNT: return "STEP_COUNT lower than the steps run";
    case EDGEDRNN_ERR_MEMORY: return "weight-memory copy failed";
    default: return "unknown error";
    }
}

/* ------------------------------------------------------------------ registers */

static uint32_t mmio_read32(void *ctx, uint32_t offset)
{
    return *(volatile const uint32_t *)((uintptr_t)ctx + offset);
}

static void mmio_write32(void *ctx, uint32_t offset, uint32_t value)
{
    *(volatile uint32_t *)((uintptr_t)ctx + offset) = value;
}

void edgedrnn_hal_mmio(edgedrnn_hal *hal, uintptr_t base)
{
    if (!hal) return;
    hal->ctx = (void *)base;
    hal->read32 = mmio_read32;
    hal->write32 = mmio_write32;
    hal->push_x = NULL;
    hal->pop_h = NULL;
    hal->write_mem = NULL;
    hal->release_x = NULL;
    hal->wait_end = NULL;
}

static uint32_t rd(const edgedrnn_dev *dev, uint32_t offset)
{
    return dev->hal.read32(dev->hal.ctx, offset);
}

static void wr(const edgedrnn_dev *dev, uint32_t offset, uint32_t value)
{
    dev->hal.write32(dev->hal.ctx, offset, value);
}

static uint32_t field(uint32_t value, uint32_t mask, uint32_t shift)
{
    return (value & mask) >> shift;
}

int edgedrnn_init(edgedrnn_dev *dev, const edgedrnn_hal *hal)
{
    uint32_t id, version, cfg;
    if (!dev || !hal || !hal->read32 || !hal->write32) return EDGEDRNN_ERR_ARGUMENT;
    /* field by field: a struct copy may become a memcpy call, which a freestanding build
     * does not have */
    dev->hal.ctx = hal->ctx;
    dev->hal.read32 = hal->read32;
    dev->hal.write32 = hal->write32;
    dev->hal.push_x = hal->push_x;
    dev->hal.pop_h = hal->pop_h;
    dev->hal.write_mem = hal->write_mem;
    dev->hal.release_x = hal->release_x;
    dev->hal.wait_end = hal->wait_end;
    dev->num_layers = 0;
    dev->input_size = 0;
    dev->output_size = 0;
    dev->x_beats = 0;
    dev->h_beats = 0;
    dev->weight_base = 0;
    dev->weights = NULL;
    dev->weight_bytes = 0;
    dev->poll_limit = EDGEDRNN_POLL_LIMIT;
    dev->fresh = 0;
    id = rd(dev, EDGEDRNN_ID);
    if (id != EDGEDRNN_ID_VALUE) return EDGEDRNN_ERR_NOT_EDGEDRNN;
    version = rd(dev, EDGEDRNN_VERSION);
    dev->info.version_major = version >> 16;
    dev->info.version_minor = version & 0xFFFFu;
    if (dev->info.version_major != (EDGEDRNN_VERSION_VALUE >> 16)) return EDGEDRNN_ERR_VERSION;
    cfg = rd(dev, EDGEDRNN_CONFIG);
    dev->info.num_pe = field(cfg, EDGEDRNN_CONFIG_NUM_PE_MASK, EDGEDRNN_CONFIG_NUM_PE_SHIFT);
    dev->info.bus_bits = 1u << field(cfg, EDGEDRNN_CONFIG_LOG2_BUS_BITS_MASK,
                                     EDGEDRNN_CONFIG_LOG2_BUS_BITS_SHIFT);
    dev->info.max_layers =
        field(cfg, EDGEDRNN_CONFIG_MAX_LAYERS_MASK, EDGEDRNN_CONFIG_MAX_LAYERS_SHIFT);
    dev->info.max_hidden_size = 1u << field(cfg, EDGEDRNN_CONFIG_LOG2_MAX_HIDDEN_MASK,
                                            EDGEDRNN_CONFIG_LOG2_MAX_HIDDEN_SHIFT);
    dev->info.max_input_size = 1u << field(cfg, EDGEDRNN_CONFIG_LOG2_MAX_INPUT_MASK,
                                           EDGEDRNN_CONFIG_LOG2_MAX_INPUT_SHIFT);
    dev->info.sparse_weights =
        field(cfg, EDGEDRNN_CONFIG_SPARSE_MASK, EDGEDRNN_CONFIG_SPARSE_SHIFT);
    if (dev->info.num_pe == 0 || dev->info.num_pe > EDGEDRNN_MAX_PE) return EDGEDRNN_ERR_TOO_LARGE;
    return EDGEDRNN_OK;
}

/* -------------------------------------------------------------------- image */

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static uint32_t crc32_update(uint32_t crc, const uint8_t *data, size_t length)
{
    size_t i;
    int bit;
    for (i = 0; i < length; i++) {
        crc ^= data[i];
        for (bit = 0; bit < 8; bit++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return crc;
}

static uint32_t round_up(uint32_t n, uint32_t to)
{
    return (n + to - 1u) / to * to;
}

/* Header fields of an image; the layer records are read in place. */
typedef struct image_view {
    uint32_t num_layers, num_pe, bus_bits, header_bytes, weight_bytes;
    uint32_t sparse, layer_bytes; /* version 2: sparse weight image, 36-byte records */
    const uint8_t *records;
    const uint8_t *weights;
} image_view;

static int parse_image(const void *image, size_t length, uint32_t flags, image_view *view)
{
    static const char magic[8] = EDGEDRNN_IMAGE_MAGIC;
    const uint8_t *p = (const uint8_t *)image;
    uint32_t i, crc, word, offset, prev_h;
    if (!image) return EDGEDRNN_ERR_ARGUMENT;
    if (length < EDGEDRNN_IMAGE_HEADER_BYTES) {
        for (i = 0; i < length && i < 8u; i++)
            if (p[i] != (uint8_t)magic[i]) return EDGEDRNN_ERR_IMAGE_MAGIC;
        return EDGEDRNN_ERR_IMAGE_TRUNCATED;
    }
    for (i = 0; i < 8u; i++)
        if (p[i] != (uint8_t)magic[i]) return EDGEDRNN_ERR_IMAGE_MAGIC;
    if (le16(p + 8) != EDGEDRNN_IMAGE_VERSION && le16(p + 8) != EDGEDRNN_IMAGE_VERSION_SPARSE)
        return EDGEDRNN_ERR_IMAGE_VERSION;
    view->sparse = le16(p + 8) == EDGEDRNN_IMAGE_VERSION_SPARSE;
    view->layer_bytes =
        view->sparse ? EDGEDRNN_IMAGE_SPARSE_LAYER_BYTES : EDGEDRNN_IMAGE_LAYER_BYTES;
    view->num_layers = le16(p + 10);
    view->num_pe = le16(p + 12);
    view->bus_bits = le16(p + 14);
    view->header_bytes = le32(p + 16);
    view->weight_bytes = le32(p + 20);
    if (view->header_bytes < EDGEDRNN_IMAGE_HEADER_BYTES ||
        view->header_bytes % IMAGE_ALIGN != 0 || view->num_layers == 0 ||
        view->header_bytes < EDGEDRNN_IMAGE_HEADER_BYTES + view->layer_bytes * view->num_layers ||
        view->num_pe == 0 || view->bus_bits < 8u || view->bus_bits % 8u != 0)
        return EDGEDRNN_ERR_IMAGE_LAYOUT;
    if (length < view->header_bytes || length - view->header_bytes < view->weight_bytes)
        return EDGEDRNN_ERR_IMAGE_TRUNCATED;
    if (!(flags & EDGEDRNN_CONFIGURE_NO_CHECKSUM)) {
        crc = crc32_update(0xFFFFFFFFu, p, CRC_OFFSET);
        crc = crc32_update(crc, p + CRC_OFFSET + 4u,
                           view->header_bytes + view->weight_bytes - CRC_OFFSET - 4u);
        if ((crc ^ 0xFFFFFFFFu) != le32(p + CRC_OFFSET)) return EDGEDRNN_ERR_IMAGE_CHECKSUM;
    }
    if (view->num_layers > EDGEDRNN_MAX_LAYERS) return EDGEDRNN_ERR_TOO_LARGE;
    view->records = p + EDGEDRNN_IMAGE_HEADER_BYTES;
    view->weights = p + view->header_bytes;
    /* the layout rules of docs/program-format.md (LayerLayout.plan): a dense column is 3R
     * bytes, a sparse one 6nP (n = SLOTS, 1 <= n <= R/P <= 256), padded to bus words */
    word = view->bus_bits / 8u;
    offset = 0;
    prev_h = 0;
    for (i = 0; i < view->num_layers; i++) {
        const uint8_t *r = view->records + view->layer_bytes * i;
        uint32_t n_in = le32(r), h = le32(r + 4), rows = le32(r + 8), bias = le32(r + 12);
        uint32_t column = le32(r + 16), stride = le32(r + 20), cols, size;
        uint32_t slots = view->sparse ? le32(r + 32) : 0u;
        if (n_in == 0 || h == 0 || n_in > 0xFFFFu || h > 0xFFFFu) return EDGEDRNN_ERR_IMAGE_LAYOUT;
        if (i > 0 && n_in != prev_h) return EDGEDRNN_ERR_IMAGE_LAYOUT;
        if (view->sparse && (slots == 0 || slots > round_up(h, view->num_pe) / view->num_pe ||
                             slots > 256u))
            return EDGEDRNN_ERR_IMAGE_LAYOUT;
        size = view->sparse ? 6u * slots * view->num_pe : 3u * rows;
        if (rows != round_up(h, view->num_pe) || bias != offset ||
            column != bias + round_up(4u * rows, word) || stride != round_up(size, word))
            return EDGEDRNN_ERR_IMAGE_LAYOUT;
        if (le32(r + 24) > THETA_MAX || le32(r + 28) > THETA_MAX) return EDGEDRNN_ERR_THRESHOLD;
        cols = n_in + h;
        if (column > view->weight_bytes || stride > (view->weight_bytes - column) / cols)
            return EDGEDRNN_ERR_IMAGE_LAYOUT;
        offset = column + cols * stride;
        prev_h = h;
    }
    if (offset != view->weight_bytes) return EDGEDRNN_ERR_IMAGE_LAYOUT;
    return EDGEDRNN_OK;
}

int edgedrnn_check_image(const void *image, size_t length, uint32_t num_pe, uint32_t bus_bits,
                         uint32_t flags)
{
    image_view view;
    int err = parse_image(image, length, flags, &view);
    if (err) return err;
    if ((num_pe && view.num_pe != num_pe) || (bus_bits && view.bus_bits != bus_bits))
        return EDGEDRNN_ERR_HW_MISMATCH;
    return EDGEDRNN_OK;
}

/* ------------------------------------------------------------------ control */

int edgedrnn_soft_reset(edgedrnn_dev *dev)
{
    if (!dev) return EDGEDRNN_ERR_ARGUMENT;
    wr(dev, EDGEDRNN_CTRL, CTRL_SOFT_RESET);
    dev->fresh = 0;
    return EDGEDRNN_OK;
}

int edgedrnn_reset_state(edgedrnn_dev *dev)
{
    if (!dev) return EDGEDRNN_ERR_ARGUMENT;
    wr(dev, EDGEDRNN_CTRL, CTRL_RESET_STATE);
    dev->fresh = 1;
    return EDGEDRNN_OK;
}

int edgedrnn_start(edgedrnn_dev *dev, int reset_state)
{
    if (!dev) return EDGEDRNN_ERR_ARGUMENT;
    wr(dev, EDGEDRNN_CTRL, CTRL_START | (reset_state ? CTRL_RESET_STATE : 0u));
    dev->fresh = dev->fresh || reset_state;
    return EDGEDRNN_OK;
}

uint32_t edgedrnn_status(const edgedrnn_dev *dev)
{
    return rd(dev, EDGEDRNN_STATUS);
}

int edgedrnn_overflow(const edgedrnn_dev *dev)
{
    return (edgedrnn_status(dev) & EDGEDRNN_STATUS_OVERFLOW_MASK) != 0;
}

int edgedrnn_clear_status(const edgedrnn_dev *dev, uint32_t bits)
{
    if (!dev) return EDGEDRNN_ERR_ARGUMENT;
    wr(dev, EDGEDRNN_STATUS_CLEAR, bits);
    return EDGEDRNN_OK;
}

int edgedrnn_check_error(const edgedrnn_dev *dev)
{
    if (!dev) return EDGEDRNN_ERR_ARGUMENT;
    return (edgedrnn_status(dev) & EDGEDRNN_STATUS_ERROR_MASK) ? EDGEDRNN_ERR_DEVICE : EDGEDRNN_OK;
}

int edgedrnn_wait_idle(const edgedrnn_dev *dev)
{
    uint32_t i;
    if (!dev) return EDGEDRNN_ERR_ARGUMENT;
    for (i = 0; i < dev->poll_limit; i++)
        if (!(edgedrnn_status(dev) & EDGEDRNN_STATUS_BUSY_MASK)) return EDGEDRNN_OK;
    return EDGEDRNN_ERR_TIMEOUT;
}

uint32_t edgedrnn_step_cycles(const edgedrnn_dev *dev)
{
    return rd(dev, EDGEDRNN_STEP_CYCLES);
}

uint32_t edgedrnn_latency(const edgedrnn_dev *dev)
{
    return rd(dev, EDGEDRNN_LATENCY);
}

uint32_t edgedrnn_step_count(const edgedrnn_dev *dev)
{
    return rd(dev, EDGEDRNN_STEP_COUNT);
}

int edgedrnn_nonzero(const edgedrnn_dev *dev, uint32_t *nonzero)
{
    uint32_t l;
    if (!dev || !nonzero) return EDGEDRNN_ERR_ARGUMENT;
    if (!dev->num_layers) return EDGEDRNN_ERR_NOT_CONFIGURED;
    for (l = 0; l < dev->num_layers; l++) {
        nonzero[2u * l] = rd(dev, EDGEDRNN_LAYER_NZ_X(l));
        nonzero[2u * l + 1u] = rd(dev, EDGEDRNN_LAYER_NZ_H(l));
    }
    return EDGEDRNN_OK;
}

/* ------------------------------------------------------------ configuration */

int edgedrnn_configure(edgedrnn_dev *dev, const void *image, size_t length,
                       uint32_t weight_base, uint32_t flags)
{
    image_view view;
    uint32_t i, widest = 0;
    int err;
    if (!dev || !image) return EDGEDRNN_ERR_ARGUMENT;
    err = parse_image(image, length, flags, &view);
    if (err) return err;
    /* what EdgeDRNNDriver._check_fits refuses */
    if (view.num_pe != dev->info.num_pe || view.bus_bits != dev->info.bus_bits ||
        view.sparse != (dev->info.sparse_weights != 0u))
        return EDGEDRNN_ERR_HW_MISMATCH;
    for (i = 0; i < view.num_layers; i++) {
        uint32_t h = le32(view.records + view.layer_bytes * i + 4u);
        if (h > widest) widest = h;
    }
    if (view.num_layers > dev->info.max_layers ||
        le32(view.records) > dev->info.max_input_size || widest > dev->info.max_hidden_size)
        return EDGEDRNN_ERR_TOO_LARGE;
    if (weight_base % (view.bus_bits / 8u)) return EDGEDRNN_ERR_ALIGNMENT;

    edgedrnn_soft_reset(dev);
    dev->num_layers = 0;
    if (dev->hal.write_mem &&
        dev->hal.write_mem(dev->hal.ctx, weight_base, view.weights, view.weight_bytes))
        return EDGEDRNN_ERR_MEMORY;
    wr(dev, EDGEDRNN_WEIGHT_BASE, weight_base);
    wr(dev, EDGEDRNN_NUM_LAYERS, view.num_layers);
    for (i = 0; i < view.num_layers; i++) {
        const uint8_t *r = view.records + view.layer_bytes * i;
        edgedrnn_layer *lay = &dev->layers[i];
        lay->input_size = le32(r);
        lay->hidden_size = le32(r + 4);
        lay->rows_per_gate = le32(r + 8);
        lay->bias_addr = le32(r + 12);
        lay->column_addr = le32(r + 16);
        lay->column_stride = le32(r + 20);
        lay->theta_x = le32(r + 24);
        lay->theta_h = le32(r + 28);
        lay->slots = view.sparse ? le32(r + 32) : 0u;
        wr(dev, EDGEDRNN_LAYER_INPUT_SIZE(i), lay->input_size);
        wr(dev, EDGEDRNN_LAYER_HIDDEN_SIZE(i), lay->hidden_size);
        wr(dev, EDGEDRNN_LAYER_ROWS_PER_GATE(i), lay->rows_per_gate);
        wr(dev, EDGEDRNN_LAYER_BIAS_ADDR(i), lay->bias_addr);
        wr(dev, EDGEDRNN_LAYER_COLUMN_ADDR(i), lay->column_addr);
        wr(dev, EDGEDRNN_LAYER_COLUMN_STRIDE(i), lay->column_stride);
        if (view.sparse) wr(dev, EDGEDRNN_LAYER_SLOTS(i), lay->slots);
        wr(dev, EDGEDRNN_LAYER_THETA_X(i), lay->theta_x);
        wr(dev, EDGEDRNN_LAYER_THETA_H(i), lay->theta_h);
    }
    dev->num_layers = view.num_layers;
    dev->input_size = dev->layers[0].input_size;
    dev->output_size = dev->layers[view.num_layers - 1u].hidden_size;
    dev->x_beats = EDGEDRNN_STREAM_BEATS(dev->input_size, dev->info.num_pe);
    dev->h_beats = EDGEDRNN_STREAM_BEATS(dev->output_size, dev->info.num_pe);
    dev->weight_base = weight_base;
    dev->weights = view.weights;
    dev->weight_bytes = view.weight_bytes;
    if (!(flags & EDGEDRNN_CONFIGURE_NO_START)) edgedrnn_start(dev, 1);
    return EDGEDRNN_OK;
}

int edgedrnn_set_thresholds(edgedrnn_dev *dev, const uint16_t *theta_x, const uint16_t *theta_h)
{
    uint32_t l;
    int written = 0;
    if (!dev || !theta_x || !theta_h) return EDGEDRNN_ERR_ARGUMENT;
    if (!dev->num_layers) return EDGEDRNN_ERR_NOT_CONFIGURED;
    for (l = 0; l < dev->num_layers; l++)
        if (theta_x[l] > THETA_MAX || theta_h[l] > THETA_MAX) return EDGEDRNN_ERR_THRESHOLD;
    for (l = 0; l < dev->num_layers; l++) {
        edgedrnn_layer *lay = &dev->layers[l];
        if (theta_x[l] != lay->theta_x) {
            wr(dev, EDGEDRNN_LAYER_THETA_X(l), theta_x[l]);
            lay->theta_x = theta_x[l];
            written++;
        }
        if (theta_h[l] != lay->theta_h) {
            wr(dev, EDGEDRNN_LAYER_THETA_H(l), theta_h[l]);
            lay->theta_h = theta_h[l];
            written++;
        }
    }
    return written;
}

/* -------------------------------------------------------------------- steps */

typedef union beat_buffer {
    int16_t lanes[EDGEDRNN_MAX_PE];
    uint32_t words[(EDGEDRNN_MAX_PE + 1u) / 2u];
} beat_buffer;

/* Push x as the step's beats; end: push_x's last on the step's final beat. */
static int push_input(edgedrnn_dev *dev, const int16_t *x, int end)
{
    beat_buffer buf; /* word-aligned, so a HAL may move the lanes as 32-bit words */
    int16_t *beat = buf.lanes;
    uint32_t p, whole, k, i;
    if (!dev || !x || !dev->hal.push_x) return EDGEDRNN_ERR_ARGUMENT;
    if (!dev->num_layers) return EDGEDRNN_ERR_NOT_CONFIGURED;
    p = dev->info.num_pe;
    whole = dev->input_size / p; /* beats straight from x */
    if (whole && dev->hal.push_x(dev->hal.ctx, x, p, whole, whole == dev->x_beats ? end : 0))
        return EDGEDRNN_ERR_STREAM;
    if (whole < dev->x_beats) { /* the last beat, zero-padded */
        for (k = 0; k < p; k++) {
            i = whole * p + k;
            beat[k] = i < dev->input_size ? x[i] : 0;
        }
        if (dev->hal.push_x(dev->hal.ctx, beat, p, 1u, end)) return EDGEDRNN_ERR_STREAM;
    }
    return EDGEDRNN_OK;
}

int edgedrnn_push_input(edgedrnn_dev *dev, const int16_t *x)
{
    return push_input(dev, x, EDGEDRNN_PUSH_END);
}

int edgedrnn_read_output(edgedrnn_dev *dev, int16_t *h)
{
    beat_buffer buf; /* word-aligned, so a HAL may move the lanes as 32-bit words */
    int16_t *beat = buf.lanes;
    uint32_t p, whole, b, k, i;
    int last, bad_last = 0, bad_pad = 0;
    if (!dev || !dev->hal.pop_h) return EDGEDRNN_ERR_ARGUMENT;
    if (!dev->num_layers) return EDGEDRNN_ERR_NOT_CONFIGURED;
    dev->fresh = 0;
    p = dev->info.num_pe;
    whole = h ? dev->output_size / p : 0; /* beats straight into h */
    if (whole) {
        last = 0;
        if (dev->hal.pop_h(dev->hal.ctx, h, p, whole, &last)) return EDGEDRNN_ERR_STREAM;
        if (last != (whole == dev->h_beats ? EDGEDRNN_LAST_FINAL : 0)) bad_last = 1;
    }
    for (b = whole; b < dev->h_beats; b++) { /* through the beat buffer, checking padding */
        last = 0;
        if (dev->hal.pop_h(dev->hal.ctx, beat, p, 1u, &last)) return EDGEDRNN_ERR_STREAM;
        if (last != (b + 1u == dev->h_beats ? EDGEDRNN_LAST_FINAL : 0)) bad_last = 1;
        for (k = 0; k < p; k++) {
            i = b * p + k;
            if (i < dev->output_size) {
                if (h) h[i] = beat[k];
            } else if (beat[k] != 0) {
                bad_pad = 1;
            }
        }
    }
    if (bad_last) return EDGEDRNN_ERR_LAST_FLAG;
    return bad_pad ? EDGEDRNN_ERR_PADDING : EDGEDRNN_OK;
}

int edgedrnn_step(edgedrnn_dev *dev, const int16_t *x, int16_t *h)
{
    int err;
    if (!dev) return EDGEDRNN_ERR_ARGUMENT;
    if (!dev->num_layers) return EDGEDRNN_ERR_NOT_CONFIGURED;
    if (dev->fresh && (err = edgedrnn_wait_idle(dev)) != EDGEDRNN_OK) return err;
    if ((err = edgedrnn_push_input(dev, x)) != EDGEDRNN_OK) return err;
    return edgedrnn_read_output(dev, h);
}

/* The registers of the step that ended last into slot t of out. */
static void read_step(const edgedrnn_dev *dev, const edgedrnn_run_out *out, uint32_t t)
{
    if (out->cycles) out->cycles[t] = edgedrnn_step_cycles(dev);
    if (out->latency) out->latency[t] = edgedrnn_latency(dev);
    if (out->nonzero) edgedrnn_nonzero(dev, out->nonzero + 2u * t * dev->num_layers);
}

/* EDGEDRNN_RUN_PIPELINED: step t's input is queued (held) while step t-1 runs and released
 * once step t-1 has ended and its registers are read, so the registers are step t-1's and
 * Θ(t+1), written before the release, is latched at step t's end; step t-1's output is read
 * and x[t+1] queued while step t runs. */
static int run_pipelined(edgedrnn_dev *dev, const int16_t *x, uint32_t steps,
                         const uint16_t *theta_x, const uint16_t *theta_h,
                         const edgedrnn_run_out *out)
{
    uint32_t t, end, layers = dev->num_layers, n_in = dev->input_size, n_out = dev->output_size;
    int err, per_step = theta_x && theta_h;
    if (!dev->hal.release_x || !dev->hal.wait_end) return EDGEDRNN_ERR_ARGUMENT;
    if (steps && (err = push_input(dev, x, EDGEDRNN_PUSH_HOLD)) != EDGEDRNN_OK) return err;
    for (t = 0; t <= steps; t++) {
        if (t > 0) { /* step t-1 has ended, step t has not started */
            if (dev->hal.wait_end(dev->hal.ctx, &end)) return EDGEDRNN_ERR_STREAM;
            if (out->ends) out->ends[t - 1u] = end;
            read_step(dev, out, t - 1u);
        }
        if (t < steps) {
            if (per_step && t + 1u < steps) {
                err = edgedrnn_set_thresholds(dev, theta_x + (t + 1u) * layers,
                                              theta_h + (t + 1u) * layers);
                if (err < 0) return err;
            }
            if (dev->hal.release_x(dev->hal.ctx, dev->x_beats)) return EDGEDRNN_ERR_STREAM;
        }
        if (t > 0) {
            err = edgedrnn_read_output(dev, out->h ? out->h + (t - 1u) * n_out : NULL);
            if (err) return err;
        }
        if (t + 1u < steps) {
            err = push_input(dev, x + (t + 1u) * n_in, EDGEDRNN_PUSH_HOLD);
            if (err) return err;
        }
    }
    return EDGEDRNN_OK;
}

int edgedrnn_run(edgedrnn_dev *dev, const int16_t *x, uint32_t steps, const uint16_t *theta_x,
                 const uint16_t *theta_h, int mode, const edgedrnn_run_out *out)
{
    static const edgedrnn_run_out none = {NULL, NULL, NULL, NULL, NULL, NULL};
    uint32_t t, layers, n_in, n_out, count;
    int per_step, err, fresh, ahead = mode == EDGEDRNN_RUN_QUEUE_AHEAD;
    if (!dev || (steps && !x)) return EDGEDRNN_ERR_ARGUMENT;
    if (mode != EDGEDRNN_RUN_SEQUENTIAL && !ahead && mode != EDGEDRNN_RUN_PIPELINED)
        return EDGEDRNN_ERR_ARGUMENT;
    if (!dev->num_layers) return EDGEDRNN_ERR_NOT_CONFIGURED;
    if (!out) out = &none;
    layers = dev->num_layers;
    n_in = dev->input_size;
    n_out = dev->output_size;
    per_step = theta_x && theta_h;
    if (per_step && steps) {
        fresh = dev->fresh;
        err = edgedrnn_set_thresholds(dev, theta_x, theta_h);
        if (err < 0) return err;
        if (err > 0 && fresh) edgedrnn_start(dev, 1); /* the reset latches step 0's Θ */
    }
    if (dev->fresh && (err = edgedrnn_wait_idle(dev)) != EDGEDRNN_OK) return err;
    if (mode == EDGEDRNN_RUN_PIPELINED) {
        if ((err = run_pipelined(dev, x, steps, theta_x, theta_h, out)) != EDGEDRNN_OK)
            return err;
    } else {
        if (ahead && steps && (err = edgedrnn_push_input(dev, x)) != EDGEDRNN_OK) return err;
        for (t = 0; t < steps; t++) {
            /* Θ of step t+1 is written before step t ends: before step t+1's input is queued
             * (queue ahead: step t's output is still to be read, so step t has not ended
             * where h_out waits for the reader), else before step t's own input, so that
             * step t cannot have ended even where a FIFO takes h_out on its own (the SoC's
             * StreamWindow) */
            if (per_step && t + 1u < steps) {
                err = edgedrnn_set_thresholds(dev, theta_x + (t + 1u) * layers,
                                              theta_h + (t + 1u) * layers);
                if (err < 0) return err;
            }
            if (ahead) {
                if (t + 1u < steps && (err = edgedrnn_push_input(dev, x + (t + 1u) * n_in)))
                    return err;
            } else if ((err = edgedrnn_push_input(dev, x + t * n_in)) != EDGEDRNN_OK) {
                return err;
            }
            err = edgedrnn_read_output(dev, out->h ? out->h + t * n_out : NULL);
            if (err) return err;
            read_step(dev, out, t);
        }
    }
    count = edgedrnn_step_count(dev);
    if ((err = edgedrnn_check_error(dev)) != EDGEDRNN_OK) return err;
    if (count < steps) return EDGEDRNN_ERR_STEP_COUNT;
    if (out->overflow) *out->overflow = edgedrnn_overflow(dev);
    return EDGEDRNN_OK;
}
