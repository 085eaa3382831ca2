// A task's image, unpacked in the task: the body and arg of every task but the root.
//
// Why in C: the image is unpacked by a task's first instructions, on its own stack, which may be
// small (an app's task of 2 KB, of which the IPC buffer and the recursion check's margin take
// 960 B). k5/image.py's reader in Python took about 1 KB of that for its frames (MicroPython
// puts each Python frame's state on the C stack), so a task of 2 KB could not start; here a
// nested tuple costs one small C frame a level, and a task imports k5.image only if its image
// holds a stand-in. k5/image.py packs images (the spawner, in Python) and states the format;
// its reader is the host's.
//
// Every length and count is checked against the bytes left before anything is made, so a
// damaged image is a ValueError in the task that reads it, and costs it at most its own heap.
#include <string.h>
#include "py/objstr.h"
#include "py/objtuple.h"
#include "py/parsenum.h"
#include "py/runtime.h"
#include "py/unicode.h"
#include "k5arch.h"
#include "k5image.h"

static const byte magic[4] = { 'K', '5', 'I', 1 };

typedef struct {
    const byte *at;
    const byte *end;
    mp_obj_t globals; // the task's __main__, the globals of the script's functions
    int functions;    // the functions being read, each inside the one before (in its defaults)
} reader_t;

static NORETURN void damaged(const char *why) {
    mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("K5: the image %s"), why);
}

static byte get_byte(reader_t *r) {
    if (r->at >= r->end) {
        damaged("is truncated");
    }
    return *r->at++;
}

static size_t get_varint(reader_t *r) {
    size_t n = 0;
    for (unsigned shift = 0; shift <= 28; shift += 7) {
        byte b = get_byte(r);
        if (shift == 28 && b > 0x0f) {
            break; // beyond 32 bits
        }
        n |= (size_t)(b & 0x7f) << shift;
        if (b < 0x80) {
            return n;
        }
    }
    damaged("has a length that is too long");
}

static const byte *get_span(reader_t *r, size_t *len) {
    size_t n = get_varint(r);
    if (n > (size_t)(r->end - r->at)) {
        damaged("is truncated");
    }
    const byte *data = r->at;
    r->at += n;
    *len = n;
    return data;
}

static const char *get_utf8(reader_t *r, size_t *len) {
    const byte *data = get_span(r, len);
    if (!utf8_check(data, *len)) {
        damaged("has text that is not UTF-8");
    }
    return (const char *)data;
}

static mp_obj_t get_text(reader_t *r) {
    size_t len;
    const char *data = get_utf8(r, &len);
    return mp_obj_new_str(data, len);
}

static qstr get_name(reader_t *r) {
    size_t len;
    const char *data = get_utf8(r, &len);
    if (len > 255) {
        damaged("has a name that is too long"); // a qstr's length is a byte
    }
    return qstr_from_strn(data, len);
}

// The module `name` as the task's own import makes it (the leaf, as __import__ with a fromlist).
static mp_obj_t import(qstr name, qstr attr) {
    mp_obj_t fromlist = mp_obj_new_tuple(1, NULL);
    ((mp_obj_tuple_t *)MP_OBJ_TO_PTR(fromlist))->items[0] = MP_OBJ_NEW_QSTR(attr);
    return mp_import_name(name, fromlist, MP_OBJ_NEW_SMALL_INT(0));
}

static mp_obj_t get_value(reader_t *r, int depth);

// A function of the script: its code (marshal's), then its defaults, keyword defaults (pairs)
// and cells' values, made with the task's globals (code.c's make_fun checks them).
static mp_obj_t get_function(reader_t *r) {
    size_t len;
    get_span(r, &len); // its name: the code has it too
    const byte *code = get_span(r, &len);
    mp_obj_t args[5];
    args[0] = k5code_loads(code, len);
    args[1] = r->globals;
    args[2] = get_value(r, 0);
    args[3] = mp_const_none;
    mp_obj_t pairs = get_value(r, 0);
    if (pairs != mp_const_none) {
        size_t n;
        mp_obj_t *items;
        if (!mp_obj_is_exact_type(pairs, &mp_type_tuple)) {
            damaged("has keyword defaults that are not pairs");
        }
        mp_obj_tuple_get(pairs, &n, &items);
        args[3] = mp_obj_new_dict(n);
        for (size_t i = 0; i < n; i++) {
            mp_obj_t *pair;
            if (!mp_obj_is_exact_type(items[i], &mp_type_tuple)) {
                damaged("has keyword defaults that are not pairs");
            }
            mp_obj_get_array_fixed_n(items[i], 2, &pair);
            if (!mp_obj_is_str(pair[0])) {
                damaged("has keyword defaults that are not pairs");
            }
            mp_obj_dict_store(args[3], pair[0], pair[1]);
        }
    }
    args[4] = get_value(r, 0);
    return mp_call_function_n_kw(MP_OBJ_FROM_PTR(&k5code_make_fun_obj), 5, 0, args);
}

static mp_obj_t get_value(reader_t *r, int depth) {
    mp_cstack_check(); // the task's own stack, which may be small: a RuntimeError, not a fault
    byte tag = get_byte(r);
    switch (tag) {
        case K5_IMAGE_NONE:
            return mp_const_none;
        case K5_IMAGE_FALSE:
            return mp_const_false;
        case K5_IMAGE_TRUE:
            return mp_const_true;
        case K5_IMAGE_INT: {
            size_t len;
            const byte *text = get_span(r, &len);
            return mp_parse_num_integer((const char *)text, len, 10, NULL);
        }
        #if MICROPY_PY_BUILTINS_FLOAT
        case K5_IMAGE_FLOAT: {
            size_t len;
            const byte *text = get_span(r, &len);
            return mp_parse_num_float((const char *)text, len, false, NULL);
        }
        #endif
        case K5_IMAGE_STR:
            return get_text(r);
        case K5_IMAGE_BYTES: {
            size_t len;
            const byte *data = get_span(r, &len);
            return mp_obj_new_bytes(data, len);
        }
        case K5_IMAGE_TUPLE: {
            size_t count = get_varint(r);
            // Each item takes a byte at least: a count beyond the bytes left makes nothing.
            if (depth >= K5_IMAGE_DEPTH || count > (size_t)(r->end - r->at)) {
                damaged("has a tuple nested too deep or longer than its bytes");
            }
            mp_obj_t tuple = mp_obj_new_tuple(count, NULL);
            mp_obj_tuple_t *t = MP_OBJ_TO_PTR(tuple);
            for (size_t i = 0; i < count; i++) {
                t->items[i] = mp_const_none; // what the collector sees until the item is made
            }
            for (size_t i = 0; i < count; i++) {
                t->items[i] = get_value(r, depth + 1);
            }
            return tuple;
        }
        case K5_IMAGE_MODULE:
            return import(get_name(r), MP_QSTR___name__);
        case K5_IMAGE_FUNCTION: {
            // Its defaults and cells may hold functions: K5_IMAGE_DEPTH of them inside each
            // other at most, as the packer makes them (each part a value of its own depth).
            if (r->functions >= K5_IMAGE_DEPTH) {
                damaged("has functions nested too deep");
            }
            r->functions++;
            mp_obj_t fun = get_function(r);
            r->functions--;
            return fun;
        }
        case K5_IMAGE_ATTR: {
            qstr module = get_name(r);
            qstr name = get_name(r);
            return mp_load_attr(import(module, name), name);
        }
        case K5_IMAGE_UNSHARED: {
            // A stand-in that raises when used (k5.image.Unshared): only then is k5.image
            // imported in the task.
            mp_obj_t args[2];
            args[0] = get_text(r);
            args[1] = get_text(r);
            mp_obj_t type = mp_load_attr(import(qstr_from_str("k5.image"), MP_QSTR_Unshared),
                MP_QSTR_Unshared);
            return mp_call_function_n_kw(type, 2, 0, args);
        }
        default:
            damaged("has an unknown tag");
    }
}

// (body, arg) of the image's len bytes at data, made in the running interpreter; the body's
// globals become the interpreter's globals (exec and eval at its top level write there).
void k5image_unpack(const byte *data, size_t len, mp_obj_t *body, mp_obj_t *arg) {
    if (len < sizeof(magic) || memcmp(data, magic, sizeof(magic)) != 0) {
        damaged("is not a task's image");
    }
    reader_t r = { data + sizeof(magic), data + len, mp_obj_new_dict(0), 0 };
    mp_obj_dict_store(r.globals, MP_OBJ_NEW_QSTR(MP_QSTR___name__),
        MP_OBJ_NEW_QSTR(MP_QSTR___main__));
    // The globals: a tuple of (name, value) pairs, each value as deep as the packer allows.
    if (get_byte(&r) != K5_IMAGE_TUPLE) {
        damaged("has no globals");
    }
    for (size_t n = get_varint(&r); n > 0; n--) {
        if (get_byte(&r) != K5_IMAGE_TUPLE || get_varint(&r) != 2
            || get_byte(&r) != K5_IMAGE_STR) {
            damaged("has globals that are not (name, value) pairs");
        }
        mp_obj_t name = get_text(&r);
        mp_obj_dict_store(r.globals, name, get_value(&r, 0));
    }
    *body = get_value(&r, 0);
    *arg = get_value(&r, 0);
    if (r.at != r.end) {
        damaged("has bytes after its end");
    }
}
