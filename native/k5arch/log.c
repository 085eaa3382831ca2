// Compact log records (k5/log.py): packed in the task, framed and sent by the kernel.
//
// Why it is built this way:
// - A record is small and cheap: the format string is an index into a table built into the
//   image (tools/logtab.py), the arguments are packed as tagged binary values, and the task
//   makes one trap (SVC_LOG) that the trap layer serves in C, without the Python kernel.
// - What identifies a record (the task, the time) is added by the kernel when it frames it,
//   so a task cannot forge another's records; what the task packed is only its own arguments
//   (a hostile body is at worst garbage that `k5 logs` shows as such, with the task's name).
// - Kernel events (a task's fault, its restart) are records of task TASK_KERNEL with formats
//   at fixed indices, sent only after the root asked for them (MACHINE_LOG_EVENTS), so that the
//   console of a plain run stays text.
// - The frames go to the console, or (MACHINE_LOG_RTT) to an RTT buffer in kernel RAM that a
//   debug probe reads without stopping the core (SEGGER's control block layout: pyocd, J-Link
//   and OpenOCD find it by its id; `k5 logs --rtt`). The console then carries only text. A
//   frame that does not fit the buffer's free space is dropped whole (the probe is behind).
#include <string.h>
#include "py/objstr.h"
#include "py/runtime.h"
#include "uart.h"
#include "k5arch.h"
#include "k5log.h"
#include "k5logtab.h"

extern volatile uint32_t k5_clock_ms;

// Kernel events are on (MACHINE_LOG_EVENTS); written by the kernel only.
K5_KERNEL_DATA static uint8_t log_events; // (kernel-private: a task would hide its faults)
// Kernel events the console's transmit ring had no room for (k5log_event): counted, not waited
// for, since a task could fill the ring and then make the kernel write.
K5_KERNEL_DATA static uint32_t events_dropped;

void k5log_events(bool on) {
    log_events = on;
}

// --- RTT ----------------------------------------------------------------------------------------

#define RTT_UP_SIZE (1024)
#define RTT_DOWN_SIZE (16)

typedef struct _k5_rtt_ring_t {
    const char *name;
    uint8_t *buffer;
    uint32_t size;
    volatile uint32_t wr;       // written by the target
    volatile uint32_t rd;       // written by the probe
    uint32_t flags;             // 0: no blocking, a record that does not fit is skipped
} k5_rtt_ring_t;

typedef struct _k5_rtt_t {
    char id[16];                // "SEGGER RTT", written last
    int32_t max_up;
    int32_t max_down;
    k5_rtt_ring_t up;           // channel 0: the log frames
    k5_rtt_ring_t down;         // unused (present for probes that expect one)
    uint8_t up_buffer[RTT_UP_SIZE];
    uint8_t down_buffer[RTT_DOWN_SIZE];
} k5_rtt_t;

// The control block is made the first time RTT is switched on, in the GC heap (so that it
// costs nothing otherwise), kept alive by a root pointer and reached by the kernel through
// k5_rtt, in kernel RAM. No task holds a reference to it. A probe finds it through
// k5_rtt_locator (tools/rtt.py reads that symbol): a copy in the VM's RAM, which the kernel
// never reads, because QEMU's gdbstub reads memory as the interrupted code could, and that is
// a task as often as not.
K5_KERNEL_DATA static k5_rtt_t *k5_rtt;
k5_rtt_t *volatile k5_rtt_locator;
K5_KERNEL_DATA static uint8_t log_rtt;
MP_REGISTER_ROOT_POINTER(struct _k5_rtt_t *k5_rtt_block);

int k5log_rtt(bool on) {
    if (on && k5_rtt == NULL) {
        k5_rtt_t *block = m_malloc_maybe(sizeof(k5_rtt_t));
        if (block == NULL) {
            return -1; // the caller (the root) is told; the kernel's thread must not raise
        }
        memset(block, 0, sizeof(*block));
        block->max_up = 1;
        block->max_down = 1;
        block->up = (k5_rtt_ring_t) { "k5.log", block->up_buffer, RTT_UP_SIZE, 0, 0, 0 };
        block->down = (k5_rtt_ring_t) { "k5.log", block->down_buffer, RTT_DOWN_SIZE, 0, 0, 0 };
        // The id last, so that a probe scanning RAM never finds a block half made. (Assembled
        // here: a copy of the whole id in flash would be found first.)
        static const char tail[] = " RTT";
        memcpy(block->id + 6, tail, sizeof(tail));
        __asm volatile ("dmb" ::: "memory");
        memcpy(block->id, "SEGGER", 6);
        MP_STATE_VM(k5_rtt_block) = block;
        k5_rtt = block;
        k5_rtt_locator = block;
    }
    if (log_rtt != on) {
        k5arch_log_unname(); // each task's name again, on the new channel
    }
    log_rtt = on;
    return 0;
}

// A soft reset: the heap (and the block in it) is gone; the log is on the console again.
void k5log_reset(void) {
    k5_rtt = NULL;
    k5_rtt_locator = NULL;
    MP_STATE_VM(k5_rtt_block) = NULL;
    log_rtt = 0;
}

// The kernel writes only through its own pointer and the constant size (never through the
// block's buffer and size fields, which a probe reads): offsets out of range drop the frame.
static void rtt_write(const uint8_t *data, size_t len) {
    k5_rtt_ring_t *ring = &k5_rtt->up;
    const uint32_t size = RTT_UP_SIZE;
    uint32_t wr = ring->wr;
    uint32_t rd = ring->rd;
    uint32_t free = (rd + size - wr - 1) % size;
    if (rd >= size || wr >= size || len > free) {
        return; // the probe is behind (or wrote nonsense): this frame is dropped
    }
    for (size_t i = 0; i < len; i++) {
        k5_rtt->up_buffer[wr] = data[i];
        wr = wr + 1 == size ? 0 : wr + 1;
    }
    __asm volatile ("dmb" ::: "memory");
    ring->wr = wr;
}

// FORMAT_BASE + the index of fmt in the format table, or FORMAT_NONE.
static uint32_t format_code(const char *fmt, size_t len) {
    const char *entry = k5_log_formats;
    for (uint32_t index = 0; *entry; index++) {
        size_t n = strlen(entry);
        if (n == len && memcmp(entry, fmt, len) == 0) {
            return K5_FORMAT_BASE + index;
        }
        entry += n + 1;
    }
    return K5_FORMAT_NONE;
}

static void put_varint(uint8_t *buf, size_t *at, size_t max, uint32_t value) {
    do {
        if (*at >= max) {
            return;
        }
        uint8_t byte = value & 0x7f;
        value >>= 7;
        buf[(*at)++] = byte | (value ? 0x80 : 0);
    } while (value);
}

static void put_str(uint8_t *buf, size_t *at, size_t max, const char *text, size_t len) {
    if (len > K5_ARG_STR_MAX) {
        len = K5_ARG_STR_MAX;
    }
    if (*at + 2 + len > max) {
        return;
    }
    buf[(*at)++] = K5_ARG_STR;
    buf[(*at)++] = len;
    memcpy(buf + *at, text, len);
    *at += len;
}

// A record's body as a task packs it: LEVEL_BASE + level, the format's code, arguments.
static size_t pack(uint8_t *buf, mp_int_t level, mp_obj_t fmt_in, mp_obj_t args_in) {
    size_t len;
    const char *fmt = mp_obj_str_get_data(fmt_in, &len);
    size_t n_args;
    mp_obj_t *args;
    mp_obj_tuple_get(args_in, &n_args, &args);
    uint32_t code = format_code(fmt, len);
    const size_t max = 4 + K5_ARGS_MAX;
    size_t at = 0;
    buf[at++] = K5_LEVEL_BASE + (level & 3);
    put_varint(buf, &at, max, code);
    if (code == K5_FORMAT_NONE) {
        put_str(buf, &at, max, fmt, len);
    }
    for (size_t i = 0; i < n_args && at < max; i++) {
        mp_obj_t arg = args[i];
        if (mp_obj_is_int(arg)) {
            mp_int_t value = mp_obj_get_int_truncated(arg);
            buf[at++] = K5_ARG_INT;
            put_varint(buf, &at, max, ((uint32_t)value << 1) ^ (uint32_t)(value >> 31));
        #if MICROPY_PY_BUILTINS_FLOAT
        } else if (mp_obj_is_float(arg)) {
            float value = (float)mp_obj_get_float(arg);
            if (at + 5 <= max) {
                buf[at++] = K5_ARG_FLOAT;
                memcpy(buf + at, &value, 4);
                at += 4;
            }
        #endif
        } else if (arg == mp_const_none) {
            buf[at++] = K5_ARG_NONE;
        } else {
            // Anything else as its text (a str as it is).
            if (mp_obj_is_str_or_bytes(arg)) {
                size_t n;
                const char *text = mp_obj_str_get_data(arg, &n);
                put_str(buf, &at, max, text, n);
            } else {
                vstr_t vstr;
                mp_print_t print;
                vstr_init_print(&vstr, 16, &print);
                mp_obj_print_helper(&print, arg, PRINT_STR);
                put_str(buf, &at, max, vstr.buf, vstr.len);
                vstr_clear(&vstr);
            }
        }
    }
    return at > max ? max : at;
}

// Bytes a frame never holds but for its START: the control bytes mpremote's raw REPL reads as
// markers (0x01..0x04), and ESC. Each is sent as ESC, byte ^ 0x40 (k5/log.py).
static size_t put_escaped(uint8_t *out, size_t at, uint8_t byte) {
    if ((byte >= 0x01 && byte <= 0x04) || byte == K5_ESC) {
        out[at++] = K5_ESC;
        byte ^= 0x40;
    }
    out[at++] = byte;
    return at;
}

static void frame(const uint8_t *head, size_t head_len, const uint8_t *body, size_t body_len) {
    uint8_t out[1 + 2 * (1 + 8 + 4 + K5_ARGS_MAX + 1)];
    size_t at = 0;
    uint32_t sum = 0;
    out[at++] = K5_START;
    at = put_escaped(out, at, head_len + body_len);
    for (size_t i = 0; i < head_len; i++) {
        sum += head[i];
        at = put_escaped(out, at, head[i]);
    }
    for (size_t i = 0; i < body_len; i++) {
        sum += body[i];
        at = put_escaped(out, at, body[i]);
    }
    at = put_escaped(out, at, 0xff - (sum & 0xff));
    if (log_rtt) {
        rtt_write(out, at);
    } else {
        uart_tx_strn((const char *)out, at);
    }
}

static void record(uint32_t task, const uint8_t *body, size_t len) {
    uint8_t head[2 + 5] = { K5_KIND_RECORD, task };
    size_t at = 2;
    put_varint(head, &at, sizeof(head), k5_clock_ms);
    frame(head, at, body, len);
}

// The most bytes a frame of `len` head and body bytes takes on the wire: START, then the length,
// the bytes and the checksum, each escaped at worst to two.
static size_t frame_max(size_t len) {
    return 1 + 2 * (1 + len + 1);
}

// Whether SVC_LOG's frames (the task's name first, once, then the record) fit in the console's
// transmit ring now; RTT's channel takes whatever comes.
bool k5log_fits(k5_ctx_t *ctx, size_t len) {
    if (log_rtt) {
        return true;
    }
    size_t need = frame_max(7 + (len > 4 + K5_ARGS_MAX ? 4 + K5_ARGS_MAX : len));
    if (!ctx->log_named) {
        need += frame_max(2 + strlen(ctx->name));
    }
    return uart_tx_room() >= need;
}

// SVC_LOG from a task: body and length as the task packed them (pack() above).
// Contract: the kernel's thread, for the task `ctx` (slot `index`), its body readable by it.
void k5log_serve(k5_ctx_t *ctx, uint32_t index, const uint8_t *body, size_t len) {
    if (!ctx->log_named) {
        uint8_t head[2] = { K5_KIND_NAME, K5_TASK_BASE + index };
        frame(head, 2, (const uint8_t *)ctx->name, strlen(ctx->name));
        ctx->log_named = 1;
    }
    record(K5_TASK_BASE + index, body, len > 4 + K5_ARGS_MAX ? 4 + K5_ARGS_MAX : len);
}

// A kernel event about the task `ctx`: its name and, for a fault, the text. Written only when the
// console's transmit ring has room for it (after a record of how many were not, if any were not).
void k5log_event(k5_ctx_t *ctx, uint32_t format, const char *text) {
    if (!log_events) {
        return;
    }
    uint8_t body[4 + 2 * (2 + K5_ARG_STR_MAX)];
    size_t at = 0;
    body[at++] = K5_LEVEL_BASE + (format == k5_log_event_fault ? 3 : 1); // ERROR : INFO
    body[at++] = K5_FORMAT_BASE + format;
    put_str(body, &at, sizeof(body), ctx->name, strlen(ctx->name));
    if (text != NULL) {
        put_str(body, &at, sizeof(body), text, strlen(text));
    }
    uint8_t dropped[2 + 6];
    size_t dropped_len = 0;
    if (events_dropped != 0) {
        dropped[dropped_len++] = K5_LEVEL_BASE + 2; // WARN
        dropped[dropped_len++] = K5_FORMAT_BASE + k5_log_event_dropped;
        dropped[dropped_len++] = K5_ARG_INT;
        put_varint(dropped, &dropped_len, sizeof(dropped), events_dropped << 1); // zigzag
    }
    size_t need = frame_max(7 + at) + (dropped_len ? frame_max(7 + dropped_len) : 0);
    if (!log_rtt && uart_tx_room() < need) {
        events_dropped++;
        return;
    }
    if (dropped_len) {
        record(K5_TASK_KERNEL, dropped, dropped_len);
        events_dropped = 0;
    }
    record(K5_TASK_KERNEL, body, at);
}

uint32_t k5log_fault_format(void) {
    return k5_log_event_fault;
}

uint32_t k5log_restart_format(void) {
    return k5_log_event_restart;
}

// _k5arch.log(level, fmt, args): in a task, one SVC_LOG; on the kernel's thread, a record of
// the kernel's. (k5/log.py's debug/info/warn/error call it.)
static mp_obj_t mod_log(mp_obj_t level, mp_obj_t fmt, mp_obj_t args) {
    uint8_t body[4 + K5_ARGS_MAX];
    size_t len = pack(body, mp_obj_get_int(level), fmt, args);
    if (k5arch_in_task()) {
        while (k5_svc_log(body, len) == 1) {
            k5arch_task_wait_event(); // the console is busy: a tick, in the task's own time
        }
    } else {
        record(K5_TASK_KERNEL, body, len);
    }
    return mp_const_none;
}
MP_DEFINE_CONST_FUN_OBJ_3(k5log_obj, mod_log);
