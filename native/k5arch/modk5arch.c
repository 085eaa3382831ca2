// Module _k5arch: the device half of K5's arch facade (k5/arch.py), over k5arch.c and trap.c.
//
// The kernel's thread creates an Arch and drives tasks through it with the same names the host
// backend has (k5/arch_host.py): now, idle, context_new, context_reset, run, request,
// set_result, fault_text, memory_view (and context_stats, close). Tasks call the module-level
// trap() and spin().
// Contexts are kernel-side objects: only the kernel's thread ever holds one.
#include <string.h>
#include "py/gc.h"
#include "py/mphal.h"
#include "py/objstr.h"
#include "py/objtuple.h"
#include "py/runtime.h"
#include "mcu/cortex_m33.h"
#include "k5arch.h"
#include "uart.h"

typedef struct _k5arch_context_obj_t {
    mp_obj_base_t base;
    k5_ctx_t *ctx;
    uint32_t serial;
    k5_ns_t ns; // the task's namespace (reachable only from here and, while it runs, the VM)
} k5arch_context_obj_t;

static const mp_obj_type_t k5arch_context_type;

static mp_obj_t get_obj(mp_obj_t obj) {
    if (!mp_obj_is_type(obj, &k5arch_context_type)) {
        mp_raise_TypeError(MP_ERROR_TEXT("expected a K5 context"));
    }
    return obj;
}

// The context a Context object names, if it is one in use and the same allocation. The object
// lies in the kernel's heap, which tasks in the kernel's interpreter can write: its pointer is
// taken only if it is one of the contexts (kernel-private), so a forged object can name another
// task's context at worst, never memory of the task's making.
static k5_ctx_t *live_ctx(mp_obj_t obj) {
    k5arch_context_obj_t *self = MP_OBJ_TO_PTR(get_obj(obj));
    if (!k5arch_context_valid(self->ctx) || self->ctx->serial != self->serial) {
        return NULL;
    }
    return self->ctx;
}

static k5_ctx_t *get_ctx(mp_obj_t obj) {
    k5_ctx_t *ctx = live_ctx(obj);
    if (ctx == NULL) {
        mp_raise_ValueError(MP_ERROR_TEXT("K5 context was freed"));
    }
    return ctx;
}

static void require_kernel(void) {
    if (k5arch_in_task()) {
        mp_raise_msg(&mp_type_OSError, MP_ERROR_TEXT("K5: only the kernel's thread may do this"));
    }
}

static MP_DEFINE_CONST_OBJ_TYPE(
    k5arch_context_type,
    MP_QSTR_Context,
    MP_TYPE_FLAG_NONE
    );

// --- Arch ---------------------------------------------------------------------------------------

typedef struct _k5arch_arch_obj_t {
    mp_obj_base_t base;
    uint32_t id;
} k5arch_arch_obj_t;

// Arch(**options): the host backend's options (syscall_cost, start) mean nothing on the device.
static mp_obj_t arch_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw,
    const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 0, 0, true);
    require_kernel();
    k5arch_arch_obj_t *self = mp_obj_malloc(k5arch_arch_obj_t, type);
    K5_KERNEL_DATA static uint32_t next_id; // (kernel-private: ids tell whose contexts Arch.close frees)
    self->id = ++next_id;
    return MP_OBJ_FROM_PTR(self);
}

// The trap loop's calls (now, interrupts, run, request, set_result) are static methods: a bound
// method would cost the kernel a call layer and an argument copy at every use.
static mp_obj_t arch_now(void) {
    return MP_OBJ_NEW_SMALL_INT(k5arch_now());
}
static MP_DEFINE_CONST_FUN_OBJ_0(arch_now_fun, arch_now);
static MP_DEFINE_CONST_STATICMETHOD_OBJ(arch_now_obj, MP_ROM_PTR(&arch_now_fun));

// interrupts() -> the interrupt lines raised since the last call (bit n = line n, IRQ_*).
static mp_obj_t arch_interrupts(void) {
    return MP_OBJ_NEW_SMALL_INT(k5arch_take_interrupts());
}
static MP_DEFINE_CONST_FUN_OBJ_0(arch_interrupts_fun, arch_interrupts);
static MP_DEFINE_CONST_STATICMETHOD_OBJ(arch_interrupts_obj, MP_ROM_PTR(&arch_interrupts_fun));

// make_root(ctx): ctx is the root task (raw console, SVC_MACHINE, the peripherals, Ctrl-C).
static mp_obj_t arch_make_root(mp_obj_t self, mp_obj_t ctx) {
    require_kernel();
    k5arch_make_root(get_ctx(ctx));
    k5ns_init(&((k5arch_context_obj_t *)MP_OBJ_TO_PTR(ctx))->ns, true);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(arch_make_root_obj, arch_make_root);

static mp_obj_t arch_idle(mp_obj_t self, mp_obj_t until) {
    require_kernel();
    k5arch_idle(mp_obj_get_int(until));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(arch_idle_obj, arch_idle);

static void check_image(mp_obj_t entry, mp_obj_t arg);

// A task starts from an image (bytes, k5/image.py: the spawner packs every body, the kernel its
// own app tasks' and supervisor's), or, only the root, from the port's root body in C
// (k5_root_body_obj: the REPL, and no other function), in an interpreter of its own: the first
// context made after a reset, before it is named the root (boot.py), or the root itself. No
// request of a task's decodes to a function (wire.c).
static void check_start(mp_obj_t entry, mp_obj_t arg, k5_ctx_t *ctx) {
    if (mp_obj_is_exact_type(entry, &mp_type_bytes)) {
        check_image(entry, arg);
        return;
    }
    bool root = ctx == NULL ? k5arch_root() == NULL : ctx == k5arch_root();
    if (entry != MP_OBJ_FROM_PTR(&k5_root_body_obj) || !root || arg != mp_const_none) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("K5: a task starts from an image, not a %s"),
            mp_obj_get_type_str(entry));
    }
}

// A task's image is raw bytes the kernel copies into the task (it never reads them): exactly a
// bytes object, with the arg inside it.
static void check_image(mp_obj_t entry, mp_obj_t arg) {
    if (!mp_obj_is_exact_type(entry, &mp_type_bytes) || arg != mp_const_none) {
        mp_raise_msg(&mp_type_ValueError,
            MP_ERROR_TEXT("K5: a task starts from an image (bytes, k5/image.py) that holds "
                "its arg"));
    }
}

// context_new(entry, arg, stack=K5_STACK_DEFAULT (_OWN with a heap), name="task", heap=None)
// heap: None, the task runs in the kernel's interpreter; bytes, an interpreter of its own on a
// heap that big, and entry is its image (bytes, k5/image.py; arg is None: the image holds it),
// or for the root its body in C (check_start).
// A stack or heap size: a small int (a bigger one, which mp_obj_get_int would refuse with an
// OverflowError the kernel's callers do not expect, is refused as out of range with the rest).
static mp_int_t size_arg(mp_obj_t size) {
    return mp_obj_is_small_int(size) ? MP_OBJ_SMALL_INT_VALUE(size) : -1;
}

static mp_obj_t arch_context_new(size_t n_args, const mp_obj_t *pos, mp_map_t *kw) {
    enum { ARG_entry, ARG_arg, ARG_stack, ARG_name, ARG_heap };
    static const mp_arg_t allowed[] = {
        { MP_QSTR_entry, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_arg, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_stack, MP_ARG_OBJ, {.u_obj = mp_const_none} },
        { MP_QSTR_name, MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_heap, MP_ARG_OBJ, {.u_obj = mp_const_none} },
    };
    mp_arg_val_t args[MP_ARRAY_SIZE(allowed)];
    mp_arg_parse_all(n_args - 1, pos + 1, kw, MP_ARRAY_SIZE(allowed), allowed, args);
    require_kernel();
    mp_int_t stack = args[ARG_heap].u_obj != mp_const_none ? K5_STACK_DEFAULT_OWN : K5_STACK_DEFAULT;
    if (args[ARG_stack].u_obj != mp_const_none) {
        stack = size_arg(args[ARG_stack].u_obj);
    }
    if (stack < K5_STACK_MIN || stack > (mp_int_t)k5arch_arena_size()) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("K5: stack size %d is outside %d..%d"), (int)stack, K5_STACK_MIN,
            (int)k5arch_arena_size());
    }
    const char *name = "task";
    if (args[ARG_name].u_obj != MP_OBJ_NULL && args[ARG_name].u_obj != mp_const_none) {
        name = mp_obj_str_get_str(args[ARG_name].u_obj);
    }
    mp_int_t heap = 0;
    if (args[ARG_heap].u_obj != mp_const_none) {
        heap = size_arg(args[ARG_heap].u_obj);
        if (heap < K5_TASK_HEAP_MIN || heap > (mp_int_t)k5arch_arena_size()) {
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("K5: heap size %d is outside %d..%d"), (int)heap, K5_TASK_HEAP_MIN,
                (int)k5arch_arena_size());
        }
        check_start(args[ARG_entry].u_obj, args[ARG_arg].u_obj, NULL);
    } else {
        check_image(args[ARG_entry].u_obj, args[ARG_arg].u_obj);
    }
    k5arch_arch_obj_t *self = MP_OBJ_TO_PTR(pos[0]);
    k5arch_context_obj_t *obj = mp_obj_malloc(k5arch_context_obj_t, &k5arch_context_type);
    k5ns_init(&obj->ns, false);
    obj->ctx = k5arch_context_new(args[ARG_entry].u_obj, args[ARG_arg].u_obj, stack, heap, name,
        self->id);
    obj->serial = obj->ctx->serial;
    return MP_OBJ_FROM_PTR(obj);
}
static MP_DEFINE_CONST_FUN_OBJ_KW(arch_context_new_obj, 3, arch_context_new);

// A restart starts afresh: a new namespace, its image unpacked again.
static mp_obj_t arch_context_reset(size_t n_args, const mp_obj_t *args) {
    require_kernel();
    k5_ctx_t *ctx = get_ctx(args[1]);
    if (ctx->heap_base != 0) {
        check_start(args[2], args[3], ctx);
    } else {
        check_image(args[2], args[3]);
    }
    k5arch_context_reset(ctx, args[2], args[3]);
    k5arch_context_obj_t *obj = MP_OBJ_TO_PTR(args[1]);
    k5ns_init(&obj->ns, ctx == k5arch_root());
    k5log_event(ctx, k5log_restart_format(), NULL);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(arch_context_reset_obj, 4, 4, arch_context_reset);

// ipc_buffer(ctx): the kernel's view of the context's IPC buffer (ipcbuf.c), where it writes what
// the task receives. The task has a view of its own (run_image).
static mp_obj_t arch_ipc_buffer(mp_obj_t self, mp_obj_t ctx) {
    require_kernel();
    return k5_ipcbuf_new(k5arch_ipc_raw(get_ctx(ctx)));
}
static MP_DEFINE_CONST_FUN_OBJ_2(arch_ipc_buffer_obj, arch_ipc_buffer);

static mp_obj_t arch_context_free(mp_obj_t self, mp_obj_t ctx_obj) {
    require_kernel();
    k5arch_context_obj_t *obj = MP_OBJ_TO_PTR(ctx_obj);
    k5arch_context_free(get_ctx(ctx_obj));
    obj->ctx = NULL;
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(arch_context_free_obj, arch_context_free);

// close(): free every context this Arch created (their stacks return to the arena).
static mp_obj_t arch_close(mp_obj_t self_in) {
    require_kernel();
    k5arch_arch_obj_t *self = MP_OBJ_TO_PTR(self_in);
    k5arch_close_owner(self->id);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(arch_close_obj, arch_close);

static mp_obj_t arch_run(mp_obj_t ctx, mp_obj_t limit) {
    require_kernel();
    k5_ctx_t *c = get_ctx(ctx);
    k5arch_context_obj_t *obj = MP_OBJ_TO_PTR(ctx);
    return MP_OBJ_NEW_SMALL_INT(k5arch_run(c, &obj->ns, mp_obj_get_int(limit)));
}
static MP_DEFINE_CONST_FUN_OBJ_2(arch_run_fun, arch_run);
static MP_DEFINE_CONST_STATICMETHOD_OBJ(arch_run_obj, MP_ROM_PTR(&arch_run_fun));

// request(ctx): the request of ctx's last syscall, decoded from its wire bytes (wire.c) into
// objects of the kernel's; None when they do not decode. Raises MemoryError only.
static mp_obj_t arch_request(mp_obj_t ctx_obj) {
    k5_ctx_t *ctx = get_ctx(ctx_obj);
    if (ctx->request_len == 0) {
        return mp_const_none;
    }
    mp_obj_t request = k5wire_decode(ctx, ctx->request_addr, ctx->request_len);
    return request == MP_OBJ_NULL ? mp_const_none : request;
}
static MP_DEFINE_CONST_FUN_OBJ_1(arch_request_fun, arch_request);
static MP_DEFINE_CONST_STATICMETHOD_OBJ(arch_request_obj, MP_ROM_PTR(&arch_request_fun));

// Also the C fast path's (fastpath.c).
void k5arch_set_result_obj(mp_obj_t ctx_obj, mp_obj_t value) {
    k5_ctx_t *ctx = live_ctx(ctx_obj);
    if (ctx == NULL) {
        return; // freed (its thread was destroyed): it never runs again
    }
    ctx->result = value;
    ctx->has_result = 1;
    ctx->lease_len = 0; // its call is over: so is what it lent with it
}

static mp_obj_t arch_set_result(mp_obj_t ctx_obj, mp_obj_t value) {
    k5arch_set_result_obj(ctx_obj, value);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(arch_set_result_fun, arch_set_result);
static MP_DEFINE_CONST_STATICMETHOD_OBJ(arch_set_result_obj, MP_ROM_PTR(&arch_set_result_fun));

// write_answer(buffer, value) -> the answer's length, or -1: the builder's answer, the kernel's
// own value, written into the root's buffer as bytes (wire.c; k5/wire.py says the format).
static mp_obj_t arch_write_answer(mp_obj_t buffer, mp_obj_t value) {
    require_kernel();
    mp_buffer_info_t info;
    mp_get_buffer_raise(buffer, &info, MP_BUFFER_WRITE);
    return MP_OBJ_NEW_SMALL_INT(k5wire_write_answer(info.buf, info.len, value));
}
static MP_DEFINE_CONST_FUN_OBJ_2(arch_write_answer_fun, arch_write_answer);
static MP_DEFINE_CONST_STATICMETHOD_OBJ(arch_write_answer_obj, MP_ROM_PTR(&arch_write_answer_fun));

static mp_obj_t arch_native_fast_path(size_t n_args, const mp_obj_t *args) {
    require_kernel();
    return k5arch_native_fast_path(args[1], args[2], args[3]);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(arch_native_fast_path_obj, 4, 4, arch_native_fast_path);

static const char *const fault_class_names[] = {
    "Python", "HardFault", "MemManage", "BusFault", "UsageFault", "SecureFault", "Injected",
};

// "ZeroDivisionError: divide by zero" for a Python fault (made by the task, k5arch.c); for a
// hardware fault its class, CFSR,
// the faulting address and PC when known: "MemManage CFSR=0x00000082 addr=0x38001000 pc=...".
static mp_obj_t arch_fault_text(mp_obj_t self, mp_obj_t ctx_obj) {
    k5_ctx_t *ctx = get_ctx(ctx_obj);
    vstr_t vstr;
    mp_print_t print;
    vstr_init_print(&vstr, 64, &print);
    if (ctx->state != K5_CTX_FAULTED) {
        // Not faulted: empty text, as on the host.
    } else if (ctx->fault_class == K5_FAULT_CLASS_PYTHON) {
        // Raw bytes the task wrote (task_end): copied as printable ASCII, nothing else of
        // the task's is read (no object, no method of it runs here).
        const char *text = (const char *)ctx->fault_addr;
        for (size_t i = 0; i < ctx->fault_pc; i++) {
            char c = text[i];
            vstr_add_byte(&vstr, c >= 0x20 && c < 0x7f ? c : '?');
        }
        if (ctx->fault_pc == 0) {
            mp_print_str(&print, "fault (no text)");
        }
    } else {
        const char *name = ctx->fault_class < MP_ARRAY_SIZE(fault_class_names)
            ? fault_class_names[ctx->fault_class] : "?";
        mp_printf(&print, "%s CFSR=0x%08x", name, (unsigned)ctx->fault_cfsr);
        if (ctx->fault_valid & 1) {
            mp_printf(&print, " addr=0x%08x", (unsigned)ctx->fault_addr);
        }
        if (ctx->fault_valid & 2) {
            mp_printf(&print, " pc=0x%08x", (unsigned)ctx->fault_pc);
        } else if (ctx->fault_cfsr & SCB_CFSR_STKOF_Msk) {
            mp_print_str(&print, " stack overflow (PSPLIM)");
        }
    }
    mp_obj_t text = mp_obj_new_str_from_vstr(&vstr);
    if (ctx->state == K5_CTX_FAULTED) {
        k5log_event(ctx, k5log_fault_format(), mp_obj_str_get_str(text)); // the kernel asks once
    }
    return text;
}
static MP_DEFINE_CONST_FUN_OBJ_2(arch_fault_text_obj, arch_fault_text);

// memory_view(ctx, regions): the task's MPU view beyond flash, the VM's RAM and its stack, as
// solved by k5.regions: (base, limit, rights, device) tuples, limit exclusive. Checked again
// here (mechanism's own guard): only device memory, 32-byte bounds, READ or READ|WRITE.
static mp_obj_t arch_memory_view(mp_obj_t self, mp_obj_t ctx_obj, mp_obj_t regions) {
    require_kernel();
    k5_ctx_t *ctx = get_ctx(ctx_obj);
    size_t count;
    mp_obj_t *items;
    mp_obj_get_array(regions, &count, &items);
    if (count > K5_WINDOW_REGIONS) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("K5: %d MPU regions asked for; a task has %d for windows"),
            (int)count, K5_WINDOW_REGIONS);
    }
    uint32_t words[K5_WINDOW_REGIONS][2];
    for (size_t i = 0; i < count; i++) {
        mp_obj_t *region;
        mp_obj_get_array_fixed_n(items[i], 4, &region);
        uint32_t base = mp_obj_get_int_truncated(region[0]);
        uint32_t limit = mp_obj_get_int_truncated(region[1]);
        mp_int_t rights = mp_obj_get_int(region[2]);
        if ((base | limit) & 31u || base >= limit || base < K5_DEVICE_BASE
            || limit > K5_DEVICE_LIMIT
            || (rights != K5_RIGHT_READ && rights != (K5_RIGHT_READ | K5_RIGHT_WRITE))) {
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("K5: bad MPU region 0x%08x..0x%08x rights %d"), (unsigned)base,
                (unsigned)limit, (int)rights);
        }
        const char *kept = k5arch_kept_overlap(base, limit);
        if (kept != NULL) {
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("K5: MPU region 0x%08x..0x%08x overlaps %s"), (unsigned)base,
                (unsigned)limit, kept);
        }
        uint32_t ap = rights == K5_RIGHT_READ ? 3 : 1; // read-only / read-write, any privilege
        uint32_t attr = mp_obj_is_true(region[3]) ? 1 : 0; // MAIR index: device / normal
        words[i][0] = base | (ap << MPU_RBAR_AP_Pos) | MPU_RBAR_XN_Msk;
        words[i][1] = ((limit - 1) & MPU_RLAR_LIMIT_Msk) | (attr << MPU_RLAR_AttrIndx_Pos)
            | MPU_RLAR_EN_Msk;
    }
    k5arch_set_windows(ctx, words, count);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_3(arch_memory_view_obj, arch_memory_view);

// device_ranges() -> ((low, high),): where device windows may lie (the peripherals).
static mp_obj_t arch_device_ranges(mp_obj_t self) {
    mp_obj_t range[2] = {
        mp_obj_new_int_from_uint(K5_DEVICE_BASE), mp_obj_new_int_from_uint(K5_DEVICE_LIMIT)
    };
    mp_obj_t one = mp_obj_new_tuple(2, range);
    return mp_obj_new_tuple(1, &one);
}
static MP_DEFINE_CONST_FUN_OBJ_1(arch_device_ranges_obj, arch_device_ranges);

// kept_ranges() -> ((low, high, what), ...): device memory no window may overlap, the
// kernel's own (the console, its clock, ...: the board's peripherals.toml [kept.*]).
static mp_obj_t arch_kept_ranges(mp_obj_t self) {
    size_t count = k5arch_kept_count();
    mp_obj_t result = mp_obj_new_tuple(count, NULL);
    mp_obj_tuple_t *tuple = MP_OBJ_TO_PTR(result);
    for (size_t i = 0; i < count; i++) {
        const k5_kept_range_t *kept = k5arch_kept(i);
        mp_obj_t item[3] = {
            mp_obj_new_int_from_uint(kept->low), mp_obj_new_int_from_uint(kept->high),
            mp_obj_new_str(kept->what, strlen(kept->what))
        };
        tuple->items[i] = mp_obj_new_tuple(3, item);
    }
    return result;
}
static MP_DEFINE_CONST_FUN_OBJ_1(arch_kept_ranges_obj, arch_kept_ranges);

static mp_obj_t arch_irq_count(mp_obj_t self) {
    return MP_OBJ_NEW_SMALL_INT(K5_BOARD_NUM_IRQS);
}
static MP_DEFINE_CONST_FUN_OBJ_1(arch_irq_count_obj, arch_irq_count);

// irq_valid(line): the line exists and the kernel may hand it out (not the console's).
static mp_obj_t arch_irq_valid(mp_obj_t self, mp_obj_t line) {
    return mp_obj_new_bool(mp_obj_is_small_int(line) && k5arch_irq_valid(MP_OBJ_SMALL_INT_VALUE(line)));
}
static MP_DEFINE_CONST_FUN_OBJ_2(arch_irq_valid_obj, arch_irq_valid);

static uint32_t get_line(mp_obj_t line) {
    mp_int_t value = mp_obj_get_int(line);
    if (!k5arch_irq_valid(value)) {
        mp_raise_ValueError(MP_ERROR_TEXT("K5: no such interrupt line"));
    }
    return value;
}

static mp_obj_t arch_irq_mask(mp_obj_t self, mp_obj_t line) {
    require_kernel();
    k5arch_irq_mask(get_line(line));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(arch_irq_mask_obj, arch_irq_mask);

static mp_obj_t arch_irq_unmask(mp_obj_t self, mp_obj_t line) {
    require_kernel();
    k5arch_irq_unmask(get_line(line));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(arch_irq_unmask_obj, arch_irq_unmask);

// irq_take() -> a line that fired and was not taken yet, or -1.
static mp_obj_t arch_irq_take(mp_obj_t self) {
    return MP_OBJ_NEW_SMALL_INT(k5arch_irq_take());
}
static MP_DEFINE_CONST_FUN_OBJ_1(arch_irq_take_obj, arch_irq_take);

// lease_set(ctx, buffer, rights): the buffer a task lends with the call it makes now (a memoryview the
// kernel decoded from this very request, checked to be the task's to write; False if not),
// recorded where no task reaches: a lease object in the kernel's heap could be redirected by a task in the
// kernel's interpreter before the borrow (crafted bytecode writes that heap), and the borrow
// copies privileged.
static mp_obj_t arch_lease_set(size_t n_args, const mp_obj_t *args) {
    require_kernel();
    k5_ctx_t *ctx = get_ctx(args[1]);
    mp_obj_t buffer = args[2];
    mp_buffer_info_t info;
    if (!mp_obj_is_small_int(args[3]) || !mp_obj_is_exact_type(buffer, &mp_type_memoryview)
        || !mp_get_buffer(buffer, &info, MP_BUFFER_WRITE)
        || !k5arch_task_may_write(ctx, (uint32_t)info.buf, info.len)) {
        return mp_const_false;
    }
    ctx->lease_addr = (uint32_t)info.buf;
    ctx->lease_len = info.len;
    ctx->lease_rights = MP_OBJ_SMALL_INT_VALUE(args[3]) & (K5_RIGHT_READ | K5_RIGHT_WRITE);
    return mp_const_true;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(arch_lease_set_obj, 4, 4, arch_lease_set);

// lease_copy(ctx, lease, offset, buffer, count, into_lease): count bytes between the lease the
// context's task lent (its record, not `lease`, which the host's backend uses) at offset and
// `buffer` (the borrower's, decoded from its request now). False if the lease is over, was not
// lent with the right this copy needs, or the range is not inside it.
static mp_obj_t arch_lease_copy(size_t n_args, const mp_obj_t *args) {
    require_kernel();
    k5_ctx_t *ctx = get_ctx(args[1]);
    if (!mp_obj_is_small_int(args[3]) || !mp_obj_is_small_int(args[5])) {
        return mp_const_false;
    }
    mp_int_t offset = MP_OBJ_SMALL_INT_VALUE(args[3]);
    mp_int_t count = MP_OBJ_SMALL_INT_VALUE(args[5]);
    mp_buffer_info_t info;
    bool into = mp_obj_is_true(args[6]);
    if (!(ctx->lease_rights & (into ? K5_RIGHT_WRITE : K5_RIGHT_READ))
        || !mp_get_buffer(args[4], &info, into ? MP_BUFFER_READ : MP_BUFFER_WRITE)
        || offset < 0 || count < 0 || (uint32_t)offset > ctx->lease_len
        || (uint32_t)count > ctx->lease_len - (uint32_t)offset || (size_t)count > info.len) {
        return mp_const_false;
    }
    uint8_t *lease = (uint8_t *)ctx->lease_addr + offset;
    if (into) {
        memmove(lease, info.buf, count);
    } else {
        memmove(info.buf, lease, count);
    }
    return mp_const_true;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(arch_lease_copy_obj, 7, 7, arch_lease_copy);

// context_heap(ctx): bytes of the context's own heap, the areas the REPL's added included (0: it
// runs in the kernel's interpreter).
static mp_obj_t arch_context_heap(mp_obj_t self, mp_obj_t ctx_obj) {
    require_kernel();
    k5_ctx_t *ctx = get_ctx(ctx_obj);
    return MP_OBJ_NEW_SMALL_INT(k5arch_heap_size(ctx));
}
static MP_DEFINE_CONST_FUN_OBJ_2(arch_context_heap_obj, arch_context_heap);

// (stack size, stack bytes ever used, CPU ticks, traps, stack base address) of a context.
// (stack size, stack used, CPU ticks, traps, stack base, heap size, words pointing into the
// kernel's heap, words pointing into another task's block): the last three for a task with an
// interpreter of its own (heap size 0 and None, None for one in the kernel's interpreter).
static mp_obj_t arch_context_stats(mp_obj_t self, mp_obj_t ctx_obj) {
    require_kernel();
    k5_ctx_t *ctx = get_ctx(ctx_obj);
    mp_obj_t items[8] = {
        MP_OBJ_NEW_SMALL_INT(ctx->stack_top - ctx->stack_base),
        MP_OBJ_NEW_SMALL_INT(k5arch_stack_used(ctx)),
        mp_obj_new_int_from_uint(ctx->cpu_ticks),
        mp_obj_new_int_from_uint(ctx->traps),
        mp_obj_new_int_from_uint(ctx->stack_base),
        arch_context_heap(self, ctx_obj),
        mp_const_none,
        mp_const_none,
    };
    if (ctx->heap_base != 0) {
        uint32_t kernel, other;
        k5arch_foreign_words(ctx, &kernel, &other);
        items[6] = MP_OBJ_NEW_SMALL_INT(kernel);
        items[7] = MP_OBJ_NEW_SMALL_INT(other);
    }
    return mp_obj_new_tuple(8, items);
}
static MP_DEFINE_CONST_FUN_OBJ_2(arch_context_stats_obj, arch_context_stats);

// console_write(line): the line and "\r\n" into the console's transmit ring if it has room for
// both now (uart.c), else False. The kernel's thread writes a task's SYS_DEBUG_PUTS with it: it
// never waits for the wire on a task's behalf.
static mp_obj_t arch_console_write(mp_obj_t self, mp_obj_t line) {
    require_kernel();
    size_t len;
    const char *text = mp_obj_str_get_data(line, &len);
    if (uart_tx_room() < len + 2) {
        return mp_const_false;
    }
    uart_tx_put(text, len);
    uart_tx_put("\r\n", 2);
    return mp_const_true;
}
static MP_DEFINE_CONST_FUN_OBJ_2(arch_console_write_obj, arch_console_write);

// console_room(): the bytes the console's transmit ring has room for now.
static mp_obj_t arch_console_room(mp_obj_t self) {
    require_kernel();
    return MP_OBJ_NEW_SMALL_INT(uart_tx_room());
}
static MP_DEFINE_CONST_FUN_OBJ_1(arch_console_room_obj, arch_console_room);

static const mp_rom_map_elem_t arch_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR_console_write), MP_ROM_PTR(&arch_console_write_obj) },
    { MP_ROM_QSTR(MP_QSTR_console_room), MP_ROM_PTR(&arch_console_room_obj) },
    { MP_ROM_QSTR(MP_QSTR_now), MP_ROM_PTR(&arch_now_obj) },
    { MP_ROM_QSTR(MP_QSTR_idle), MP_ROM_PTR(&arch_idle_obj) },
    { MP_ROM_QSTR(MP_QSTR_interrupts), MP_ROM_PTR(&arch_interrupts_obj) },
    { MP_ROM_QSTR(MP_QSTR_make_root), MP_ROM_PTR(&arch_make_root_obj) },
    { MP_ROM_QSTR(MP_QSTR_context_new), MP_ROM_PTR(&arch_context_new_obj) },
    { MP_ROM_QSTR(MP_QSTR_context_heap), MP_ROM_PTR(&arch_context_heap_obj) },
    { MP_ROM_QSTR(MP_QSTR_lease_set), MP_ROM_PTR(&arch_lease_set_obj) },
    { MP_ROM_QSTR(MP_QSTR_lease_copy), MP_ROM_PTR(&arch_lease_copy_obj) },
    { MP_ROM_QSTR(MP_QSTR_context_reset), MP_ROM_PTR(&arch_context_reset_obj) },
    { MP_ROM_QSTR(MP_QSTR_ipc_buffer), MP_ROM_PTR(&arch_ipc_buffer_obj) },
    { MP_ROM_QSTR(MP_QSTR_context_free), MP_ROM_PTR(&arch_context_free_obj) },
    { MP_ROM_QSTR(MP_QSTR_context_stats), MP_ROM_PTR(&arch_context_stats_obj) },
    { MP_ROM_QSTR(MP_QSTR_run), MP_ROM_PTR(&arch_run_obj) },
    { MP_ROM_QSTR(MP_QSTR_close), MP_ROM_PTR(&arch_close_obj) },
    { MP_ROM_QSTR(MP_QSTR_request), MP_ROM_PTR(&arch_request_obj) },
    { MP_ROM_QSTR(MP_QSTR_set_result), MP_ROM_PTR(&arch_set_result_obj) },
    { MP_ROM_QSTR(MP_QSTR_write_answer), MP_ROM_PTR(&arch_write_answer_obj) },
    { MP_ROM_QSTR(MP_QSTR_native_fast_path), MP_ROM_PTR(&arch_native_fast_path_obj) },
    { MP_ROM_QSTR(MP_QSTR_fault_text), MP_ROM_PTR(&arch_fault_text_obj) },
    { MP_ROM_QSTR(MP_QSTR_memory_view), MP_ROM_PTR(&arch_memory_view_obj) },
    { MP_ROM_QSTR(MP_QSTR_device_ranges), MP_ROM_PTR(&arch_device_ranges_obj) },
    { MP_ROM_QSTR(MP_QSTR_kept_ranges), MP_ROM_PTR(&arch_kept_ranges_obj) },
    { MP_ROM_QSTR(MP_QSTR_irq_count), MP_ROM_PTR(&arch_irq_count_obj) },
    { MP_ROM_QSTR(MP_QSTR_irq_valid), MP_ROM_PTR(&arch_irq_valid_obj) },
    { MP_ROM_QSTR(MP_QSTR_irq_mask), MP_ROM_PTR(&arch_irq_mask_obj) },
    { MP_ROM_QSTR(MP_QSTR_irq_unmask), MP_ROM_PTR(&arch_irq_unmask_obj) },
    { MP_ROM_QSTR(MP_QSTR_irq_take), MP_ROM_PTR(&arch_irq_take_obj) },
};
static MP_DEFINE_CONST_DICT(arch_locals, arch_locals_table);

static MP_DEFINE_CONST_OBJ_TYPE(
    k5arch_arch_type,
    MP_QSTR_Arch,
    MP_TYPE_FLAG_NONE,
    make_new, arch_make_new,
    locals_dict, &arch_locals
    );

// --- What tasks call ----------------------------------------------------------------------------

// The trap itself: the request's wire bytes (wire.c), on this stack, to the kernel.
static mp_obj_t syscall_bytes(const uint8_t *buf, size_t len) {
    if (!k5arch_in_task()) {
        mp_raise_msg(&mp_type_OSError, MP_ERROR_TEXT("K5: syscalls are made from tasks"));
    }
    mp_obj_t result = k5_svc_syscall(buf, len);
    if (MP_STATE_THREAD(mp_pending_exception) != MP_OBJ_NULL) {
        // Ctrl-C ended the root's wait: raise it here, at the call, not after its result.
        mp_handle_pending(true);
    }
    return result;
}

// trap(request): one syscall into the kernel with a request tuple; returns the kernel's result.
static mp_obj_t mod_trap(mp_obj_t request) {
    uint8_t buf[K5_WIRE_MAX];
    return syscall_bytes(buf, k5wire_encode(buf, request));
}
MP_DEFINE_CONST_FUN_OBJ_1(k5arch_trap_obj, mod_trap);

// syscall(sysno, *args): trap((sysno, *args)) without making the tuple (the user API's calls,
// user.c, are this with their parameters).
mp_obj_t k5arch_syscall(size_t n_args, const mp_obj_t *args) {
    uint8_t buf[K5_WIRE_MAX];
    return syscall_bytes(buf, k5wire_encode_args(buf, n_args, args));
}
static MP_DEFINE_CONST_FUN_OBJ_VAR(mod_syscall_obj, 1, k5arch_syscall);

// spin(ticks): burn `ticks` kernel ticks of the caller's own CPU time (preemptible).
static mp_obj_t mod_spin(mp_obj_t ticks_obj) {
    mp_int_t ticks = mp_obj_get_int(ticks_obj);
    if (!k5arch_in_task()) {
        mp_hal_delay_ms(ticks > 0 ? ticks : 0);
        return MP_OBJ_NEW_SMALL_INT(0);
    }
    uint32_t start = k5_user_cpu;
    while ((int32_t)(k5_user_cpu - start) < ticks) {
        if (k5_preempt_pending) {
            k5_svc_preempt();
        }
    }
    return MP_OBJ_NEW_SMALL_INT(0);
}
MP_DEFINE_CONST_FUN_OBJ_1(k5arch_spin_obj, mod_spin);

// read_answer(buffer) -> the builder's answer the kernel wrote there, as objects of the
// caller's (the root task's side of SYS_BUILD, k5/front.py).
static mp_obj_t mod_read_answer(mp_obj_t buffer) {
    mp_buffer_info_t info;
    mp_get_buffer_raise(buffer, &info, MP_BUFFER_READ);
    return k5wire_read_answer(info.buf, info.len);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mod_read_answer_obj, mod_read_answer);

// arena() -> (free bytes, size in bytes, main stack bytes ever used) of the task-stack arena
// and the kernel's stack.
static mp_obj_t mod_arena(void) {
    require_kernel();
    mp_obj_t items[3] = {
        MP_OBJ_NEW_SMALL_INT(k5arch_arena_free()),
        MP_OBJ_NEW_SMALL_INT(k5arch_arena_size()),
        MP_OBJ_NEW_SMALL_INT(k5arch_main_stack_used()),
    };
    return mp_obj_new_tuple(3, items);
}
static MP_DEFINE_CONST_FUN_OBJ_0(mod_arena_obj, mod_arena);

// machine(op, arg): a K5_MACHINE_* request (root task only; see k5/abi.py). The tests of the
// kernel's epitaph use MACHINE_KERNEL_FAULT and MACHINE_IRQ_TEST.
static mp_obj_t mod_machine(mp_obj_t op, mp_obj_t arg) {
    uint32_t op_value = mp_obj_get_int(op);
    uint32_t arg_value = mp_obj_get_int_truncated(arg);
    int result;
    if (k5arch_in_task()) {
        result = k5_svc_machine(op_value, arg_value);
    } else {
        result = k5_port_machine_op(op_value, arg_value);
    }
    return MP_OBJ_NEW_SMALL_INT(result);
}
static MP_DEFINE_CONST_FUN_OBJ_2(mod_machine_obj, mod_machine);

// freeze(module_or_class): its attributes can no longer be rebound or deleted (the dict of a
// module's globals, or a class's locals, becomes fixed: stores raise TypeError or AttributeError).
// Returns whether it was frozen already. The kernel freezes its own modules and classes at boot,
// so that no task can rebind a function the kernel's privileged thread calls.
static mp_obj_t mod_freeze(mp_obj_t obj) {
    require_kernel();
    mp_obj_dict_t *dict = NULL;
    if (mp_obj_is_type(obj, &mp_type_module)) {
        dict = ((mp_obj_module_t *)MP_OBJ_TO_PTR(obj))->globals;
    } else if (mp_obj_is_type(obj, &mp_type_type)) {
        const mp_obj_type_t *type = MP_OBJ_TO_PTR(obj);
        if (MP_OBJ_TYPE_HAS_SLOT(type, locals_dict)) {
            dict = MP_OBJ_TYPE_GET_SLOT(type, locals_dict);
        }
    } else {
        mp_raise_TypeError(MP_ERROR_TEXT("K5: freeze takes a module or a class"));
    }
    if (dict == NULL || dict->map.is_fixed) {
        return mp_const_true; // ROM dicts are fixed already
    }
    dict->map.is_fixed = 1;
    return mp_const_false;
}
static MP_DEFINE_CONST_FUN_OBJ_1(mod_freeze_obj, mod_freeze);

// unpack(image) -> (body, arg): what a task's start makes of its image (image.c), in the
// caller's time and heap (the board's tests hold it to k5/image.py's packer).
static mp_obj_t mod_unpack(mp_obj_t image) {
    mp_buffer_info_t buf;
    mp_get_buffer_raise(image, &buf, MP_BUFFER_READ);
    mp_obj_t pair[2];
    k5image_unpack(buf.buf, buf.len, &pair[0], &pair[1]);
    return mp_obj_new_tuple(2, pair);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mod_unpack_obj, mod_unpack);

static const mp_rom_map_elem_t k5arch_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR__k5arch) },
    { MP_ROM_QSTR(MP_QSTR_Arch), MP_ROM_PTR(&k5arch_arch_type) },
    { MP_ROM_QSTR(MP_QSTR_trap), MP_ROM_PTR(&k5arch_trap_obj) },
    { MP_ROM_QSTR(MP_QSTR_syscall), MP_ROM_PTR(&mod_syscall_obj) },
    { MP_ROM_QSTR(MP_QSTR_spin), MP_ROM_PTR(&k5arch_spin_obj) },
    { MP_ROM_QSTR(MP_QSTR_arena), MP_ROM_PTR(&mod_arena_obj) },
    { MP_ROM_QSTR(MP_QSTR_read_answer), MP_ROM_PTR(&mod_read_answer_obj) },
    { MP_ROM_QSTR(MP_QSTR_machine), MP_ROM_PTR(&mod_machine_obj) },
    { MP_ROM_QSTR(MP_QSTR_freeze), MP_ROM_PTR(&mod_freeze_obj) },
    { MP_ROM_QSTR(MP_QSTR_code_names), MP_ROM_PTR(&k5code_names_obj) },
    { MP_ROM_QSTR(MP_QSTR_fun_parts), MP_ROM_PTR(&k5code_fun_parts_obj) },
    { MP_ROM_QSTR(MP_QSTR_make_fun), MP_ROM_PTR(&k5code_make_fun_obj) },
    { MP_ROM_QSTR(MP_QSTR_unpack), MP_ROM_PTR(&mod_unpack_obj) },
    { MP_ROM_QSTR(MP_QSTR_HEAP_MIN), MP_ROM_INT(K5_TASK_HEAP_MIN) },
    { MP_ROM_QSTR(MP_QSTR_log), MP_ROM_PTR(&k5log_obj) },
    { MP_ROM_QSTR(MP_QSTR_STACK_DEFAULT), MP_ROM_INT(K5_STACK_DEFAULT) },
    { MP_ROM_QSTR(MP_QSTR_STACK_DEFAULT_OWN), MP_ROM_INT(K5_STACK_DEFAULT_OWN) },
    { MP_ROM_QSTR(MP_QSTR_MAX_CONTEXTS), MP_ROM_INT(K5_MAX_CONTEXTS) },
};
static MP_DEFINE_CONST_DICT(k5arch_module_globals, k5arch_module_globals_table);

const mp_obj_module_t k5arch_user_cmodule = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&k5arch_module_globals,
};

MP_REGISTER_MODULE(MP_QSTR__k5arch, k5arch_user_cmodule);
