// Module _k5user: k5's user API on the device (what `import k5` gives a task), in flash.
//
// k5/user.py is the API's one source: tools/gen_user_c.py makes each of its functions that is
// a syscall of its parameters into a row here (its name, syscall number, parameters and their
// defaults), so a task that imports k5 holds no function object of its own for them and a
// call binds its arguments in C. The host runs k5/user.py itself. What is not such a row is
// written below (now, window_info, tcb_configure) or is modk5arch.c's (trap, spin).

#include "py/objtuple.h"
#include "py/runtime.h"
#include "k5arch.h"
#include "k5abi.h"

#define K5USER_MAX_PARAMS (8) // tools/gen_user_c.py's MAX_PARAMS

typedef struct _k5user_fun_t {
    mp_obj_base_t base;
    uint16_t name;          // qstr
    uint8_t sysno;
    uint8_t n_params;
    uint8_t n_required;     // the leading parameters without a default
    int8_t trim;            // -1, or the request's place whose default ends the request
    uint8_t order[K5USER_MAX_PARAMS]; // the parameter at each place of the request
    const mp_arg_t *params;
} k5user_fun_t;

// f(*args, **kw): bind the arguments as Python binds f's parameters, then trap with them.
static mp_obj_t k5user_fun_call(mp_obj_t self_in, size_t n_args, size_t n_kw,
    const mp_obj_t *args) {
    const k5user_fun_t *self = MP_OBJ_TO_PTR(self_in);
    mp_obj_t bound[K5USER_MAX_PARAMS];
    size_t n = self->n_params;
    if (n_kw == 0 && n_args >= self->n_required && n_args <= n) {
        // The usual call: positional arguments, the rest at their defaults.
        for (size_t i = 0; i < n; i++) {
            bound[i] = i < n_args ? args[i] : self->params[i].defval.u_obj;
        }
    } else {
        mp_arg_val_t vals[K5USER_MAX_PARAMS];
        mp_map_t kw;
        mp_map_init_fixed_table(&kw, n_kw, args + n_args);
        mp_arg_parse_all(n_args, args, &kw, n, self->params, vals);
        for (size_t i = 0; i < n; i++) {
            bound[i] = vals[i].u_obj;
        }
    }
    mp_obj_t request[1 + K5USER_MAX_PARAMS];
    request[0] = MP_OBJ_NEW_SMALL_INT(self->sysno);
    size_t length = n;
    for (size_t place = 0; place < n; place++) {
        size_t param = self->order[place];
        mp_obj_t value = bound[param], fallback = self->params[param].defval.u_obj;
        if ((int)place == self->trim
            && (value == fallback || (fallback != mp_const_none && mp_obj_equal(value, fallback)))) {
            length = place; // at its default: it and what follows are not sent
            break;
        }
        request[1 + place] = value;
    }
    return k5arch_syscall(1 + length, request);
}

static void k5user_fun_print(const mp_print_t *print, mp_obj_t self_in, mp_print_kind_t kind) {
    (void)kind;
    const k5user_fun_t *self = MP_OBJ_TO_PTR(self_in);
    mp_printf(print, "<function %q>", self->name);
}

static MP_DEFINE_CONST_OBJ_TYPE(
    k5user_fun_type,
    MP_QSTR_function,
    MP_TYPE_FLAG_BINDS_SELF,
    call, k5user_fun_call,
    print, k5user_fun_print
    );

#include "k5user.h"

static mp_obj_t ipc_word(mp_obj_t ipc, size_t index) {
    mp_obj_t words = mp_load_attr(ipc, MP_QSTR_words);
    return mp_obj_subscr(words, MP_OBJ_NEW_SMALL_INT(index), MP_OBJ_SENTINEL);
}

// now(ipc): the kernel's clock in ticks (modulo 2**30), which SYS_NOW leaves in ipc.words[0].
static mp_obj_t k5user_now(mp_obj_t ipc) {
    mp_obj_t request = MP_OBJ_NEW_SMALL_INT(K5_SYS_NOW);
    k5arch_syscall(1, &request);
    return ipc_word(ipc, 0);
}
static MP_DEFINE_CONST_FUN_OBJ_1(k5user_now_obj, k5user_now);

// window_info(window_slot, ipc): (err, base, size, rights) of a device window cap.
static mp_obj_t k5user_window_info(mp_obj_t slot, mp_obj_t ipc) {
    mp_obj_t request[2] = { MP_OBJ_NEW_SMALL_INT(K5_SYS_WINDOW_INFO), slot };
    mp_obj_t err = k5arch_syscall(2, request);
    mp_obj_t items[4] = { err, MP_OBJ_NEW_SMALL_INT(0), MP_OBJ_NEW_SMALL_INT(0),
                          MP_OBJ_NEW_SMALL_INT(0) };
    if (!mp_obj_is_true(err)) {
        items[1] = mp_binary_op(MP_BINARY_OP_MULTIPLY, ipc_word(ipc, 0), MP_OBJ_NEW_SMALL_INT(32));
        items[2] = ipc_word(ipc, 1);
        items[3] = ipc_word(ipc, 2);
    }
    return mp_obj_new_tuple(4, items);
}
static MP_DEFINE_CONST_FUN_OBJ_2(k5user_window_info_obj, k5user_window_info);

// tcb_configure(tcb_slot, entry, arg=None, priority=0, cspace_size=16, name="task", heap=0):
// entry and arg cross as an image (k5/image.py), packed here in the caller's time and heap, as
// the REPL packs a spawned task's: the kernel gets bytes, never a function. A body or arg that
// k5.image cannot pack (a bound method, a function in C, a list) is ERR_INVALID_ARGUMENT.
static mp_obj_t k5user_tcb_configure(size_t n_args, const mp_obj_t *pos, mp_map_t *kw) {
    enum { ARG_slot, ARG_entry, ARG_arg, ARG_priority, ARG_size, ARG_name, ARG_heap };
    static const mp_arg_t allowed[] = {
        { MP_QSTR_tcb_slot, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        { MP_QSTR_entry, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        { MP_QSTR_arg, MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        { MP_QSTR_priority, MP_ARG_OBJ, {.u_rom_obj = MP_ROM_INT(0)} },
        { MP_QSTR_cspace_size, MP_ARG_OBJ, {.u_rom_obj = MP_ROM_INT(16)} },
        { MP_QSTR_name, MP_ARG_OBJ, {.u_rom_obj = MP_ROM_QSTR(MP_QSTR_task)} },
        { MP_QSTR_heap, MP_ARG_OBJ, {.u_rom_obj = MP_ROM_INT(0)} },
    };
    mp_arg_val_t args[MP_ARRAY_SIZE(allowed)];
    mp_arg_parse_all(n_args, pos, kw, MP_ARRAY_SIZE(allowed), allowed, args);
    mp_obj_t request[8] = {
        MP_OBJ_NEW_SMALL_INT(K5_SYS_TCB_CONFIGURE), args[ARG_slot].u_obj, mp_const_none,
        mp_const_none, args[ARG_priority].u_obj, args[ARG_size].u_obj, args[ARG_name].u_obj,
        args[ARG_heap].u_obj,
    };
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_obj_t fromlist = mp_obj_new_tuple(1, NULL);
        ((mp_obj_tuple_t *)MP_OBJ_TO_PTR(fromlist))->items[0] = MP_OBJ_NEW_QSTR(MP_QSTR_pack);
        mp_obj_t image = mp_import_name(qstr_from_str("k5.image"), fromlist,
            MP_OBJ_NEW_SMALL_INT(0));
        request[2] = mp_call_function_2(mp_load_attr(image, MP_QSTR_pack),
            args[ARG_entry].u_obj, args[ARG_arg].u_obj);
        nlr_pop();
    } else {
        mp_obj_t exc = MP_OBJ_FROM_PTR(nlr.ret_val);
        if (!mp_obj_is_subclass_fast(MP_OBJ_FROM_PTR(mp_obj_get_type(exc)),
            MP_OBJ_FROM_PTR(&mp_type_ValueError))) {
            nlr_jump(nlr.ret_val); // out of memory, say: the caller's to see
        }
        return MP_OBJ_NEW_SMALL_INT(K5_ERR_INVALID_ARGUMENT);
    }
    return k5arch_syscall(8, request);
}
static MP_DEFINE_CONST_FUN_OBJ_KW(k5user_tcb_configure_obj, 2, k5user_tcb_configure);

static const mp_rom_map_elem_t k5user_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR__k5user) },
    K5USER_GLOBALS
};
static MP_DEFINE_CONST_DICT(k5user_module_globals, k5user_module_globals_table);

const mp_obj_module_t k5user_cmodule = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&k5user_module_globals,
};

MP_REGISTER_MODULE(MP_QSTR__k5user, k5user_cmodule);
