// The IPC buffer in raw memory: where the kernel writes what a task receives (k5/ipcbuf.py is
// the host's).
//
// Why it is built this way: a received message used to land in an IpcBuffer object that the
// kernel made and the task held, so the kernel wrote into an object the task could reach and
// the task read an object of the kernel's heap. Now each context has K5_IPC_BUFFER_SIZE bytes
// at the top of its own stack block (above the stack, which grows down from below it, so an
// overflow never reaches it), and two views of it: the kernel's (made by Arch.ipc_buffer, in
// the kernel's heap) and the task's (made by the task at its start, in its own). Both are this
// type; neither is ever handed to the other side. The views' words and data are memoryviews of
// the raw words and bytes, made once with the view, so a receive allocates nothing.
//
// Layout (little-endian 32-bit words): label, badge, count, length, cap, source, unwrapped, a
// spare word, then MSG_MAX_WORDS words, then MSG_MAX_BYTES bytes of payload.
#include <string.h>
#include "py/objarray.h"
#include "py/objtuple.h"
#include "py/runtime.h"
#include "k5arch.h"

enum { F_LABEL, F_BADGE, F_COUNT, F_LENGTH, F_CAP, F_SOURCE, F_UNWRAPPED, F_SPARE, F_FIELDS };

typedef struct _k5_ipcbuf_obj_t {
    mp_obj_base_t base;
    int32_t *raw;      // F_FIELDS words, then the words, then the payload
    mp_obj_t words;    // memoryview('i') of the words
    mp_obj_t data;     // memoryview('B') of the payload
} k5_ipcbuf_obj_t;

static const qstr field_names[F_SPARE] = {
    MP_QSTR_label, MP_QSTR_badge, MP_QSTR_count, MP_QSTR_length, MP_QSTR_cap, MP_QSTR_source,
    MP_QSTR_unwrapped,
};

void k5_ipcbuf_clear(uint8_t *raw) {
    int32_t *fields = (int32_t *)raw;
    memset(raw, 0, K5_IPC_BUFFER_SIZE);
    fields[F_CAP] = K5_NO_SLOT;
    fields[F_SOURCE] = K5_SOURCE_ENDPOINT;
    fields[F_UNWRAPPED] = -1;
}

mp_obj_t k5_ipcbuf_new(uint8_t *raw) {
    k5_ipcbuf_obj_t *self = mp_obj_malloc(k5_ipcbuf_obj_t, &k5_ipcbuf_type);
    self->raw = (int32_t *)raw;
    self->words = mp_obj_new_memoryview('i' | MP_OBJ_ARRAY_TYPECODE_FLAG_RW, K5_MSG_MAX_WORDS,
        raw + F_FIELDS * 4);
    self->data = mp_obj_new_memoryview('B' | MP_OBJ_ARRAY_TYPECODE_FLAG_RW, K5_MSG_MAX_BYTES,
        raw + (F_FIELDS + K5_MSG_MAX_WORDS) * 4);
    return MP_OBJ_FROM_PTR(self);
}

// The kernel's store of a received message (the C fast path's): label, badge and words, no
// payload, no cap.
void k5_ipcbuf_put(mp_obj_t ipc, mp_int_t label, mp_int_t badge, size_t count,
    const mp_obj_t *words) {
    int32_t *raw = ((k5_ipcbuf_obj_t *)MP_OBJ_TO_PTR(ipc))->raw;
    raw[F_LABEL] = label;
    raw[F_BADGE] = badge;
    raw[F_COUNT] = count;
    for (size_t i = 0; i < count; i++) {
        raw[F_FIELDS + i] = MP_OBJ_SMALL_INT_VALUE(words[i]);
    }
    raw[F_LENGTH] = 0;
    raw[F_SOURCE] = K5_SOURCE_ENDPOINT;
    raw[F_CAP] = K5_NO_SLOT;
    raw[F_UNWRAPPED] = -1;
}

static size_t clamp(int32_t value, size_t max) {
    return value < 0 ? 0 : (size_t)value > max ? max : (size_t)value;
}

// word(i): ipc.words[i].
static mp_obj_t ipcbuf_word(mp_obj_t self_in, mp_obj_t index) {
    k5_ipcbuf_obj_t *self = MP_OBJ_TO_PTR(self_in);
    mp_int_t i = mp_obj_get_int(index);
    if (i < 0 || i >= K5_MSG_MAX_WORDS) {
        mp_raise_type(&mp_type_IndexError);
    }
    return mp_obj_new_int(self->raw[F_FIELDS + i]);
}
static MP_DEFINE_CONST_FUN_OBJ_2(ipcbuf_word_obj, ipcbuf_word);

// word_tuple(): the received words, count of them.
static mp_obj_t ipcbuf_word_tuple(mp_obj_t self_in) {
    k5_ipcbuf_obj_t *self = MP_OBJ_TO_PTR(self_in);
    size_t count = clamp(self->raw[F_COUNT], K5_MSG_MAX_WORDS);
    mp_obj_tuple_t *tuple = MP_OBJ_TO_PTR(mp_obj_new_tuple(count, NULL));
    for (size_t i = 0; i < count; i++) {
        tuple->items[i] = mp_obj_new_int(self->raw[F_FIELDS + i]);
    }
    return MP_OBJ_FROM_PTR(tuple);
}
static MP_DEFINE_CONST_FUN_OBJ_1(ipcbuf_word_tuple_obj, ipcbuf_word_tuple);

// payload(): a fresh bytes copy of the received payload.
static mp_obj_t ipcbuf_payload(mp_obj_t self_in) {
    k5_ipcbuf_obj_t *self = MP_OBJ_TO_PTR(self_in);
    size_t length = clamp(self->raw[F_LENGTH], K5_MSG_MAX_BYTES);
    return mp_obj_new_bytes((const byte *)(self->raw + F_FIELDS + K5_MSG_MAX_WORDS), length);
}
static MP_DEFINE_CONST_FUN_OBJ_1(ipcbuf_payload_obj, ipcbuf_payload);

// check_invariants(): as k5/ipcbuf.py's (the task may scribble on its own buffer; the kernel's
// writes keep them).
static mp_obj_t ipcbuf_check_invariants(mp_obj_t self_in) {
    k5_ipcbuf_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (clamp(self->raw[F_COUNT], K5_MSG_MAX_WORDS) != (size_t)self->raw[F_COUNT]
        || clamp(self->raw[F_LENGTH], K5_MSG_MAX_BYTES) != (size_t)self->raw[F_LENGTH]) {
        mp_raise_msg(&mp_type_AssertionError, MP_ERROR_TEXT("IPC buffer count out of range"));
    }
    return mp_const_true;
}
static MP_DEFINE_CONST_FUN_OBJ_1(ipcbuf_check_invariants_obj, ipcbuf_check_invariants);

static const mp_rom_map_elem_t ipcbuf_methods_table[] = {
    { MP_ROM_QSTR(MP_QSTR_word), MP_ROM_PTR(&ipcbuf_word_obj) },
    { MP_ROM_QSTR(MP_QSTR_word_tuple), MP_ROM_PTR(&ipcbuf_word_tuple_obj) },
    { MP_ROM_QSTR(MP_QSTR_payload), MP_ROM_PTR(&ipcbuf_payload_obj) },
    { MP_ROM_QSTR(MP_QSTR_check_invariants), MP_ROM_PTR(&ipcbuf_check_invariants_obj) },
};
static MP_DEFINE_CONST_DICT(ipcbuf_methods, ipcbuf_methods_table);

// The fields as attributes (words and data are the views); a store takes a small int.
static void ipcbuf_attr(mp_obj_t self_in, qstr attr, mp_obj_t *dest) {
    k5_ipcbuf_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (attr == MP_QSTR_words && dest[0] == MP_OBJ_NULL) {
        dest[0] = self->words; // the most read
        return;
    }
    for (size_t i = 0; i < F_SPARE; i++) {
        if (field_names[i] != attr) {
            continue;
        }
        if (dest[0] == MP_OBJ_NULL) {
            dest[0] = mp_obj_new_int(self->raw[i]);
        } else if (dest[1] != MP_OBJ_NULL && mp_obj_is_small_int(dest[1])) {
            self->raw[i] = MP_OBJ_SMALL_INT_VALUE(dest[1]); // a store (dest[0] the sentinel)
            dest[0] = MP_OBJ_NULL;
        }
        return;
    }
    if (dest[0] != MP_OBJ_NULL) {
        return; // a store or delete of words, data or anything else: refused
    }
    if (attr == MP_QSTR_words) {
        dest[0] = self->words;
    } else if (attr == MP_QSTR_data) {
        dest[0] = self->data;
    } else {
        dest[1] = MP_OBJ_SENTINEL; // go on to the methods
    }
}

MP_DEFINE_CONST_OBJ_TYPE(
    k5_ipcbuf_type,
    MP_QSTR_IpcBuffer,
    MP_TYPE_FLAG_NONE,
    attr, ipcbuf_attr,
    locals_dict, &ipcbuf_methods
    );
