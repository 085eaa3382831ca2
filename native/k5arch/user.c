// Module _k5user: k5's user API on the device (what `import k5` gives a task), in flash.
//
// k5/user.py is the API's one source: tools/gen_user_c.py makes each of its functions that is
// a syscall of its parameters into a row here (its name, syscall number, parameters and their
// defaults), so a task that imports k5 holds no function object of its own for them and a
// call binds its arguments in C. The host runs k5/user.py itself. What is not such a row is
// written below (now, window_info) or is modk5arch.c's (trap, spin).

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
