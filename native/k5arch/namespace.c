// Per-task namespaces: each task its own sys.modules, builtins overrides, sys.path,
// sys.exc_info() and mounted filesystems, and a body whose globals are copies.
//
// Why it is built this way:
// - All tasks run in one MicroPython VM, so what isolates them is reachability: a task must
//   reach no object of the kernel and no mutable object of another task. The VM keeps the
//   loaded-modules table, the builtins overrides, sys.path, the current exception and the VFS
//   mount table in its global state; each context has its own copy of them (k5_ns_t, in its Context object) that
//   swap_in/swap_out exchange with the VM's around every entry, as they do the thread state. The
//   kernel's thread keeps the VM's own.
// - The kernel lends its k5 modules (the package and every k5.* it has loaded) to every task:
//   they are frozen (rootsrv.freeze_k5: no name in them can be rebound) and hold no mutable
//   state, so one copy serves all; importing them costs a task nothing. A k5 module the kernel
//   has not loaded, and every other module, is the importing task's own instance in its own
//   table. This is MicroPython's import seam (mp_builtin___import__, set in mpconfigport.h).
// - A body defined in a script (the REPL's __main__) would otherwise run with the script's
//   globals. At its start the task gets a new globals dict holding the names its code (and the
//   code of the functions it reaches through them) uses, read from the bytecode: immutable
//   values are shared, functions of the script are rebound to the new globals, modules are
//   imported again in the task, and anything mutable (a list, an instance, a class of the
//   script) becomes a stand-in that raises a clear error when used. The copy is made in the
//   task, so it is the task's memory and a MemoryError is the task's fault. A body from a
//   module (not __main__) is that function of the task's own import of its module.
#include <string.h>
#include "py/bc0.h"
#include "py/builtin.h"
#include "py/emitglue.h"
#include "py/gc.h"
#include "py/objfun.h"
#include "py/objmodule.h"
#include "py/objtuple.h"
#include "py/runtime.h"
#include "extmod/vfs.h"
#include "k5arch.h"

extern uint32_t _k5_flash_start, _k5_flash_end, _k5_vmram_start, _evmram, _heap_end;

// The kernel's thread's share of the VM state while a task runs (tasks read the module table:
// k5_import looks up the modules the kernel lends).
static mp_map_t kernel_modules;
static mp_obj_dict_t *kernel_builtins;
static mp_obj_t kernel_sys[MP_SYS_MUTABLE_NUM];
static mp_obj_base_t *kernel_exception;
static mp_vfs_mount_t *kernel_vfs_mounts;
static mp_vfs_mount_t *kernel_vfs_cur;
// The kernel's thread's opt level, asyncio context and random state while a task runs (like
// the fields above, where tasks can write them: the kernel's thread uses none of them).
static mp_uint_t kernel_optimise;
static mp_obj_t kernel_asyncio_context;
static uint32_t kernel_random[K5_RANDOM_WORDS];
// extmod/modrandom.c's state (its generator and whether it was seeded), all static: the linker
// script gathers it between these two symbols, so that it can be swapped as one block.
extern uint32_t _k5_random_start[], _k5_random_end[];
extern mp_obj_t mp_asyncio_context;

// A task's sys.path until it assigns its own: immutable, so every task can share it.
static const mp_rom_obj_tuple_t task_path = {
    { &mp_type_tuple }, 2, { MP_ROM_QSTR(MP_QSTR_), MP_ROM_QSTR(MP_QSTR__dot_frozen) }
};

void k5ns_init(k5_ns_t *ns, bool root) {
    mp_map_init(&ns->modules, 0);
    ns->builtins = NULL;
    ns->exception = NULL;
    // Every context starts with no filesystem; the root mounts the flash (ports/stm32l5's
    // _boot.py), and a task that mounts a filesystem of its own mounts it for itself.
    ns->vfs_mounts = NULL;
    ns->vfs_cur = NULL;
    // Each context its own opt level (MicroPython's default), asyncio and random generator (its
    // first `import random` seeds it: modrandom's "seeded" flag is part of the block).
    ns->optimise = 0;
    ns->asyncio_context = MP_OBJ_NULL;
    memset(ns->random, 0, sizeof(ns->random));
    if (root) {
        // The REPL's __main__ is the VM's; its sys.path the list main.c built.
        ns->path = MP_STATE_VM(sys_mutable[MP_SYS_MUTABLE_PATH]);
        mp_map_lookup(&ns->modules, MP_OBJ_NEW_QSTR(MP_QSTR___main__),
            MP_MAP_LOOKUP_ADD_IF_NOT_FOUND)->value = MP_OBJ_FROM_PTR(&mp_module___main__);
    } else {
        ns->path = MP_OBJ_FROM_PTR(&task_path);
    }
}

void k5ns_swap_in(k5_ns_t *ns) {
    mp_map_t *modules = &MP_STATE_VM(mp_loaded_modules_dict).map;
    kernel_modules = *modules;
    *modules = ns->modules;
    kernel_builtins = MP_STATE_VM(mp_module_builtins_override_dict);
    MP_STATE_VM(mp_module_builtins_override_dict) = ns->builtins;
    kernel_exception = MP_STATE_VM(cur_exception);
    MP_STATE_VM(cur_exception) = ns->exception;
    memcpy(kernel_sys, MP_STATE_VM(sys_mutable), sizeof(kernel_sys));
    MP_STATE_VM(sys_mutable[MP_SYS_MUTABLE_PATH]) = ns->path;
    kernel_vfs_mounts = MP_STATE_VM(vfs_mount_table);
    kernel_vfs_cur = MP_STATE_VM(vfs_cur);
    MP_STATE_VM(vfs_mount_table) = ns->vfs_mounts;
    MP_STATE_VM(vfs_cur) = ns->vfs_cur;
    kernel_optimise = MP_STATE_VM(mp_optimise_value);
    MP_STATE_VM(mp_optimise_value) = ns->optimise;
    kernel_asyncio_context = mp_asyncio_context;
    mp_asyncio_context = ns->asyncio_context;
    memcpy(kernel_random, _k5_random_start, sizeof(kernel_random));
    memcpy(_k5_random_start, ns->random, sizeof(ns->random));
}

// The task's sys.ps1, sys.ps2 and sys.tracebacklimit are the root's again at its next entry
// (only the root has a REPL); its modules, overrides, path and exception stay its own.
void k5ns_swap_out(k5_ns_t *ns) {
    mp_map_t *modules = &MP_STATE_VM(mp_loaded_modules_dict).map;
    ns->modules = *modules;
    *modules = kernel_modules;
    ns->builtins = MP_STATE_VM(mp_module_builtins_override_dict);
    MP_STATE_VM(mp_module_builtins_override_dict) = kernel_builtins;
    ns->exception = MP_STATE_VM(cur_exception);
    MP_STATE_VM(cur_exception) = kernel_exception;
    ns->path = MP_STATE_VM(sys_mutable[MP_SYS_MUTABLE_PATH]);
    memcpy(MP_STATE_VM(sys_mutable), kernel_sys, sizeof(kernel_sys));
    ns->vfs_mounts = MP_STATE_VM(vfs_mount_table);
    ns->vfs_cur = MP_STATE_VM(vfs_cur);
    MP_STATE_VM(vfs_mount_table) = kernel_vfs_mounts;
    MP_STATE_VM(vfs_cur) = kernel_vfs_cur;
    ns->optimise = MP_STATE_VM(mp_optimise_value);
    MP_STATE_VM(mp_optimise_value) = kernel_optimise;
    ns->asyncio_context = mp_asyncio_context;
    mp_asyncio_context = kernel_asyncio_context;
    memcpy(ns->random, _k5_random_start, sizeof(ns->random));
    memcpy(_k5_random_start, kernel_random, sizeof(kernel_random));
}

// --- Import -------------------------------------------------------------------------------------

static bool is_k5_name(const char *name, size_t len) {
    return len >= 2 && name[0] == 'k' && name[1] == '5' && (len == 2 || name[2] == '.');
}

static mp_obj_t kernel_module(qstr name) {
    mp_map_elem_t *elem = mp_map_lookup(&kernel_modules, MP_OBJ_NEW_QSTR(name), MP_MAP_LOOKUP);
    return elem ? elem->value : MP_OBJ_NULL;
}

static mp_obj_t own_module(qstr name) {
    mp_map_elem_t *elem = mp_map_lookup(&MP_STATE_VM(mp_loaded_modules_dict).map,
        MP_OBJ_NEW_QSTR(name), MP_MAP_LOOKUP);
    return elem ? elem->value : MP_OBJ_NULL;
}

typedef struct _nlr_unparent_t {
    nlr_jump_callback_node_t callback;
} nlr_unparent_t;

static void unparent(void *ctx) {
    (void)ctx;
    mp_map_lookup(&MP_STATE_VM(mp_loaded_modules_dict).map, MP_OBJ_NEW_QSTR(MP_QSTR_k5),
        MP_MAP_LOOKUP_REMOVE_IF_FOUND);
}

// A k5 module the kernel has not loaded, as the task's own: the import machinery finds the
// package k5 in the task's table as a stand-in with the frozen package's __path__ (the lent
// package cannot take a new attribute), loads the module into the task's table, and the
// stand-in goes. The lent package's __getattr__ finds the module for `k5.name`.
static mp_obj_t import_own_k5(mp_obj_t name, mp_obj_t package) {
    mp_obj_t path[2];
    mp_load_method_maybe(package, MP_QSTR___path__, path);
    mp_obj_t parent = mp_obj_new_module(MP_QSTR_k5); // enters the task's table as "k5"
    if (path[0] != MP_OBJ_NULL) {
        mp_store_attr(parent, MP_QSTR___path__, path[0]);
    }
    nlr_unparent_t node;
    nlr_push_jump_callback(&node.callback, unparent);
    mp_obj_t leaf_args[5] = { name, mp_const_none, mp_const_none, mp_const_true,
                              MP_OBJ_NEW_SMALL_INT(0) };
    mp_obj_t module = mp_builtin___import___default(5, leaf_args);
    nlr_pop_jump_callback(true);
    return module;
}

// The task's __main__: a module over its globals, made on first import.
static mp_obj_t main_module(void) {
    mp_obj_t module = own_module(MP_QSTR___main__);
    if (module == MP_OBJ_NULL) {
        mp_obj_module_t *o = mp_obj_malloc(mp_obj_module_t, &mp_type_module);
        o->globals = mp_globals_get();
        module = MP_OBJ_FROM_PTR(o);
        mp_map_lookup(&MP_STATE_VM(mp_loaded_modules_dict).map,
            MP_OBJ_NEW_QSTR(MP_QSTR___main__), MP_MAP_LOOKUP_ADD_IF_NOT_FOUND)->value = module;
    }
    return module;
}

// __import__ for the whole VM. The kernel's thread imports as MicroPython does (it never does
// after boot, and then only k5 modules, which bind into the package while it is open).
mp_obj_t k5_import(size_t n_args, const mp_obj_t *args) {
    mp_int_t level = n_args >= 5 ? MP_OBJ_SMALL_INT_VALUE(args[4]) : 0;
    // An interpreter of its own imports everything itself, as MicroPython does.
    if (!k5arch_in_task() || level != 0 || k5_vm_own) {
        return mp_builtin___import___default(n_args, args);
    }
    size_t len;
    const char *text = mp_obj_str_get_data(args[0], &len);
    qstr name = qstr_from_strn(text, len);
    if (name == MP_QSTR___main__) {
        return main_module();
    }
    if (!is_k5_name(text, len)) {
        return mp_builtin___import___default(n_args, args);
    }
    mp_obj_t package = kernel_module(MP_QSTR_k5);
    if (package == MP_OBJ_NULL) {
        return mp_builtin___import___default(n_args, args); // no kernel (the rescue REPL)
    }
    bool leaf = n_args >= 4 && args[3] != mp_const_none && mp_obj_is_true(args[3]);
    mp_obj_t module = kernel_module(name);
    if (module == MP_OBJ_NULL) {
        module = own_module(name);
    }
    if (module == MP_OBJ_NULL) {
        module = import_own_k5(args[0], package);
    }
    return leaf ? module : package;
}

// --- What a task may share --------------------------------------------------------------------

static bool in_flash(mp_const_obj_t obj) {
    uintptr_t p = (uintptr_t)obj;
    return p >= (uintptr_t)&_k5_flash_start && p < (uintptr_t)&_k5_flash_end;
}

static bool dict_fixed(const mp_obj_dict_t *dict) {
    return dict != NULL && dict->map.is_fixed;
}

static bool is_function(mp_const_obj_t obj) {
    return mp_obj_is_type(obj, &mp_type_fun_bc) || mp_obj_is_type(obj, &mp_type_gen_wrap);
}

static bool class_fixed(mp_const_obj_t obj) {
    const mp_obj_type_t *type = MP_OBJ_TO_PTR(obj);
    return !MP_OBJ_TYPE_HAS_SLOT(type, locals_dict)
           || dict_fixed(MP_OBJ_TYPE_GET_SLOT(type, locals_dict));
}

// Whether every task may hold obj as it is: it is immutable and reaches only immutable objects
// (flash, immutable values, frozen modules, their functions and classes).
bool k5ns_shareable(mp_const_obj_t obj, int depth) {
    if (!mp_obj_is_obj(obj) || in_flash(obj)) {
        return true; // small ints, qstrs, None, booleans, and what lives in flash
    }
    const mp_obj_type_t *type = mp_obj_get_type(obj);
    if (type == &mp_type_str || type == &mp_type_bytes || type == &mp_type_int
        #if MICROPY_PY_BUILTINS_FLOAT
        || type == &mp_type_float
        #endif
        #if MICROPY_PY_BUILTINS_COMPLEX
        || type == &mp_type_complex
        #endif
        ) {
        return true;
    }
    if (type == &mp_type_tuple) {
        if (depth >= 4) {
            return false;
        }
        size_t n;
        mp_obj_t *items;
        mp_obj_tuple_get(MP_OBJ_FROM_PTR(obj), &n, &items);
        for (size_t i = 0; i < n; i++) {
            if (!k5ns_shareable(items[i], depth + 1)) {
                return false;
            }
        }
        return true;
    }
    if (type == &mp_type_module) {
        return dict_fixed(((const mp_obj_module_t *)MP_OBJ_TO_PTR(obj))->globals);
    }
    if (is_function(obj)) {
        const mp_obj_fun_bc_t *fun = MP_OBJ_TO_PTR(obj);
        return dict_fixed(fun->context->module.globals);
    }
    if (type == &mp_type_type) {
        return class_fixed(obj);
    }
    return false;
}

// --- Stand-ins for what a task does not get -----------------------------------------------------

typedef struct _k5ns_unshared_t {
    mp_obj_base_t base;
    qstr name;
    qstr kind;
} k5ns_unshared_t;

static const mp_obj_type_t k5ns_unshared_type;

static NORETURN void unshared_raise(mp_obj_t self_in) {
    k5ns_unshared_t *self = MP_OBJ_TO_PTR(self_in);
    mp_raise_msg_varg(&mp_type_NameError,
        MP_ERROR_TEXT("K5: '%q' (a %q) is the spawning script's: a task shares no mutable "
            "object; pass the value as arg or by IPC, or define it in the body"),
        self->name, self->kind);
}

static void unshared_print(const mp_print_t *print, mp_obj_t self_in, mp_print_kind_t kind) {
    k5ns_unshared_t *self = MP_OBJ_TO_PTR(self_in);
    (void)kind;
    mp_printf(print, "<not shared: the script's %q '%q'>", self->kind, self->name);
}

static void unshared_attr(mp_obj_t self_in, qstr attr, mp_obj_t *dest) {
    (void)attr;
    (void)dest;
    unshared_raise(self_in);
}

static mp_obj_t unshared_call(mp_obj_t self_in, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    (void)n_args;
    (void)n_kw;
    (void)args;
    unshared_raise(self_in);
}

static mp_obj_t unshared_unary_op(mp_unary_op_t op, mp_obj_t self_in) {
    (void)op;
    unshared_raise(self_in);
}

static mp_obj_t unshared_binary_op(mp_binary_op_t op, mp_obj_t lhs, mp_obj_t rhs) {
    (void)op;
    (void)rhs;
    unshared_raise(lhs);
}

static mp_obj_t unshared_subscr(mp_obj_t self_in, mp_obj_t index, mp_obj_t value) {
    (void)index;
    (void)value;
    unshared_raise(self_in);
}

static mp_obj_t unshared_getiter(mp_obj_t self_in, mp_obj_iter_buf_t *iter_buf) {
    (void)iter_buf;
    unshared_raise(self_in);
}

static MP_DEFINE_CONST_OBJ_TYPE(
    k5ns_unshared_type,
    MP_QSTR_unshared,
    MP_TYPE_FLAG_ITER_IS_GETITER,
    print, unshared_print,
    attr, unshared_attr,
    call, unshared_call,
    unary_op, unshared_unary_op,
    binary_op, unshared_binary_op,
    subscr, unshared_subscr,
    iter, unshared_getiter
    );

static mp_obj_t unshared(qstr name, mp_obj_t value) {
    k5ns_unshared_t *o = mp_obj_malloc(k5ns_unshared_t, &k5ns_unshared_type);
    o->name = name;
    o->kind = mp_obj_is_type(value, &mp_type_type) ? MP_QSTR_class : mp_obj_get_type(value)->name;
    return MP_OBJ_FROM_PTR(o);
}

// --- The body's globals -------------------------------------------------------------------------

#define CONTEXTS_MAX (8)
#define TUPLE_DEPTH (4)
#define CODE_DEPTH (8)

typedef struct _copy_t {
    mp_obj_dict_t *from;        // the script's globals
    mp_obj_dict_t *to;          // the task's
    mp_obj_t pending;           // a list of rebound functions whose code is still to be read
    const mp_module_context_t *old_context[CONTEXTS_MAX];
    mp_module_context_t *new_context[CONTEXTS_MAX];
    size_t contexts;
} copy_t;

static mp_obj_t copy_value(copy_t *c, qstr name, mp_obj_t value, int depth);

// A function's module context with the task's globals (one per original context: each line the
// REPL compiles has its own constants).
static const mp_module_context_t *rebound_context(copy_t *c, const mp_module_context_t *old) {
    for (size_t i = 0; i < c->contexts; i++) {
        if (c->old_context[i] == old) {
            return c->new_context[i];
        }
    }
    mp_module_context_t *context = m_new_obj(mp_module_context_t);
    context->module.base.type = &mp_type_module;
    context->module.globals = c->to;
    context->constants = old->constants;
    if (c->contexts < CONTEXTS_MAX) {
        c->old_context[c->contexts] = old;
        c->new_context[c->contexts] = context;
        c->contexts += 1;
    }
    return context;
}

static mp_obj_t rebind_function(copy_t *c, qstr name, mp_obj_t fun_in) {
    const mp_obj_fun_bc_t *fun = MP_OBJ_TO_PTR(fun_in);
    const byte *ip = fun->bytecode;
    MP_BC_PRELUDE_SIG_DECODE(ip);
    mp_obj_t defaults[2] = { MP_OBJ_NULL, MP_OBJ_NULL };
    if (n_def_pos_args > 0) {
        defaults[0] = mp_obj_new_tuple(n_def_pos_args, NULL);
        mp_obj_tuple_t *tuple = MP_OBJ_TO_PTR(defaults[0]);
        for (size_t i = 0; i < n_def_pos_args; i++) {
            tuple->items[i] = copy_value(c, name, fun->extra_args[i], 0);
        }
    }
    if (scope_flags & MP_SCOPE_FLAG_DEFKWARGS) {
        mp_obj_t old = fun->extra_args[n_def_pos_args];
        mp_map_t *map = mp_obj_dict_get_map(old);
        defaults[1] = mp_obj_new_dict(map->used);
        for (size_t i = 0; i < map->alloc; i++) {
            if (mp_map_slot_is_filled(map, i)) {
                mp_obj_dict_store(defaults[1], map->table[i].key,
                    copy_value(c, name, map->table[i].value, 0));
            }
        }
    }
    mp_obj_t copy = mp_obj_new_fun_bc(defaults, fun->bytecode,
        rebound_context(c, fun->context), fun->child_table);
    ((mp_obj_base_t *)MP_OBJ_TO_PTR(copy))->type = fun->base.type; // a generator stays one
    mp_obj_list_append(c->pending, fun_in);
    return copy;
}

static mp_obj_t rebind_closure(copy_t *c, qstr name, mp_obj_t closure_in) {
    const k5_closure_t *closure = MP_OBJ_TO_PTR(closure_in);
    mp_obj_t fun = rebind_function(c, name, closure->fun);
    mp_obj_t cells[closure->n_closed];
    for (size_t i = 0; i < closure->n_closed; i++) {
        cells[i] = mp_obj_new_cell(copy_value(c, name, mp_obj_cell_get(closure->closed[i]), 0));
    }
    return mp_obj_new_closure(fun, closure->n_closed, cells);
}

// The task's own import of a module (by its __name__), or MP_OBJ_NULL if it has none.
static mp_obj_t import_again(mp_obj_dict_t *globals) {
    mp_map_elem_t *elem = mp_map_lookup(&globals->map, MP_OBJ_NEW_QSTR(MP_QSTR___name__),
        MP_MAP_LOOKUP);
    if (elem == NULL || !mp_obj_is_str(elem->value)) {
        return MP_OBJ_NULL;
    }
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_obj_t module = mp_import_name(mp_obj_str_get_qstr(elem->value), mp_const_true,
            MP_OBJ_NEW_SMALL_INT(0));
        nlr_pop();
        return module;
    }
    if (mp_obj_is_subclass_fast(MP_OBJ_FROM_PTR(((mp_obj_base_t *)nlr.ret_val)->type),
        MP_OBJ_FROM_PTR(&mp_type_ImportError))) {
        return MP_OBJ_NULL;
    }
    nlr_jump(nlr.ret_val); // MemoryError and the like are the task's
}

// The function of that name in the task's own import of fun's module.
static mp_obj_t function_again(mp_obj_t fun_in) {
    const mp_obj_fun_bc_t *fun = MP_OBJ_TO_PTR(fun_in);
    mp_obj_t module = import_again(fun->context->module.globals);
    if (module == MP_OBJ_NULL) {
        return MP_OBJ_NULL;
    }
    mp_obj_t dest[2];
    mp_load_method_maybe(module, mp_obj_fun_get_name(fun_in), dest);
    return dest[0] != MP_OBJ_NULL && dest[1] == MP_OBJ_NULL ? dest[0] : MP_OBJ_NULL;
}

static mp_obj_t copy_value(copy_t *c, qstr name, mp_obj_t value, int depth) {
    if (k5ns_shareable(value, 0)) {
        return value;
    }
    const mp_obj_type_t *type = mp_obj_get_type(value);
    mp_obj_t copy = MP_OBJ_NULL;
    if (type == &mp_type_tuple && depth < TUPLE_DEPTH) {
        size_t n;
        mp_obj_t *items;
        mp_obj_tuple_get(value, &n, &items);
        copy = mp_obj_new_tuple(n, NULL);
        mp_obj_tuple_t *tuple = MP_OBJ_TO_PTR(copy);
        for (size_t i = 0; i < n; i++) {
            tuple->items[i] = copy_value(c, name, items[i], depth + 1);
        }
    } else if (is_function(value)) {
        const mp_obj_fun_bc_t *fun = MP_OBJ_TO_PTR(value);
        if (fun->context->module.globals == c->from) {
            copy = rebind_function(c, name, value);
        } else {
            copy = function_again(value);
        }
    } else if (type == &mp_type_closure) {
        const k5_closure_t *closure = MP_OBJ_TO_PTR(value);
        if (is_function(closure->fun)
            && ((const mp_obj_fun_bc_t *)MP_OBJ_TO_PTR(closure->fun))->context->module.globals
            == c->from) {
            copy = rebind_closure(c, name, value);
        }
    } else if (type == &mp_type_module) {
        mp_obj_dict_t *globals = ((mp_obj_module_t *)MP_OBJ_TO_PTR(value))->globals;
        copy = globals == c->from ? main_module() : import_again(globals);
    }
    return copy != MP_OBJ_NULL ? copy : unshared(name, value);
}

// Calls on_name(env, name) for every name the code uses as a global (and the code of the
// functions it defines uses), read from bytecode compiled at run time (anything else is skipped).
typedef void (*name_fn_t)(void *env, qstr name);

typedef struct _names_t {
    const k5code_unit_t *unit;
    const mp_module_context_t *context;
    size_t n_qstrs;             // the qstr table's room (a heap block: code compiled at run time)
    int depth;
    name_fn_t on_name;
    void *env;
} names_t;

static void scan_unit(const k5code_unit_t *unit, const mp_module_context_t *context, int depth,
    name_fn_t on_name, void *env);

static void name_arg(void *env, byte op, size_t arg) {
    names_t *n = env;
    if (op == MP_BC_LOAD_GLOBAL || op == MP_BC_STORE_GLOBAL || op == MP_BC_DELETE_GLOBAL
        || op == MP_BC_LOAD_NAME || op == MP_BC_STORE_NAME || op == MP_BC_DELETE_NAME) {
        if (arg < n->n_qstrs) {
            n->on_name(n->env, n->context->constants.qstr_table[arg]);
        }
    } else if (k5code_is_make_function(op) && arg < n->unit->n_children) {
        k5code_unit_t child;
        if (k5code_unit(n->unit->children[arg], &child)) {
            scan_unit(&child, n->context, n->depth + 1, n->on_name, n->env);
        }
    }
}

static void scan_unit(const k5code_unit_t *unit, const mp_module_context_t *context, int depth,
    name_fn_t on_name, void *env) {
    if (depth > CODE_DEPTH) {
        return; // nested too deep
    }
    names_t n = {
        .unit = unit, .context = context, .depth = depth, .on_name = on_name, .env = env,
    };
    size_t n_objs;
    k5code_tables(&context->constants, &n.n_qstrs, &n_objs);
    k5code_walk(unit, name_arg, &n);
}

static void scan_names(const byte *code, const void *const *children,
    const mp_module_context_t *context, int depth, name_fn_t on_name, void *env) {
    k5code_unit_t unit;
    if (k5code_unit_of(code, children, &unit)) {
        scan_unit(&unit, context, depth, on_name, env);
    }
}

// A name the code uses, copied into the task's globals (once).
static void copy_name(void *env, qstr name) {
    copy_t *c = env;
    mp_obj_t key = MP_OBJ_NEW_QSTR(name);
    if (mp_map_lookup(&c->to->map, key, MP_MAP_LOOKUP) == NULL) {
        mp_map_elem_t *elem = mp_map_lookup(&c->from->map, key, MP_MAP_LOOKUP);
        if (elem != NULL) {
            mp_obj_t value = elem->value;
            // Entered before the copy is made: a function that names itself is done.
            mp_obj_dict_store(MP_OBJ_FROM_PTR(c->to), key, mp_const_none);
            mp_obj_dict_store(MP_OBJ_FROM_PTR(c->to), key, copy_value(c, name, value, 0));
        }
    }
}

static void list_name(void *env, qstr name) {
    mp_map_elem_t *elem = mp_map_lookup(env, MP_OBJ_NEW_QSTR(name), MP_MAP_LOOKUP_ADD_IF_NOT_FOUND);
    if (elem->value == MP_OBJ_NULL) {
        elem->value = mp_const_none;
    }
}

// The global names a function's code uses (and the code of the functions it defines), as a
// tuple of str: k5/image.py packs what those names hold. In the caller's own time and heap.
mp_obj_t k5ns_code_names(mp_obj_t fun_in) {
    if (!is_function(fun_in)) {
        mp_raise_TypeError(MP_ERROR_TEXT("K5: code_names takes a function"));
    }
    const mp_obj_fun_bc_t *fun = MP_OBJ_TO_PTR(fun_in);
    mp_map_t names;
    mp_map_init(&names, 4);
    scan_names(fun->bytecode, (const void *const *)fun->child_table, fun->context, 0,
        list_name, &names);
    mp_obj_t tuple = mp_obj_new_tuple(names.used, NULL);
    mp_obj_tuple_t *items = MP_OBJ_TO_PTR(tuple);
    size_t n = 0;
    for (size_t i = 0; i < names.alloc; i++) {
        if (mp_map_slot_is_filled(&names, i)) {
            items->items[n++] = names.table[i].key;
        }
    }
    mp_map_deinit(&names);
    return tuple;
}

// What the task calls as its body, with the globals it runs in set (in the task, at its start).
mp_obj_t k5ns_body(mp_obj_t entry) {
    mp_obj_t inner = entry;
    if (mp_obj_is_type(entry, &mp_type_closure)) {
        inner = ((const k5_closure_t *)MP_OBJ_TO_PTR(entry))->fun;
    }
    if (!is_function(inner)) {
        mp_obj_dict_t *globals = MP_OBJ_TO_PTR(mp_obj_new_dict(1));
        mp_obj_dict_store(MP_OBJ_FROM_PTR(globals), MP_OBJ_NEW_QSTR(MP_QSTR___name__),
            MP_OBJ_NEW_QSTR(MP_QSTR___main__));
        mp_globals_set(globals);
        mp_locals_set(globals);
        return entry; // a function in C: no globals
    }
    const mp_obj_fun_bc_t *fun = MP_OBJ_TO_PTR(inner);
    mp_obj_dict_t *from = fun->context->module.globals;
    mp_map_elem_t *name = mp_map_lookup(&from->map, MP_OBJ_NEW_QSTR(MP_QSTR___name__),
        MP_MAP_LOOKUP);
    bool script = name == NULL || name->value == MP_OBJ_NEW_QSTR(MP_QSTR___main__);
    if (!dict_fixed(from) && !script && entry == inner) {
        // A function of a module: the one of the task's own import.
        mp_obj_t again = function_again(entry);
        if (again != MP_OBJ_NULL) {
            from = ((const mp_obj_fun_bc_t *)MP_OBJ_TO_PTR(again))->context->module.globals;
            mp_globals_set(from);
            mp_locals_set(from);
            return again;
        }
    }
    copy_t c = { .from = from, .contexts = 0 };
    c.to = MP_OBJ_TO_PTR(mp_obj_new_dict(4));
    c.pending = mp_obj_new_list(0, NULL);
    mp_obj_dict_store(MP_OBJ_FROM_PTR(c.to), MP_OBJ_NEW_QSTR(MP_QSTR___name__),
        MP_OBJ_NEW_QSTR(MP_QSTR___main__));
    mp_globals_set(c.to);
    mp_locals_set(c.to);
    if (dict_fixed(from)) {
        return entry; // a function of a frozen module: shared as it is
    }
    mp_obj_t body = copy_value(&c, MP_QSTR_body, entry, 0);
    // Read the code of every function rebound so far (reading may rebind more).
    for (size_t i = 0; i < ((mp_obj_list_t *)MP_OBJ_TO_PTR(c.pending))->len; i++) {
        const mp_obj_fun_bc_t *old = MP_OBJ_TO_PTR(((mp_obj_list_t *)MP_OBJ_TO_PTR(c.pending))->items[i]);
        scan_names(old->bytecode, (const void *const *)old->child_table, old->context, 0,
            copy_name, &c);
    }
    return body;
}

// Whether obj lies where a task's objects do (flash, the VM's RAM), whole: the kernel may read
// it, and no task's word makes the kernel read anywhere else (a device, an unmapped address).
static bool object_in_vm(mp_const_obj_t obj, size_t size) {
    uintptr_t p = (uintptr_t)obj;
    return (p >= (uintptr_t)&_k5_flash_start && p <= (uintptr_t)&_k5_flash_end - size)
           || (p >= (uintptr_t)&_k5_vmram_start && p <= (uintptr_t)&_evmram - size);
}

// Whether entry can be a task's body: a function in Python (or a closure of one), or in C.
// The kernel asks it of what a task's request names (wire.c) and again at every restart; the
// closure, in the shared heap, is the task's to change meanwhile, so its function is read only
// where a task's objects lie.
bool k5ns_body_ok(mp_const_obj_t entry) {
    if (is_function(entry)) {
        return true;
    }
    if (mp_obj_is_type(entry, &mp_type_closure)) {
        mp_const_obj_t fun = ((const k5_closure_t *)MP_OBJ_TO_PTR(entry))->fun;
        return object_in_vm(fun, sizeof(mp_obj_fun_bc_t)) && is_function(fun);
    }
    return mp_obj_is_type(entry, &mp_type_fun_builtin_0)
           || mp_obj_is_type(entry, &mp_type_fun_builtin_1)
           || mp_obj_is_type(entry, &mp_type_fun_builtin_2)
           || mp_obj_is_type(entry, &mp_type_fun_builtin_3)
           || mp_obj_is_type(entry, &mp_type_fun_builtin_var);
}
