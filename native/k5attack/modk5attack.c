// Module _k5attack: what hostile native code in a task would do, for the attack corpus.
//
// Why it exists: a Python task reaches memory only through the objects the VM gives it and the
// raw-memory gate (machine.mem8/16/32), so the MPU, the stack limit and the trap layer are only
// tested against a task that runs machine code of its own. These functions are that code: raw
// loads, stores and jumps, undefined instructions, C recursion, long C calls, raw SVCs. They
// run with the caller's privilege (a task: unprivileged), so everything they try is up to the
// hardware. Built only into the emulated board's image (K5_BOARD_ATTACK_MODULE): the product
// image has no such module.
#include <string.h>
#include "py/runtime.h"
#include "mcu/cortex_m33.h"
#include "k5arch.h"

#if K5_BOARD_ATTACK_MODULE

static mp_obj_t attack_read(mp_obj_t addr) {
    return mp_obj_new_int_from_uint(*(volatile uint32_t *)mp_obj_get_int_truncated(addr));
}
static MP_DEFINE_CONST_FUN_OBJ_1(attack_read_obj, attack_read);

static mp_obj_t attack_write(mp_obj_t addr, mp_obj_t value) {
    *(volatile uint32_t *)mp_obj_get_int_truncated(addr) = mp_obj_get_int_truncated(value);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(attack_write_obj, attack_write);

// jump(addr): branch to addr in Thumb state (bit 0 set), as a corrupted return would.
static mp_obj_t attack_jump(mp_obj_t addr) {
    void (*target)(void) = (void (*)(void))(mp_obj_get_int_truncated(addr) | 1);
    target();
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(attack_jump_obj, attack_jump);

// stack_addr(): an address in the caller's own stack.
static mp_obj_t attack_stack_addr(void) {
    volatile uint32_t here = 0;
    return mp_obj_new_int_from_uint((uint32_t)&here);
}
static MP_DEFINE_CONST_FUN_OBJ_0(attack_stack_addr_obj, attack_stack_addr);

static mp_obj_t attack_udf(void) {
    __asm volatile ("udf #0");
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_0(attack_udf_obj, attack_udf);

static mp_obj_t attack_bkpt(void) {
    __asm volatile ("bkpt #0xab"); // a semihosting call
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_0(attack_bkpt_obj, attack_bkpt);

// svc(n, r0, r1): a raw supervisor call with any number and arguments; returns r0.
static mp_obj_t attack_svc(mp_obj_t n_obj, mp_obj_t a_obj, mp_obj_t b_obj) {
    // The arguments are converted first: a call between setting a register variable and the
    // asm that uses it may clobber that register.
    uint32_t a = mp_obj_get_int_truncated(a_obj);
    uint32_t b = mp_obj_get_int_truncated(b_obj);
    mp_int_t n = mp_obj_get_int(n_obj);
    register uint32_t r0 __asm__ ("r0") = a;
    register uint32_t r1 __asm__ ("r1") = b;
    switch (n) {
        #define SVC_CASE(n) case n: \
            __asm volatile ("svc %[i]" : "+r" (r0) : "r" (r1), [i] "i" (n) : "memory"); break;
        SVC_CASE(0) SVC_CASE(1) SVC_CASE(5) SVC_CASE(7) SVC_CASE(8) SVC_CASE(9) SVC_CASE(10) SVC_CASE(11)
        SVC_CASE(200)
        #undef SVC_CASE
        default:
            mp_raise_ValueError(MP_ERROR_TEXT("svc number not in the corpus"));
    }
    return mp_obj_new_int_from_uint(r0);
}
static MP_DEFINE_CONST_FUN_OBJ_3(attack_svc_obj, attack_svc);

// wire(raw[, len]): a syscall whose wire bytes (k5/wire.py) are `raw` exactly, copied onto this
// stack, with `len` (default: raw's length) as the length the trap names: a task that writes its
// own request bytes.
static mp_obj_t attack_wire(size_t n_args, const mp_obj_t *args) {
    mp_buffer_info_t info;
    mp_get_buffer_raise(args[0], &info, MP_BUFFER_READ);
    uint8_t buf[K5_WIRE_MAX + 16];
    size_t copy = info.len < sizeof(buf) ? info.len : sizeof(buf);
    memcpy(buf, info.buf, copy);
    size_t len = n_args > 1 ? (size_t)mp_obj_get_int_truncated(args[1]) : info.len;
    return k5_svc_syscall(buf, len);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(attack_wire_obj, 1, 2, attack_wire);

// recurse(depth): C recursion with a 64-byte frame, deeper than any task stack.
static __attribute__((noinline)) uint32_t recurse(uint32_t depth) {
    volatile uint32_t frame[16];
    frame[0] = depth;
    if (depth == 0) {
        return frame[0];
    }
    return recurse(depth - 1) + frame[0];
}

static mp_obj_t attack_recurse(mp_obj_t depth) {
    return mp_obj_new_int_from_uint(recurse(mp_obj_get_int(depth)));
}
static MP_DEFINE_CONST_FUN_OBJ_1(attack_recurse_obj, attack_recurse);

// frame(bytes): one stack frame of `bytes`, touched at its far end.
static mp_obj_t attack_frame(mp_obj_t bytes) {
    volatile uint8_t *frame = alloca(mp_obj_get_int(bytes));
    frame[0] = 1;
    return MP_OBJ_NEW_SMALL_INT(frame[0]);
}
static MP_DEFINE_CONST_FUN_OBJ_1(attack_frame_obj, attack_frame);

// spin(loops): a long call in C (no safe point until it returns).
static mp_obj_t attack_spin(mp_obj_t loops) {
    for (volatile uint32_t i = mp_obj_get_int(loops); i > 0; i--) {
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(attack_spin_obj, attack_spin);

static mp_obj_t attack_cpsid(void) {
    __asm volatile ("cpsid i"); // ignored in unprivileged mode
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_0(attack_cpsid_obj, attack_cpsid);

// fixed(dict): whether its map is fixed (a frozen module's globals or class's locals), for the
// reachability walk (tests/target/device/reach.py), which must not probe by writing.
static mp_obj_t attack_fixed(mp_obj_t dict) {
    if (!mp_obj_is_type(dict, &mp_type_dict)) {
        mp_raise_TypeError(NULL);
    }
    return mp_obj_new_bool(mp_obj_dict_get_map(dict)->is_fixed);
}
static MP_DEFINE_CONST_FUN_OBJ_1(attack_fixed_obj, attack_fixed);

static const mp_rom_map_elem_t attack_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR__k5attack) },
    { MP_ROM_QSTR(MP_QSTR_read), MP_ROM_PTR(&attack_read_obj) },
    { MP_ROM_QSTR(MP_QSTR_write), MP_ROM_PTR(&attack_write_obj) },
    { MP_ROM_QSTR(MP_QSTR_jump), MP_ROM_PTR(&attack_jump_obj) },
    { MP_ROM_QSTR(MP_QSTR_udf), MP_ROM_PTR(&attack_udf_obj) },
    { MP_ROM_QSTR(MP_QSTR_stack_addr), MP_ROM_PTR(&attack_stack_addr_obj) },
    { MP_ROM_QSTR(MP_QSTR_bkpt), MP_ROM_PTR(&attack_bkpt_obj) },
    { MP_ROM_QSTR(MP_QSTR_svc), MP_ROM_PTR(&attack_svc_obj) },
    { MP_ROM_QSTR(MP_QSTR_recurse), MP_ROM_PTR(&attack_recurse_obj) },
    { MP_ROM_QSTR(MP_QSTR_wire), MP_ROM_PTR(&attack_wire_obj) },
    { MP_ROM_QSTR(MP_QSTR_frame), MP_ROM_PTR(&attack_frame_obj) },
    { MP_ROM_QSTR(MP_QSTR_spin), MP_ROM_PTR(&attack_spin_obj) },
    { MP_ROM_QSTR(MP_QSTR_cpsid), MP_ROM_PTR(&attack_cpsid_obj) },
    { MP_ROM_QSTR(MP_QSTR_fixed), MP_ROM_PTR(&attack_fixed_obj) },
};
static MP_DEFINE_CONST_DICT(attack_globals, attack_globals_table);

const mp_obj_module_t k5attack_user_cmodule = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&attack_globals,
};

MP_REGISTER_MODULE(MP_QSTR__k5attack, k5attack_user_cmodule);

#endif // K5_BOARD_ATTACK_MODULE
