// The syscall wire (k5/wire.py says the format): a task's request crosses into the kernel as
// bytes, never as an object.
//
// Why it is built this way: a request used to be a tuple the task built, which the kernel's
// Python read on its privileged thread. An object a task builds is the task's to shape: crafted
// bytecode makes a tuple whose length lies or whose items point anywhere, and a value's methods
// are the task's code. So the task's side (k5wire_encode, running in the task, unprivileged)
// writes what it asks for into a buffer on its own stack, and the kernel's side (k5wire_decode,
// on the kernel's thread) reads those bytes only after checking that they, and every range they
// name, lie in memory the task maps, and builds the request again from objects of its own. What
// the decoder makes is all the kernel's Python ever sees of a request.
#include <string.h>
#include "py/mpz.h"
#include "py/objint.h"
#include "py/objstr.h"
#include "py/objtuple.h"
#include "py/runtime.h"
#include "py/smallint.h"
#include "py/unicode.h"
#include "k5arch.h"

// --- The task's side -----------------------------------------------------------------------------

typedef struct {
    uint8_t *start;
    size_t at;
} wire_out_t;

static bool put_bytes(wire_out_t *out, const void *data, size_t len) {
    if (out->at + len > K5_WIRE_MAX) {
        return false;
    }
    memcpy(out->start + out->at, data, len);
    out->at += len;
    return true;
}

static bool put_tag(wire_out_t *out, uint8_t tag) {
    return put_bytes(out, &tag, 1);
}

static bool put_tag_u32(wire_out_t *out, uint8_t tag, uint32_t value) {
    return put_tag(out, tag) && put_bytes(out, &value, 4);
}

static bool put_ref(wire_out_t *out, uint8_t tag, const void *where, size_t len) {
    uint32_t pair[2] = { (uint32_t)where, (uint32_t)len };
    return put_tag(out, tag) && put_bytes(out, pair, 8);
}

// A big int's value as a signed 64-bit number, saturated (an mpz read digit by digit).
static int64_t big_value(mp_const_obj_t obj) {
    const mpz_t *z = &((const mp_obj_int_t *)MP_OBJ_TO_PTR(obj))->mpz;
    uint64_t magnitude = 0;
    bool over = z->len * MPZ_DIG_SIZE > 64;
    for (size_t k = z->len; !over && k-- > 0;) {
        magnitude = (magnitude << MPZ_DIG_SIZE) | z->dig[k];
    }
    if (z->neg) {
        return over || magnitude > (uint64_t)INT64_MAX + 1 ? INT64_MIN : (int64_t)(0 - magnitude);
    }
    return over || magnitude > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)magnitude;
}

static bool put_value(wire_out_t *out, mp_obj_t value, int depth);

static bool put_items(wire_out_t *out, uint8_t tag, size_t n, const mp_obj_t *items, int depth) {
    if (n > 255) {
        return put_tag(out, K5_WIRE_FOREIGN);
    }
    uint8_t head[2] = { tag, (uint8_t)n };
    if (!put_bytes(out, head, 2)) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        mp_obj_t item = items[i];
        // The common items (small ints, None) written here: a request is mostly these.
        if (mp_obj_is_small_int(item) && out->at + 5 <= K5_WIRE_MAX) {
            uint8_t *at = out->start + out->at;
            int32_t value = MP_OBJ_SMALL_INT_VALUE(item);
            at[0] = K5_WIRE_INT;
            memcpy(at + 1, &value, 4);
            out->at += 5;
        } else if (item == mp_const_none && out->at < K5_WIRE_MAX) {
            out->start[out->at++] = K5_WIRE_NONE;
        } else if (!put_value(out, item, depth + 1)) {
            return false;
        }
    }
    return true;
}

static bool put_dict(wire_out_t *out, mp_obj_t value, int depth) {
    mp_map_t *map = mp_obj_dict_get_map(value);
    if (map->used > 255) {
        return put_tag(out, K5_WIRE_FOREIGN);
    }
    uint8_t head[2] = { K5_WIRE_DICT, (uint8_t)map->used };
    if (!put_bytes(out, head, 2)) {
        return false;
    }
    for (size_t i = 0; i < map->alloc; i++) {
        if (mp_map_slot_is_filled(map, i)) {
            if (!put_value(out, map->table[i].key, depth + 1)
                || !put_value(out, map->table[i].value, depth + 1)) {
                return false;
            }
        }
    }
    return true;
}

// Appends value's encoding; false when it does not fit (the caller puts FOREIGN in its place).
// Runs in the task: whatever the value is, only the task is at stake here.
static bool put_value_once(wire_out_t *out, mp_obj_t value, int depth) {
    if (value == mp_const_none) {
        return put_tag(out, K5_WIRE_NONE);
    }
    if (value == mp_const_false || value == mp_const_true) {
        return put_tag(out, value == mp_const_true ? K5_WIRE_TRUE : K5_WIRE_FALSE);
    }
    if (mp_obj_is_small_int(value)) {
        return put_tag_u32(out, K5_WIRE_INT, (uint32_t)MP_OBJ_SMALL_INT_VALUE(value));
    }
    if (mp_obj_is_exact_type(value, &mp_type_int)) {
        int64_t big = big_value(value);
        if (big >= INT32_MIN && big <= INT32_MAX) {
            return put_tag_u32(out, K5_WIRE_INT, (uint32_t)big);
        }
        return put_tag(out, K5_WIRE_BIG) && put_bytes(out, &big, 8);
    }
    #if MICROPY_PY_BUILTINS_FLOAT
    if (mp_obj_is_exact_type(value, &mp_type_float)) {
        double real = mp_obj_float_get(value);
        return put_tag(out, K5_WIRE_FLOAT) && put_bytes(out, &real, 8);
    }
    #endif
    if (mp_obj_is_str(value)) { // a qstr or an exact str
        size_t len;
        const char *data = mp_obj_str_get_data(value, &len);
        return put_ref(out, K5_WIRE_STR, data, len);
    }
    if (mp_obj_is_exact_type(value, &mp_type_bytes) || mp_obj_is_exact_type(value, &mp_type_bytearray)
        || mp_obj_is_exact_type(value, &mp_type_memoryview)) {
        mp_buffer_info_t info;
        if (mp_get_buffer(value, &info, MP_BUFFER_WRITE)
            && !mp_obj_is_exact_type(value, &mp_type_bytes)) {
            return put_ref(out, K5_WIRE_BUFFER, info.buf, info.len);
        }
        mp_get_buffer_raise(value, &info, MP_BUFFER_READ);
        return put_ref(out, K5_WIRE_BYTES, info.buf, info.len);
    }
    if (depth < K5_WIRE_DEPTH) {
        if (mp_obj_is_exact_type(value, &mp_type_tuple) || mp_obj_is_exact_type(value, &mp_type_list)) {
            size_t n;
            mp_obj_t *items;
            mp_obj_get_array(value, &n, &items);
            uint8_t tag = mp_obj_is_exact_type(value, &mp_type_tuple) ? K5_WIRE_TUPLE : K5_WIRE_LIST;
            return put_items(out, tag, n, items, depth);
        }
        if (mp_obj_is_exact_type(value, &mp_type_dict)) {
            return put_dict(out, value, depth);
        }
    }
    return put_tag(out, K5_WIRE_FOREIGN); // a function too: a body crosses as an image
}

// A value that does not fit is FOREIGN in its place, if that fits (k5/wire.py does the same).
static bool put_value(wire_out_t *out, mp_obj_t value, int depth) {
    size_t at = out->at;
    if (put_value_once(out, value, depth)) {
        return true;
    }
    out->at = at;
    return put_tag(out, K5_WIRE_FOREIGN);
}

size_t k5wire_encode(uint8_t *buf, mp_obj_t request) {
    wire_out_t out = { buf, 0 };
    put_value(&out, request, 0);
    return out.at;
}

size_t k5wire_encode_args(uint8_t *buf, size_t n, const mp_obj_t *args) {
    wire_out_t out = { buf, 0 };
    if (!put_items(&out, K5_WIRE_TUPLE, n, args, 0)) {
        out.at = 0;
        put_tag(&out, K5_WIRE_FOREIGN);
    }
    return out.at;
}

size_t k5wire_encode_pair(uint8_t *buf, mp_int_t first, mp_int_t second) {
    mp_obj_t args[2] = { MP_OBJ_NEW_SMALL_INT(first), MP_OBJ_NEW_SMALL_INT(second) };
    return k5wire_encode_args(buf, 2, args);
}

// --- The kernel's side ---------------------------------------------------------------------------

typedef struct {
    const uint8_t *raw;
    size_t len;
    size_t at;
    k5_ctx_t *ctx;
    bool no_cache; // not made of small ints, None, bools, FOREIGN and tuples only: a STR,
                   // BYTES or BUFFER (the same bytes may mean new values), a LIST or
                   // DICT (mutable), a big int or a float: not a value to serve again
} wire_in_t;

static bool get_bytes(wire_in_t *in, void *into, size_t len) {
    if (len > in->len - in->at) {
        return false;
    }
    memcpy(into, in->raw + in->at, len);
    in->at += len;
    return true;
}

// The length of a scalar's body after its tag (requests and answers alike), or -1 for a tag
// that is no scalar's.
static int scalar_size(uint8_t tag) {
    switch (tag) {
        case K5_WIRE_NONE:
        case K5_WIRE_FALSE:
        case K5_WIRE_TRUE:
            return 0;
        case K5_WIRE_INT:
            return 4;
        case K5_WIRE_BIG:
        #if MICROPY_PY_BUILTINS_FLOAT
        case K5_WIRE_FLOAT:
        #endif
            return 8;
        default:
            return -1;
    }
}

// The scalar a tag and its body (scalar_size(tag) bytes at body) encode.
static mp_obj_t scalar_value(uint8_t tag, const uint8_t *body) {
    switch (tag) {
        case K5_WIRE_NONE:
            return mp_const_none;
        case K5_WIRE_FALSE:
            return mp_const_false;
        case K5_WIRE_TRUE:
            return mp_const_true;
        case K5_WIRE_INT: {
            int32_t value;
            memcpy(&value, body, 4);
            return mp_obj_new_int(value);
        }
        #if MICROPY_PY_BUILTINS_FLOAT
        case K5_WIRE_FLOAT: {
            double value;
            memcpy(&value, body, 8);
            return mp_obj_new_float((mp_float_t)value);
        }
        #endif
        default: { // K5_WIRE_BIG
            int64_t value;
            memcpy(&value, body, 8);
            return mp_obj_new_int_from_ll(value);
        }
    }
}

// A new tuple (TUPLE) or list of count items, zeroed (MP_OBJ_NULL, which the collector skips),
// for a decoder to fill; *items its item array. Requests and answers alike.
static mp_obj_t new_sequence(uint8_t tag, size_t count, mp_obj_t **items) {
    mp_obj_t seq = tag == K5_WIRE_TUPLE ? mp_obj_new_tuple(count, NULL)
        : mp_obj_new_list(count, NULL);
    size_t n;
    mp_obj_get_array(seq, &n, items);
    return seq;
}

// The request's value at in->at, or MP_OBJ_NULL when the bytes do not decode. Allocates from
// the kernel's heap only (MemoryError is the trap loop's to catch).
static mp_obj_t get_value(wire_in_t *in, int depth) {
    uint8_t tag;
    if (!get_bytes(in, &tag, 1)) {
        return MP_OBJ_NULL;
    }
    int size = scalar_size(tag);
    if (size >= 0) {
        if ((size_t)size > in->len - in->at) {
            return MP_OBJ_NULL;
        }
        mp_obj_t value = scalar_value(tag, in->raw + in->at);
        in->at += size;
        // Not a value to serve again: a big int or a float (new objects each time).
        in->no_cache |= size == 8 || (tag == K5_WIRE_INT && !mp_obj_is_small_int(value));
        return value;
    }
    switch (tag) {
        case K5_WIRE_STR:
        case K5_WIRE_BYTES:
        case K5_WIRE_BUFFER: {
            in->no_cache = true;
            uint32_t pair[2];
            if (!get_bytes(in, pair, 8)) {
                return MP_OBJ_NULL;
            }
            if (tag == K5_WIRE_BUFFER) {
                if (!k5arch_task_may_write(in->ctx, pair[0], pair[1])) {
                    return MP_OBJ_NULL;
                }
                return mp_obj_new_memoryview('B' | MP_OBJ_ARRAY_TYPECODE_FLAG_RW, pair[1],
                    (void *)pair[0]);
            }
            if (!k5arch_task_may_read(in->ctx, pair[0], pair[1])) {
                return MP_OBJ_NULL;
            }
            const char *data = (const char *)pair[0];
            if (tag == K5_WIRE_BYTES) {
                return mp_obj_new_bytes((const byte *)data, pair[1]);
            }
            if (!utf8_check((const byte *)data, pair[1])) {
                return MP_OBJ_FROM_PTR(&k5wire_foreign_obj); // not text: what the wire cannot carry
            }
            return mp_obj_new_str(data, pair[1]);
        }
        case K5_WIRE_TUPLE:
        case K5_WIRE_LIST:
        case K5_WIRE_DICT: {
            uint8_t count;
            if (depth >= K5_WIRE_DEPTH || !get_bytes(in, &count, 1)) {
                return MP_OBJ_NULL;
            }
            in->no_cache |= tag != K5_WIRE_TUPLE;
            if (tag == K5_WIRE_DICT) {
                mp_obj_t dict = mp_obj_new_dict(count);
                bool plain = true;
                for (size_t i = 0; i < count; i++) {
                    mp_obj_t key = get_value(in, depth + 1);
                    mp_obj_t item = key == MP_OBJ_NULL ? MP_OBJ_NULL : get_value(in, depth + 1);
                    if (item == MP_OBJ_NULL) {
                        return MP_OBJ_NULL;
                    }
                    // Only str keys: hashing anything else could mean running code.
                    if (!mp_obj_is_str(key)) {
                        plain = false;
                    } else if (plain) {
                        mp_obj_dict_store(dict, key, item);
                    }
                }
                return plain ? dict : MP_OBJ_FROM_PTR(&k5wire_foreign_obj);
            }
            mp_obj_t *items;
            mp_obj_t seq = new_sequence(tag, count, &items);
            for (size_t i = 0; i < count; i++) {
                items[i] = get_value(in, depth + 1);
                if (items[i] == MP_OBJ_NULL) {
                    return MP_OBJ_NULL;
                }
            }
            return seq;
        }
        case K5_WIRE_FOREIGN:
            return MP_OBJ_FROM_PTR(&k5wire_foreign_obj);
        default:
            return MP_OBJ_NULL;
    }
}

static bool skip(wire_in_t *in, size_t len) {
    if (len > in->len - in->at) {
        return false;
    }
    in->at += len;
    return true;
}

// Whether the bytes at in->at are one value's encoding, read without allocating or reading
// anything they name: so bytes that claim big containers and then end cost the kernel's heap
// nothing (get_value makes each container before its items), and what does decode allocates
// in proportion to its bytes.
static bool well_formed(wire_in_t *in, int depth) {
    uint8_t tag;
    if (!get_bytes(in, &tag, 1)) {
        return false;
    }
    switch (tag) {
        case K5_WIRE_NONE:
        case K5_WIRE_FALSE:
        case K5_WIRE_TRUE:
        case K5_WIRE_FOREIGN:
            return true;
        case K5_WIRE_INT:
            return skip(in, 4);
        case K5_WIRE_BIG:
        #if MICROPY_PY_BUILTINS_FLOAT
        case K5_WIRE_FLOAT:
        #endif
        case K5_WIRE_STR:
        case K5_WIRE_BYTES:
        case K5_WIRE_BUFFER:
            return skip(in, 8);
        case K5_WIRE_TUPLE:
        case K5_WIRE_LIST:
        case K5_WIRE_DICT: {
            uint8_t count;
            if (depth >= K5_WIRE_DEPTH || !get_bytes(in, &count, 1)) {
                return false;
            }
            size_t items = tag == K5_WIRE_DICT ? 2 * (size_t)count : count;
            for (size_t i = 0; i < items; i++) {
                if (!well_formed(in, depth + 1)) {
                    return false;
                }
            }
            return true;
        }
        default:
            return false;
    }
}

// The hot requests (IPC, signals, waits, yield, sleep, now) decode into two scratch tuples, the
// request and its words, made once: a round trip allocates nothing in the kernel. What the
// kernel keeps of a request beyond its trap is only a blocked sender's words, which it copies
// before the sender blocks (k5/ipc.py, do_send); so the next trap, of any task, may reuse them.
MP_REGISTER_ROOT_POINTER(mp_obj_t k5_wire_scratch[2]);

void k5wire_reset(void) {
    MP_STATE_VM(k5_wire_scratch)[0] = MP_OBJ_NULL;
    MP_STATE_VM(k5_wire_scratch)[1] = MP_OBJ_NULL;
}

static bool hot(int32_t sysno) {
    switch (sysno) {
        case K5_SYS_SEND:
        case K5_SYS_NBSEND:
        case K5_SYS_RECV:
        case K5_SYS_NBRECV:
        case K5_SYS_CALL:
        case K5_SYS_REPLY:
        case K5_SYS_REPLY_RECV:
        case K5_SYS_SIGNAL:
        case K5_SYS_WAIT:
        case K5_SYS_POLL:
        case K5_SYS_YIELD:
        case K5_SYS_SLEEP:
        case K5_SYS_NOW:
            return true;
        default:
            return false;
    }
}

static bool get_small(wire_in_t *in, mp_obj_t *into) {
    uint8_t tag;
    int32_t value;
    if (!get_bytes(in, &tag, 1) || tag != K5_WIRE_INT || !get_bytes(in, &value, 4)
        || !MP_SMALL_INT_FITS((mp_int_t)value)) {
        return false;
    }
    *into = MP_OBJ_NEW_SMALL_INT(value);
    return true;
}

// (hot sysno, small ints and Nones, at most one tuple of at most MSG_MAX_WORDS small ints) into
// the scratch tuples; MP_OBJ_NULL when the bytes are anything else (the general decoder's).
static mp_obj_t decode_scratch(wire_in_t *in) {
    const uint8_t *raw = in->raw;
    if (in->len < 7 || raw[0] != K5_WIRE_TUPLE || raw[1] > 9 || raw[2] != K5_WIRE_INT) {
        return MP_OBJ_NULL;
    }
    int32_t sysno;
    memcpy(&sysno, raw + 3, 4);
    if (!hot(sysno)) {
        return MP_OBJ_NULL;
    }
    mp_obj_t *scratch = MP_STATE_VM(k5_wire_scratch);
    if (scratch[1] == MP_OBJ_NULL) {
        // Both made before either is kept: a MemoryError between them would leave a request
        // tuple without its words tuple, which the next trap would write through.
        mp_obj_t request = mp_obj_new_tuple(9, NULL);
        mp_obj_t words = mp_obj_new_tuple(K5_MSG_MAX_WORDS, NULL);
        scratch[0] = request;
        scratch[1] = words;
    }
    mp_obj_tuple_t *request = MP_OBJ_TO_PTR(scratch[0]);
    mp_obj_tuple_t *words = MP_OBJ_TO_PTR(scratch[1]);
    size_t count = raw[1];
    bool had_words = false;
    in->at = 2;
    for (size_t i = 0; i < count; i++) {
        uint8_t tag = in->at < in->len ? raw[in->at] : 0xff;
        if (tag == K5_WIRE_NONE) {
            in->at++;
            request->items[i] = mp_const_none;
        } else if (tag == K5_WIRE_TUPLE && !had_words && in->at + 1 < in->len
                   && raw[in->at + 1] <= K5_MSG_MAX_WORDS) {
            size_t n = raw[in->at + 1];
            in->at += 2;
            for (size_t j = 0; j < n; j++) {
                if (!get_small(in, &words->items[j])) {
                    return MP_OBJ_NULL;
                }
            }
            words->len = n;
            request->items[i] = MP_OBJ_FROM_PTR(words);
            had_words = true;
        } else if (!get_small(in, &request->items[i])) {
            return MP_OBJ_NULL;
        }
    }
    if (in->at != in->len) {
        return MP_OBJ_NULL;
    }
    request->len = count;
    return MP_OBJ_FROM_PTR(request);
}

// Whether the bytes at in->at encode exactly `value`, a request decoded before that is made of
// small ints, None, bools, FOREIGN and tuples only. Allocates nothing.
static bool matches(wire_in_t *in, mp_obj_t value) {
    uint8_t tag;
    if (!get_bytes(in, &tag, 1)) {
        return false;
    }
    switch (tag) {
        case K5_WIRE_NONE:
            return value == mp_const_none;
        case K5_WIRE_FALSE:
            return value == mp_const_false;
        case K5_WIRE_TRUE:
            return value == mp_const_true;
        case K5_WIRE_FOREIGN:
            return value == MP_OBJ_FROM_PTR(&k5wire_foreign_obj);
        case K5_WIRE_INT: {
            int32_t word;
            return get_bytes(in, &word, 4) && mp_obj_is_small_int(value)
                   && MP_OBJ_SMALL_INT_VALUE(value) == word;
        }
        case K5_WIRE_TUPLE: {
            uint8_t count;
            if (!get_bytes(in, &count, 1) || !mp_obj_is_exact_type(value, &mp_type_tuple)) {
                return false;
            }
            const mp_obj_tuple_t *tuple = MP_OBJ_TO_PTR(value);
            if (tuple->len != count) {
                return false;
            }
            for (size_t i = 0; i < count; i++) {
                if (!matches(in, tuple->items[i])) {
                    return false;
                }
            }
            return true;
        }
        default:
            return false;
    }
}

// The same bytes of small ints, None, bools and tuples decode to the same immutable values, so
// the kernel's copy of a task's last such request serves the next that matches it: a loop of
// the same call allocates nothing in the kernel, as it allocates nothing in the task, whose HAL
// encodes on its stack.
mp_obj_t k5wire_decode(k5_ctx_t *ctx, uint32_t addr, uint32_t len) {
    // The request itself is on the task's own stack (its HAL puts it there).
    if (len == 0 || len > K5_WIRE_MAX || !k5arch_task_stack_holds(ctx, addr, len)) {
        return MP_OBJ_NULL;
    }
    const uint8_t *raw = (const uint8_t *)addr;
    wire_in_t hot_in = { raw, len, 0, ctx, false };
    mp_obj_t request = decode_scratch(&hot_in);
    if (request != MP_OBJ_NULL) {
        return request;
    }
    if (ctx->decoded != MP_OBJ_NULL) {
        wire_in_t again = { raw, len, 0, ctx, false };
        if (matches(&again, ctx->decoded) && again.at == len) {
            return ctx->decoded;
        }
    }
    wire_in_t shape = { raw, len, 0, ctx, false };
    if (!well_formed(&shape, 0) || shape.at != len) {
        return MP_OBJ_NULL;
    }
    wire_in_t in = { raw, len, 0, ctx, false };
    mp_obj_t value = get_value(&in, 0);
    if (in.at != len) {
        return MP_OBJ_NULL;
    }
    ctx->decoded = value != MP_OBJ_NULL && !in.no_cache ? value : MP_OBJ_NULL;
    return value;
}

// FOREIGN: a value the wire does not carry; it fails every type check the kernel makes.
static void foreign_print(const mp_print_t *print, mp_obj_t self, mp_print_kind_t kind) {
    mp_print_str(print, "<foreign value>");
}

MP_DEFINE_CONST_OBJ_TYPE(
    k5wire_foreign_type,
    MP_QSTR_Foreign,
    MP_TYPE_FLAG_NONE,
    print, foreign_print
    );

const mp_obj_base_t k5wire_foreign_obj = { &k5wire_foreign_type };

// --- The builder's answers (k5/wire.py says the format) -----------------------------------------
// The kernel writes its answer to the root's builder into a buffer of the root's, and the root
// makes objects of its own from those bytes: the kernel hands it no object. The encoder walks
// the kernel's own value (so nothing of a task's is read) and allocates nothing: an answer as
// big as k5.tasks() costs the kernel's heap no garbage. It counts what it does not write, so
// the caller learns the length of an answer that does not fit.

typedef struct {
    uint8_t *start;
    size_t room;
    size_t at;
} answer_out_t;

static void answer_bytes(answer_out_t *out, const void *data, size_t len) {
    if (out->at + len <= out->room) {
        memcpy(out->start + out->at, data, len);
    }
    out->at += len;
}

static void answer_tag_u32(answer_out_t *out, uint8_t tag, uint32_t value) {
    answer_bytes(out, &tag, 1);
    answer_bytes(out, &value, 4);
}

static bool answer_value(answer_out_t *out, mp_obj_t value, int depth) {
    uint8_t tag;
    if (value == mp_const_none || value == mp_const_false || value == mp_const_true) {
        tag = value == mp_const_none ? K5_WIRE_NONE
            : value == mp_const_true ? K5_WIRE_TRUE : K5_WIRE_FALSE;
        answer_bytes(out, &tag, 1);
    } else if (mp_obj_is_small_int(value)) {
        answer_tag_u32(out, K5_WIRE_INT, (uint32_t)MP_OBJ_SMALL_INT_VALUE(value));
    } else if (mp_obj_is_exact_type(value, &mp_type_int)) {
        int64_t big = big_value(value);
        if (big == INT64_MAX || big == INT64_MIN) {
            return false; // 64 bits or more (saturated): no answer carries it
        }
        tag = K5_WIRE_BIG;
        answer_bytes(out, &tag, 1);
        answer_bytes(out, &big, 8);
    #if MICROPY_PY_BUILTINS_FLOAT
    } else if (mp_obj_is_exact_type(value, &mp_type_float)) {
        double real = mp_obj_float_get(value);
        tag = K5_WIRE_FLOAT;
        answer_bytes(out, &tag, 1);
        answer_bytes(out, &real, 8);
    #endif
    } else if (mp_obj_is_str(value) || mp_obj_is_exact_type(value, &mp_type_bytes)) {
        size_t len;
        const char *data = mp_obj_str_get_data(value, &len);
        answer_tag_u32(out, mp_obj_is_str(value) ? K5_WIRE_STR : K5_WIRE_BYTES, len);
        answer_bytes(out, data, len);
    } else if (depth >= K5_WIRE_DEPTH) {
        return false;
    } else if (mp_obj_is_exact_type(value, &mp_type_tuple)
               || mp_obj_is_exact_type(value, &mp_type_list)) {
        size_t n;
        mp_obj_t *items;
        mp_obj_get_array(value, &n, &items);
        answer_tag_u32(out, mp_obj_is_exact_type(value, &mp_type_tuple) ? K5_WIRE_TUPLE
            : K5_WIRE_LIST, n);
        for (size_t i = 0; i < n; i++) {
            if (!answer_value(out, items[i], depth + 1)) {
                return false;
            }
        }
    } else if (mp_obj_is_exact_type(value, &mp_type_dict)) {
        mp_map_t *map = mp_obj_dict_get_map(value);
        answer_tag_u32(out, K5_WIRE_DICT, map->used);
        for (size_t i = 0; i < map->alloc; i++) {
            if (mp_map_slot_is_filled(map, i)
                && (!answer_value(out, map->table[i].key, depth + 1)
                    || !answer_value(out, map->table[i].value, depth + 1))) {
                return false;
            }
        }
    } else {
        return false;
    }
    return true;
}

mp_int_t k5wire_write_answer(uint8_t *buf, size_t len, mp_obj_t value) {
    answer_out_t out = { buf + K5_ANSWER_HEAD, len < K5_ANSWER_HEAD ? 0 : len - K5_ANSWER_HEAD, 0 };
    if (!answer_value(&out, value, 0)) {
        return -1;
    }
    if (len >= K5_ANSWER_HEAD) {
        uint32_t size = out.at;
        memcpy(buf, &size, K5_ANSWER_HEAD);
    }
    return out.at;
}

// The root's side: decoding its own buffer, in its own time and heap.
typedef struct {
    const uint8_t *raw;
    size_t len;
    size_t at;
} answer_in_t;

static NORETURN void answer_bad(void) {
    mp_raise_ValueError(MP_ERROR_TEXT("K5: the answer's bytes do not decode"));
}

static void answer_get(answer_in_t *in, void *into, size_t len) {
    if (len > in->len - in->at) {
        answer_bad();
    }
    memcpy(into, in->raw + in->at, len);
    in->at += len;
}

static mp_obj_t answer_read(answer_in_t *in, int depth) {
    uint8_t tag;
    answer_get(in, &tag, 1);
    int size = scalar_size(tag);
    if (size >= 0) {
        if ((size_t)size > in->len - in->at) {
            answer_bad();
        }
        in->at += size;
        return scalar_value(tag, in->raw + in->at - size);
    }
    switch (tag) {
        case K5_WIRE_STR:
        case K5_WIRE_BYTES: {
            uint32_t len;
            answer_get(in, &len, 4);
            if (len > in->len - in->at) {
                answer_bad();
            }
            const char *data = (const char *)in->raw + in->at;
            in->at += len;
            if (tag == K5_WIRE_BYTES) {
                return mp_obj_new_bytes((const byte *)data, len);
            }
            if (!utf8_check((const byte *)data, len)) {
                answer_bad();
            }
            return mp_obj_new_str(data, len);
        }
        case K5_WIRE_TUPLE:
        case K5_WIRE_LIST:
        case K5_WIRE_DICT: {
            uint32_t count;
            answer_get(in, &count, 4);
            // Every item takes a byte at least: a count beyond the bytes left is a lie.
            if (depth >= K5_WIRE_DEPTH || count > in->len - in->at) {
                answer_bad();
            }
            if (tag == K5_WIRE_DICT) {
                mp_obj_t dict = mp_obj_new_dict(count);
                for (size_t i = 0; i < count; i++) {
                    mp_obj_t key = answer_read(in, depth + 1);
                    mp_obj_dict_store(dict, key, answer_read(in, depth + 1));
                }
                return dict;
            }
            mp_obj_t *items;
            mp_obj_t seq = new_sequence(tag, count, &items);
            for (size_t i = 0; i < count; i++) {
                items[i] = answer_read(in, depth + 1);
            }
            return seq;
        }
        default:
            answer_bad();
    }
}

mp_obj_t k5wire_read_answer(const uint8_t *buf, size_t len) {
    uint32_t size;
    if (len < K5_ANSWER_HEAD) {
        answer_bad();
    }
    memcpy(&size, buf, K5_ANSWER_HEAD);
    if (size > len - K5_ANSWER_HEAD) {
        answer_bad();
    }
    answer_in_t in = { buf + K5_ANSWER_HEAD, size, 0 };
    mp_obj_t value = answer_read(&in, 0);
    if (in.at != size) {
        answer_bad();
    }
    return value;
}
