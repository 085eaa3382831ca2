// K5 firmware entry: brings up the console and time, then runs MicroPython's REPL with soft reset.
#include <stdint.h>
#include <stdio.h>

#include "py/builtin.h"
#include "py/compile.h"
#include "py/gc.h"
#include "py/mphal.h"
#include "py/runtime.h"
#include "py/stackctrl.h"
#include "shared/readline/readline.h"
#include "shared/runtime/gchelper.h"
#include "shared/runtime/pyexec.h"
#include "mcu/cortex_m33.h"
#include "mcu/board.h"
#include "uart.h"
#include "k5arch.h"

extern uint32_t _heap_start, _heap_end, _sstack, _estack;
void machine_reset_cause_init(void);
void machine_mark_soft_reset(void);

// Bytes of C stack kept in reserve below MicroPython's stack-limit check, so that a
// RecursionError is raised with room left to handle it.
#define STACK_MARGIN (1024)

// MicroPython's REPL, friendly or raw, until a soft reset is asked for. It is the body of the
// root task (called as repl(ipc, arg) by the kernel), and the rescue REPL if the kernel stops.
static void repl_loop(void) {
    for (;;) {
        if (pyexec_mode_kind == PYEXEC_MODE_RAW_REPL) {
            if (pyexec_raw_repl() != 0) {
                return;
            }
        } else {
            if (pyexec_friendly_repl() != 0) {
                return;
            }
        }
    }
}

// The root task's body. As on other MicroPython ports, the filesystem is mounted (frozen
// _boot.py), then boot.py runs from it, then main.py if the REPL is the friendly one (a raw-REPL
// soft reset, as mpremote makes, skips it); a SystemExit from either is a soft reset.
static mp_obj_t root_repl(mp_obj_t ipc, mp_obj_t arg) {
    pyexec_frozen_module("_boot.py", false);
    int ret = pyexec_file_if_exists("boot.py");
    if (ret & PYEXEC_FORCED_EXIT) {
        return mp_const_none;
    }
    if (pyexec_mode_kind == PYEXEC_MODE_FRIENDLY_REPL && ret != 0) {
        if (pyexec_file_if_exists("main.py") & PYEXEC_FORCED_EXIT) {
            return mp_const_none;
        }
    }
    repl_loop();
    return mp_const_none;
}
MP_DEFINE_CONST_FUN_OBJ_2(k5_root_body_obj, root_repl);

// Boots the K5 kernel (k5/boot.py) with the REPL as its root task; returns at a soft reset.
// If the kernel itself stops (a kernel panic has printed its epitaph), a rescue REPL runs in the
// kernel's thread, privileged and without tasks, so that the board can still be looked at.
static void run_kernel(void) {
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_obj_t fromlist = mp_obj_new_tuple(1, NULL);
        ((mp_obj_tuple_t *)MP_OBJ_TO_PTR(fromlist))->items[0] = MP_OBJ_NEW_QSTR(MP_QSTR_main);
        mp_obj_t boot = mp_import_name(qstr_from_str("k5.boot"), fromlist, MP_OBJ_NEW_SMALL_INT(0));
        mp_call_function_1(mp_load_attr(boot, MP_QSTR_main), MP_OBJ_FROM_PTR(&k5_root_body_obj));
        nlr_pop();
        return;
    }
    k5arch_reset();
    mp_printf(&mp_plat_print, "K5: the kernel stopped: ");
    mp_obj_print_exception(&mp_plat_print, MP_OBJ_FROM_PTR(nlr.ret_val));
    mp_printf(&mp_plat_print, "K5: rescue REPL (privileged, no tasks); Ctrl-D restarts K5\n");
    repl_loop();
}

int main(void) {
    machine_reset_cause_init();
    systick_init();
    uart_init();
    k5arch_boot();

    for (;;) {
        mp_stack_set_top(&_estack);
        mp_stack_set_limit((char *)&_estack - (char *)&_sstack - STACK_MARGIN);
        // The heap's last K5_HEAP_RESERVE bytes are the kernel's reserve (no task reaches them).
        char *reserve = (char *)((uintptr_t)&_heap_end - K5_HEAP_RESERVE);
        gc_init(&_heap_start, reserve);
        gc_add(reserve, &_heap_end);
        k5arch_reset();
        mp_init();
        k5arch_pin_reserve();
        readline_init0();

        run_kernel();

        mp_printf(&mp_plat_print, "MPY: soft reboot\n");
        gc_sweep_all();
        mp_deinit();
    }
}

// The collector runs privileged, in the kernel's thread: a task asks for a collection with a trap.
// Roots: MicroPython's root pointers and the kernel's registers and stack, then every task's
// stack and saved state (the trap layer knows them).
// A task with an interpreter of its own collects its own heap, unprivileged, in its own time:
// its roots are its registers, its stack and its VM state, which is the live one. (Only code
// running in a task reads k5_vm_own: the kernel's collection never depends on it.)
void gc_collect(void) {
    bool own = false;
    if (k5arch_in_task()) {
        if (!k5_vm_own) {
            k5_svc_collect();
            return;
        }
        own = true;
    }
    gc_collect_start();
    gc_helper_collect_regs_and_stack();
    if (!own) {
        k5arch_gc_roots();
    }
    k5arch_keep_areas();
    gc_collect_end();
}

NORETURN void nlr_jump_fail(void *val) {
    mp_printf(&mp_plat_print, "FATAL: uncaught NLR %p\n", val);
    machine_mark_soft_reset();
    board_fault_restart();
}

#ifndef NDEBUG
NORETURN void __assert_func(const char *file, int line, const char *func, const char *expr) {
    mp_printf(&mp_plat_print, "Assertion '%s' failed, at file %s:%d\n", expr, file, line);
    board_fault_restart();
}
#endif
