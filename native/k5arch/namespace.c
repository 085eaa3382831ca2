// Per-task namespaces for the tasks in the kernel's interpreter: each its own sys.modules,
// builtins overrides, sys.path, sys.exc_info() and mounted filesystems.
//
// Why it is built this way:
// - Those tasks run in one MicroPython VM, so what isolates them is reachability: a task must
//   reach no object of the kernel and no mutable object of another task. The VM keeps the
//   loaded-modules table, the builtins overrides, sys.path, the current exception and the VFS
//   mount table in its global state; each context has its own copy of them (k5_ns_t, in its
//   Context object) that swap_in/swap_out exchange with the VM's around every entry, as they
//   do the thread state. The kernel's thread keeps the VM's own.
// - The kernel lends its k5 modules (the package and every k5.* it has loaded) to every task:
//   they are frozen (rootsrv.freeze_k5: no name in them can be rebound) and hold no mutable
//   state, so one copy serves all; importing them costs a task nothing. A k5 module the kernel
//   has not loaded, and every other module, is the importing task's own instance in its own
//   table. This is MicroPython's import seam (mp_builtin___import__, set in mpconfigport.h).
// - A task's body and its globals come from its image (k5/image.py), unpacked in the task: the
//   kernel never copies a namespace.
#include <string.h>
#include "py/builtin.h"
#include "py/gc.h"
#include "py/objmodule.h"
#include "py/objtuple.h"
#include "py/runtime.h"
#include "extmod/vfs.h"
#include "k5arch.h"

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
