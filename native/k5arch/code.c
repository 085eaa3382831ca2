// Bytecode compiled at run time: one walker of its instructions, and module `marshal` on it.
//
// Why: a task's body reaches a task with an interpreter of its own as code (k5/image.py), and
// the global names a body uses are read from its code (code_names, below). Both walk
// the same bytecode, here. MicroPython's own `marshal.dumps` (py/persistentcode.c, 1.25) grows
// its bit vectors of used table entries once, by doubling, whatever the index: a function using
// entry 128 or more of its module's qstr or constant table sets a bit past the vector's heap
// block, in whatever object lies next (found in K5 as a flipped bit in a class's attribute
// table, session 13). It also refuses code with children (nested functions, lambdas,
// comprehensions, class bodies). So MICROPY_PY_MARSHAL is off and this module is `marshal`:
// `dumps` writes the same .mpy form that `loads` (MicroPython's loader) reads, children
// included, with every index checked against the table it names.
//
// The .mpy form (MicroPython 1.25, MPY_VERSION 6), as its loader reads it: a 4-byte header
// ('M', version, 0 for bytecode only, small-int bits), the number of qstrs and of constants,
// the qstrs (a static one as its number << 1 | 1, any other as its length << 1, its bytes and a
// NUL), the constants (a type byte, then for str/bytes/int/float/complex a length and the
// bytes, for a tuple its length and its items), then the code unit: (length << 3) | (children
// << 2) | kind (0: bytecode), its bytes, and if it has children their number and each unit.
// Numbers are unsigned, 7 bits a byte, most significant first, bit 7 set on all but the last.
#include <string.h>
#include "py/bc.h"
#include "py/bc0.h"
#include "py/emitglue.h"
#include "py/gc.h"
#include "py/objcode.h"
#include "py/objfun.h"
#include "py/objstr.h"
#include "py/objtuple.h"
#include "py/persistentcode.h"
#include "py/runtime.h"
#include "py/smallint.h"
#include "k5arch.h"

#if !MICROPY_EMIT_BYTECODE_USES_QSTR_TABLE
#error "K5: the walker reads qstr arguments as indices into the module's qstr table"
#endif

extern uint32_t _heap_end;

// Children deeper than this (a function in a function in ...) are not walked.
#define CODE_DEPTH (8)
// A constant tuple in a tuple ... deeper than this is refused.
#define CONST_DEPTH (8)

// A unit from a proto-fun (a child table's entry, a code object's function): false if it is
// not bytecode compiled at run time (machine code, frozen code).
bool k5code_unit(const void *proto_fun, k5code_unit_t *unit) {
    if (proto_fun == NULL) {
        return false;
    }
    const byte *code;
    const void *const *children = NULL;
    if (mp_proto_fun_is_bytecode(proto_fun)) {
        code = proto_fun;
    } else {
        const mp_raw_code_t *rc = proto_fun;
        if (rc->kind != MP_CODE_BYTECODE) {
            return false;
        }
        code = rc->fun_data;
        children = (const void *const *)rc->children;
    }
    return k5code_unit_of(code, children, unit);
}

bool k5code_unit_of(const byte *code, const void *const *children, k5code_unit_t *unit) {
    unit->code = code;
    unit->size = gc_nbytes(code);
    unit->children = children;
    unit->n_children = children != NULL ? gc_nbytes(children) / sizeof(*children) : 0;
    return unit->size != 0;
}

// An unsigned number of the bytecode (7 bits a byte, most significant first), read within end.
static bool get_uint(const byte **ip, const byte *end, size_t *value) {
    size_t n = 0;
    for (;;) {
        if (*ip >= end) {
            return false;
        }
        byte b = *(*ip)++;
        n = (n << 7) | (b & 0x7f);
        if (!(b & 0x80)) {
            *value = n;
            return true;
        }
    }
}

// Calls on_arg(env, op, arg) for each name of the prelude (op K5CODE_PRELUDE_NAME: the
// function's name and its arguments', as qstr table indices) and each instruction with an
// argument (a qstr table index, a constant's index, a child's index, a number, an offset's
// bytes are skipped). Returns the bytes through the last instruction: what follows it in the
// unit's heap block is padding (zero bytes, MP_BC_BASE_RESERVED). Every read stays in the block.
size_t k5code_walk(const k5code_unit_t *unit, k5code_fn_t on_arg, void *env) {
    const byte *ip = unit->code;
    const byte *end = ip + unit->size;
    // The signature, then the sizes: each a run of bytes with bit 7 set and one without. Both
    // are found within the block first (MicroPython's macros read them unbounded).
    while (ip < end && (*ip++ & 0x80)) {
    }
    const byte *sizes = ip;
    while (ip < end && (*ip++ & 0x80)) {
    }
    if (ip >= end) {
        return 0;
    }
    // Decoded with MicroPython's own macros, now that both are known to lie in the block.
    const byte *sig = unit->code;
    MP_BC_PRELUDE_SIG_DECODE(sig);
    const byte *size_ip = sizes;
    MP_BC_PRELUDE_SIZE_DECODE(size_ip);
    (void)n_state;
    (void)n_exc_stack;
    (void)scope_flags;
    (void)n_def_pos_args;
    const byte *names = size_ip;
    size_t n_names = 1 + n_pos_args + n_kwonly_args;
    for (size_t i = 0; i < n_names; i++) {
        size_t arg;
        if (!get_uint(&names, end, &arg)) {
            return 0;
        }
        on_arg(env, K5CODE_PRELUDE_NAME, arg);
    }
    if (n_info + n_cell >= (size_t)(end - size_ip)) {
        return 0;
    }
    ip = size_ip + n_info + n_cell;
    while (ip < end && *ip != MP_BC_BASE_RESERVED) {
        byte op = *ip++;
        byte format = MP_BC_FORMAT(op);
        if (format == MP_BC_FORMAT_QSTR || format == MP_BC_FORMAT_VAR_UINT) {
            size_t arg;
            if (!get_uint(&ip, end, &arg)) {
                return 0;
            }
            on_arg(env, op, arg);
        } else if (format == MP_BC_FORMAT_OFFSET) {
            ip += (ip < end && (*ip & 0x80)) ? 2 : 1;
        }
        if ((op & MP_BC_MASK_EXTRA_BYTE) == 0) {
            ip += 1;
        }
    }
    return ip <= end ? (size_t)(ip - unit->code) : 0;
}

// The room of a module's qstr and constant tables (code compiled at run time: one heap block,
// the qstrs first, then the constants: py/bc.h, mp_module_context_alloc_tables).
void k5code_tables(const mp_module_constants_t *consts, size_t *n_qstrs, size_t *n_objs) {
    const byte *block = (const byte *)consts->qstr_table;
    size_t size = block != NULL ? gc_nbytes(block) : 0;
    const byte *objs = (const byte *)consts->obj_table;
    size_t qstr_room = size;
    *n_objs = 0;
    if (objs != NULL && objs >= block && objs <= block + size) {
        qstr_room = objs - block;
        *n_objs = (size - qstr_room) / sizeof(mp_obj_t);
    }
    *n_qstrs = qstr_room / sizeof(qstr_short_t);
}

bool k5code_is_make_function(byte op) {
    return op == MP_BC_MAKE_FUNCTION || op == MP_BC_MAKE_FUNCTION_DEFARGS
           || op == MP_BC_MAKE_CLOSURE || op == MP_BC_MAKE_CLOSURE_DEFARGS;
}

// --- marshal -------------------------------------------------------------------------------------

// What a tree of units uses of its module's tables (one pair of tables for the whole tree).
typedef struct _uses_t {
    uint8_t *qstrs;             // 1: used, one byte per entry of the qstr table
    size_t n_qstrs;             // the table's room
    size_t qstr_top;            // one past the highest entry used
    uint8_t *objs;
    size_t n_objs;
    size_t obj_top;
    size_t child_top;           // of the unit being walked: one past its highest child used
    bool bad;                   // an index past its table
} uses_t;

static void note_use(void *env, byte op, size_t arg) {
    uses_t *u = env;
    if (op == K5CODE_PRELUDE_NAME || MP_BC_FORMAT(op) == MP_BC_FORMAT_QSTR) {
        if (arg >= u->n_qstrs) {
            u->bad = true;
            return;
        }
        u->qstrs[arg] = 1;
        u->qstr_top = MAX(u->qstr_top, arg + 1);
    } else if (op == MP_BC_LOAD_CONST_OBJ) {
        if (arg >= u->n_objs) {
            u->bad = true;
            return;
        }
        u->objs[arg] = 1;
        u->obj_top = MAX(u->obj_top, arg + 1);
    } else if (k5code_is_make_function(op)) {
        u->child_top = MAX(u->child_top, arg + 1);
    }
}

static void put_bytes(vstr_t *out, const void *data, size_t len) {
    vstr_add_strn(out, data, len);
}

static void put_uint(vstr_t *out, size_t n) {
    byte buf[(sizeof(size_t) * 8 + 6) / 7];
    byte *p = buf + sizeof(buf);
    *--p = n & 0x7f;
    for (n >>= 7; n != 0; n >>= 7) {
        *--p = 0x80 | (n & 0x7f);
    }
    put_bytes(out, p, buf + sizeof(buf) - p);
}

static void put_qstr(vstr_t *out, qstr q) {
    // The static qstrs (the first pool, which every MicroPython has with the same numbers) go
    // as their number.
    if (q < MP_QSTRnumber_of_static) {
        put_uint(out, (q << 1) | 1);
        return;
    }
    size_t len;
    const byte *data = qstr_data(q, &len);
    put_uint(out, len << 1);
    put_bytes(out, data, len);
    put_bytes(out, "", 1);
}

static void put_obj(vstr_t *out, mp_obj_t obj, int depth) {
    byte tag;
    if (obj == mp_const_none) {
        tag = MP_PERSISTENT_OBJ_NONE;
    } else if (obj == mp_const_false) {
        tag = MP_PERSISTENT_OBJ_FALSE;
    } else if (obj == mp_const_true) {
        tag = MP_PERSISTENT_OBJ_TRUE;
    } else if (obj == MP_OBJ_FROM_PTR(&mp_const_ellipsis_obj)) {
        tag = MP_PERSISTENT_OBJ_ELLIPSIS;
    } else if (mp_obj_is_str_or_bytes(obj)) {
        tag = mp_obj_is_str(obj) ? MP_PERSISTENT_OBJ_STR : MP_PERSISTENT_OBJ_BYTES;
        size_t len;
        const char *data = mp_obj_str_get_data(obj, &len);
        put_bytes(out, &tag, 1);
        put_uint(out, len);
        put_bytes(out, data, len);
        put_bytes(out, "", 1);
        return;
    } else if (mp_obj_is_type(obj, &mp_type_tuple)) {
        if (depth >= CONST_DEPTH) {
            mp_raise_ValueError(MP_ERROR_TEXT("marshal: a constant nested too deep"));
        }
        size_t n;
        mp_obj_t *items;
        mp_obj_tuple_get(obj, &n, &items);
        tag = MP_PERSISTENT_OBJ_TUPLE;
        put_bytes(out, &tag, 1);
        put_uint(out, n);
        for (size_t i = 0; i < n; i++) {
            put_obj(out, items[i], depth + 1);
        }
        return;
    } else {
        if (mp_obj_is_int(obj)) {
            tag = MP_PERSISTENT_OBJ_INT;
        #if MICROPY_PY_BUILTINS_FLOAT
        } else if (mp_obj_is_float(obj)) {
            tag = MP_PERSISTENT_OBJ_FLOAT;
        #endif
        #if MICROPY_PY_BUILTINS_COMPLEX
        } else if (mp_obj_is_type(obj, &mp_type_complex)) {
            tag = MP_PERSISTENT_OBJ_COMPLEX;
        #endif
        } else {
            mp_raise_ValueError(MP_ERROR_TEXT("marshal: a constant of another type"));
        }
        // Numbers as their text, which the loader parses.
        vstr_t text;
        mp_print_t print;
        vstr_init_print(&text, 16, &print);
        mp_obj_print_helper(&print, obj, PRINT_REPR);
        put_bytes(out, &tag, 1);
        put_uint(out, text.len);
        put_bytes(out, text.buf, text.len);
        vstr_clear(&text);
        return;
    }
    put_bytes(out, &tag, 1);
}

// Writes a unit and its children (the .mpy form's code part), marking what they use of the
// module's tables as it walks them: one walk of each unit.
static void put_unit(vstr_t *out, const k5code_unit_t *unit, uses_t *u, int depth) {
    if (depth > CODE_DEPTH) {
        mp_raise_ValueError(MP_ERROR_TEXT("marshal: functions nested too deep"));
    }
    u->child_top = 0;
    size_t len = k5code_walk(unit, note_use, u);
    if (len == 0 || u->bad || u->child_top > unit->n_children) {
        mp_raise_ValueError(MP_ERROR_TEXT("marshal: code that is not whole"));
    }
    size_t n_children = u->child_top;
    put_uint(out, (len << 3) | ((n_children != 0) << 2) | (MP_CODE_BYTECODE - MP_CODE_BYTECODE));
    put_bytes(out, unit->code, len);
    if (n_children != 0) {
        put_uint(out, n_children);
        for (size_t i = 0; i < n_children; i++) {
            k5code_unit_t child;
            if (!k5code_unit(unit->children[i], &child)) {
                mp_raise_ValueError(MP_ERROR_TEXT("marshal: a nested function that is not bytecode"));
            }
            put_unit(out, &child, u, depth + 1);
        }
    }
}

// marshal.dumps(code): the .mpy bytes of a code object (compile()'s, or a function's __code__,
// which MicroPython gives only for a function without nested code), or of a function itself
// (K5's extension: its code, nested code included; not its default arguments or closure).
static mp_obj_t marshal_dumps(mp_obj_t code_in) {
    const mp_module_constants_t *consts;
    k5code_unit_t unit;
    bool ok;
    if (mp_obj_is_type(code_in, &mp_type_code)) {
        mp_obj_code_t *code = MP_OBJ_TO_PTR(code_in);
        consts = mp_code_get_constants(code);
        ok = k5code_unit(mp_code_get_proto_fun(code), &unit);
    } else if (mp_obj_is_type(code_in, &mp_type_fun_bc) || mp_obj_is_type(code_in, &mp_type_gen_wrap)) {
        const mp_obj_fun_bc_t *fun = MP_OBJ_TO_PTR(code_in);
        consts = &fun->context->constants;
        ok = k5code_unit_of(fun->bytecode, (const void *const *)fun->child_table, &unit);
    } else {
        mp_raise_ValueError(MP_ERROR_TEXT("unmarshallable object"));
    }
    if (!ok) {
        mp_raise_ValueError(MP_ERROR_TEXT("marshal: only bytecode compiled at run time"));
    }
    uses_t u = { 0 };
    k5code_tables(consts, &u.n_qstrs, &u.n_objs);
    u.qstrs = m_new0(uint8_t, u.n_qstrs + 1);
    u.objs = m_new0(uint8_t, u.n_objs + 1);
    // The code first, into a buffer of its own (walking it finds the table entries used), then
    // the header and the tables, then the code.
    vstr_t code;
    vstr_init(&code, 64);
    put_unit(&code, &unit, &u, 0);

    vstr_t out;
    vstr_init(&out, 64 + code.len);
    const byte header[4] = { 'M', MPY_VERSION, 0, MP_SMALL_INT_BITS };
    put_bytes(&out, header, sizeof(header));
    put_uint(&out, u.qstr_top);
    put_uint(&out, u.obj_top);
    for (size_t i = 0; i < u.qstr_top; i++) {
        put_qstr(&out, u.qstrs[i] ? consts->qstr_table[i] : MP_QSTR_);
    }
    for (size_t i = 0; i < u.obj_top; i++) {
        put_obj(&out, u.objs[i] ? consts->obj_table[i] : mp_const_none, 0);
    }
    put_bytes(&out, code.buf, code.len);
    vstr_clear(&code);
    m_del(uint8_t, u.qstrs, u.n_qstrs + 1);
    m_del(uint8_t, u.objs, u.n_objs + 1);
    return mp_obj_new_bytes_from_vstr(&out);
}
static MP_DEFINE_CONST_FUN_OBJ_1(marshal_dumps_obj, marshal_dumps);

// marshal.loads(data): a code object from .mpy bytes (MicroPython's loader), its globals the
// caller's until a function is made of it with globals of its own.
// The code object of len bytes of .mpy form at data (marshal.loads; a task's image, image.c).
mp_obj_t k5code_loads(const byte *data, size_t len) {
    mp_module_context_t context;
    context.module.globals = mp_globals_get();
    mp_compiled_module_t compiled = { .context = &context };
    mp_raw_code_load_mem(data, len, &compiled);
    #if MICROPY_PY_BUILTINS_CODE <= MICROPY_PY_BUILTINS_CODE_BASIC
    return mp_obj_new_code(context.constants, compiled.rc);
    #else
    mp_module_context_t *kept = m_new_obj(mp_module_context_t);
    *kept = context;
    return mp_obj_new_code(kept, compiled.rc, true);
    #endif
}

static mp_obj_t marshal_loads(mp_obj_t data_in) {
    mp_buffer_info_t buf;
    mp_get_buffer_raise(data_in, &buf, MP_BUFFER_READ);
    return k5code_loads(buf.buf, buf.len);
}
static MP_DEFINE_CONST_FUN_OBJ_1(marshal_loads_obj, marshal_loads);

static const mp_rom_map_elem_t marshal_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_marshal) },
    { MP_ROM_QSTR(MP_QSTR_dumps), MP_ROM_PTR(&marshal_dumps_obj) },
    { MP_ROM_QSTR(MP_QSTR_loads), MP_ROM_PTR(&marshal_loads_obj) },
};
static MP_DEFINE_CONST_DICT(marshal_globals, marshal_globals_table);

const mp_obj_module_t k5_module_marshal = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&marshal_globals,
};

MP_REGISTER_MODULE(MP_QSTR_marshal, k5_module_marshal);

// --- A function's parts (k5/image.py) -----------------------------------------------------------

// The most cells a closure of the compiler's has (its closed-over count is a byte).
#define K5_CLOSURE_CELLS_MAX (255)
// marshal carries a function's code; an image carries what else makes the function: its default
// arguments and, for a closure, the values of its cells. Both run in the caller's time and heap.

// The defaults its code expects (from the bytecode's prelude): positional count, keyword dict.
static void expected_defaults(const mp_obj_fun_bc_t *fun, size_t *n_pos, bool *kw) {
    const byte *ip = fun->bytecode;
    MP_BC_PRELUDE_SIG_DECODE(ip);
    (void)n_state;
    (void)n_exc_stack;
    (void)n_pos_args;
    (void)n_kwonly_args;
    *n_pos = n_def_pos_args;
    *kw = (scope_flags & MP_SCOPE_FLAG_DEFKWARGS) != 0;
}

static bool is_bytecode(mp_const_obj_t obj) {
    return mp_obj_is_type(obj, &mp_type_fun_bc) || mp_obj_is_type(obj, &mp_type_gen_wrap);
}

// --- The global names a function's code uses (k5/image.py) -------------------------------------


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

static void list_name(void *env, qstr name) {
    mp_map_elem_t *elem = mp_map_lookup(env, MP_OBJ_NEW_QSTR(name), MP_MAP_LOOKUP_ADD_IF_NOT_FOUND);
    if (elem->value == MP_OBJ_NULL) {
        elem->value = mp_const_none;
    }
}

// The global names a function's code uses (and the code of the functions it defines), as a
// tuple of str: k5/image.py packs what those names hold. In the caller's own time and heap.
static mp_obj_t code_names(mp_obj_t fun_in) {
    if (!is_bytecode(fun_in)) {
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
MP_DEFINE_CONST_FUN_OBJ_1(k5code_names_obj, code_names);

static mp_obj_t fun_parts(mp_obj_t obj) {
    mp_obj_t parts[4] = { obj, mp_const_none, mp_const_none, mp_const_none };
    if (mp_obj_is_type(obj, &mp_type_closure)) {
        const k5_closure_t *closure = MP_OBJ_TO_PTR(obj);
        parts[0] = closure->fun;
        parts[3] = mp_obj_new_tuple(closure->n_closed, NULL);
        mp_obj_tuple_t *cells = MP_OBJ_TO_PTR(parts[3]);
        for (size_t i = 0; i < closure->n_closed; i++) {
            cells->items[i] = mp_obj_cell_get(closure->closed[i]);
        }
    }
    if (!is_bytecode(parts[0])) {
        mp_raise_ValueError(MP_ERROR_TEXT("K5: not a function in Python"));
    }
    const mp_obj_fun_bc_t *fun = MP_OBJ_TO_PTR(parts[0]);
    size_t n_pos;
    bool kw;
    expected_defaults(fun, &n_pos, &kw);
    if (n_pos > 0) {
        parts[1] = mp_obj_new_tuple(n_pos, fun->extra_args);
    }
    if (kw) {
        parts[2] = fun->extra_args[n_pos];
    }
    return mp_obj_new_tuple(4, parts);
}
MP_DEFINE_CONST_FUN_OBJ_1(k5code_fun_parts_obj, fun_parts);

static mp_obj_t make_fun(size_t n_args, const mp_obj_t *args) {
    // The function MicroPython's constructor makes of marshal.loads' code, with these globals.
    mp_obj_t fun = mp_call_function_2(MP_OBJ_FROM_PTR(&mp_type_fun_bc), args[0], args[1]);
    const mp_obj_fun_bc_t *made = MP_OBJ_TO_PTR(fun);
    // Exactly the defaults the code expects: the VM reads them without looking how many
    // there are.
    size_t n_pos;
    bool kw;
    expected_defaults(made, &n_pos, &kw);
    mp_obj_t defaults[2] = { MP_OBJ_NULL, MP_OBJ_NULL };
    size_t given = 0;
    if (args[2] != mp_const_none) {
        if (!mp_obj_is_exact_type(args[2], &mp_type_tuple)) {
            mp_raise_TypeError(MP_ERROR_TEXT("K5: defaults must be a tuple"));
        }
        defaults[0] = args[2];
        given = ((mp_obj_tuple_t *)MP_OBJ_TO_PTR(args[2]))->len;
    }
    if (args[3] != mp_const_none) {
        if (!mp_obj_is_exact_type(args[3], &mp_type_dict)) {
            mp_raise_TypeError(MP_ERROR_TEXT("K5: keyword defaults must be a dict"));
        }
        defaults[1] = args[3];
    }
    if (given != n_pos || (defaults[1] != MP_OBJ_NULL) != kw) {
        mp_raise_ValueError(MP_ERROR_TEXT("K5: the defaults do not match the function's code"));
    }
    if (given != 0 || kw) {
        const mp_obj_type_t *type = made->base.type; // a generator stays one
        fun = mp_obj_new_fun_bc(defaults, made->bytecode, made->context, made->child_table);
        ((mp_obj_base_t *)MP_OBJ_TO_PTR(fun))->type = type;
    }
    if (args[4] != mp_const_none) {
        // Exactly a tuple (another object's layout read as a tuple's would forge references),
        // of no more cells than a function can close over.
        if (!mp_obj_is_exact_type(args[4], &mp_type_tuple)
            || ((mp_obj_tuple_t *)MP_OBJ_TO_PTR(args[4]))->len > K5_CLOSURE_CELLS_MAX) {
            mp_raise_TypeError(MP_ERROR_TEXT("K5: cells must be a tuple of at most 255"));
        }
        size_t n;
        mp_obj_t *values;
        mp_obj_tuple_get(args[4], &n, &values);
        mp_obj_t cells[n];
        for (size_t i = 0; i < n; i++) {
            cells[i] = mp_obj_new_cell(values[i]);
        }
        fun = mp_obj_new_closure(fun, n, cells);
    }
    return fun;
}
MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(k5code_make_fun_obj, 5, 5, make_fun);
