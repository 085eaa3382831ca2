// The IPC fast path in C: k5/fastpath.py's sys_call and sys_reply_recv, beside the Python ones.
//
// The kernel (k5/kernel.py) puts these in its handler table in place of the Python fast path
// when the arch offers them (Arch.native_fast_path). Each one takes a subset of the requests
// the Python fast path takes: every condition is checked first, without changing anything, and
// when one does not hold the request goes to the Python fast path (which may hand it on to the
// general path). When all hold it performs exactly what k5/fastpath.py performs, store for
// store and in the same order, on the same Python objects. tests/target/test_native_code.py
// runs random traces on the board with this path and with the Python one and requires equal
// results; `make bench` reports both.
//
// Speed comes from what C does without the VM: an attribute of a kernel object is read from
// and written to its instance's member table directly (no mp_load_attr dispatch, no class
// lookup), type checks are tag tests and small ints are compared as machine words. Classes
// with properties or descriptors take the generic path, so the semantics stay Python's.
#include "py/objtype.h"
#include "py/runtime.h"
#include "k5arch.h"

MP_REGISTER_ROOT_POINTER(mp_obj_t k5_fast_fallback[2]);

// Queue kinds (k5/objects.py's QUEUE_*; the kernel passes them when it installs the handlers,
// and they are checked there).
#define QUEUE_NONE (0)
#define QUEUE_READY (1)
#define QUEUE_RELEASE (2)
#define QUEUE_ENDPOINT (3)

// The members of a plain instance (a Python class without properties, descriptors or
// __getattr__-like methods, for which Python too reads and writes the members first), else NULL.
#define PLAIN_FLAGS (MP_TYPE_FLAG_INSTANCE_TYPE | MP_TYPE_FLAG_HAS_SPECIAL_ACCESSORS)
static inline __attribute__((always_inline)) mp_map_t *members(mp_obj_t obj) {
    if (!mp_obj_is_obj(obj)
        || (((mp_obj_base_t *)MP_OBJ_TO_PTR(obj))->type->flags & PLAIN_FLAGS)
        != MP_TYPE_FLAG_INSTANCE_TYPE) {
        return NULL;
    }
    return &((mp_obj_instance_t *)MP_OBJ_TO_PTR(obj))->members;
}

// The member `attr` of `obj`, through `hint`: each access site keeps the table index where it
// last found its attribute, and instances of one class built alike have one layout, so the
// hint nearly always holds. It is only a hint: it is checked against the table's size and key,
// and a miss is an ordinary lookup, so hints may live in the VM's RAM (kernel RAM is full to a
// 1 KB boundary: a byte more there moves the task-stack arena and costs the heap 1 KB). The
// hint test is inlined at every site; the rest is not.
static inline __attribute__((always_inline)) mp_map_elem_t *hinted(mp_obj_t obj, qstr attr,
    const uint8_t *hint) {
    mp_map_t *map = members(obj);
    if (map != NULL) {
        size_t at = *hint;
        if (at < map->alloc && map->table[at].key == MP_OBJ_NEW_QSTR(attr)) {
            return &map->table[at];
        }
    }
    return NULL;
}

static mp_map_elem_t *member(mp_obj_t obj, qstr attr, uint8_t *hint) {
    mp_map_t *map = members(obj);
    if (map == NULL) {
        return NULL;
    }
    mp_map_elem_t *elem = mp_map_lookup(map, MP_OBJ_NEW_QSTR(attr), MP_MAP_LOOKUP);
    if (elem != NULL) {
        *hint = (uint8_t)(elem - map->table);
    }
    return elem;
}

// obj.attr, as Python reads it (members first; the generic load when not a plain member).
static mp_obj_t ld_slow(mp_obj_t obj, qstr attr, uint8_t *hint) {
    mp_map_elem_t *elem = member(obj, attr, hint);
    return elem != NULL ? elem->value : mp_load_attr(obj, attr);
}

static inline __attribute__((always_inline)) mp_obj_t ld_at(mp_obj_t obj, qstr attr,
    uint8_t *hint) {
    mp_map_elem_t *elem = hinted(obj, attr, hint);
    return elem != NULL ? elem->value : ld_slow(obj, attr, hint);
}

// obj.attr = value, as Python stores it.
static void st_slow(mp_obj_t obj, qstr attr, mp_obj_t value, uint8_t *hint) {
    mp_map_elem_t *elem = member(obj, attr, hint);
    if (elem != NULL) {
        elem->value = value;
    } else {
        mp_store_attr(obj, attr, value);
    }
}

static inline __attribute__((always_inline)) void st_at(mp_obj_t obj, qstr attr,
    mp_obj_t value, uint8_t *hint) {
    mp_map_elem_t *elem = hinted(obj, attr, hint);
    if (elem != NULL) {
        elem->value = value;
    } else {
        st_slow(obj, attr, value, hint);
    }
}

#define ld(obj, attr) ({ static uint8_t hint_; ld_at(obj, attr, &hint_); })
#define st(obj, attr, value) \
    do { static uint8_t hint_; st_at(obj, attr, value, &hint_); } while (0)

// a == b for ints, as Python compares them.
static inline bool equal(mp_obj_t a, mp_obj_t b) {
    return a == b || (!(mp_obj_is_small_int(a) && mp_obj_is_small_int(b)) && mp_obj_equal(a, b));
}

#define NONE mp_const_none
#define SMALL(v) MP_OBJ_NEW_SMALL_INT(v)
#define IS_SMALL(o) mp_obj_is_small_int(o)
#define VAL(o) MP_OBJ_SMALL_INT_VALUE(o)

// A small int in WORD_MIN..WORD_MAX: every small int of the 32-bit port is one.
static inline bool is_word(mp_obj_t o) {
    return IS_SMALL(o) && VAL(o) >= K5_WORD_MIN && VAL(o) <= K5_WORD_MAX;
}

// The request's words as a tuple of at most MSG_MAX_WORDS words, else NULL.
static mp_obj_tuple_t *words_of(mp_obj_t words) {
    if (!mp_obj_is_exact_type(words, &mp_type_tuple)) {
        return NULL;
    }
    mp_obj_tuple_t *t = MP_OBJ_TO_PTR(words);
    if (t->len > K5_MSG_MAX_WORDS) {
        return NULL;
    }
    for (size_t i = 0; i < t->len; i++) {
        if (!is_word(t->items[i])) {
            return NULL;
        }
    }
    return t;
}

// The label and the empty payload/cap/receive-slot fields of (sysno, slot, label, words, None,
// NO_SLOT, NO_SLOT): the common part of both fast paths' conditions.
static bool plain_message(mp_obj_tuple_t *req) {
    return is_word(req->items[2]) && VAL(req->items[2]) >= 0 && req->items[4] == NONE
           && req->items[5] == SMALL(K5_NO_SLOT) && req->items[6] == SMALL(K5_NO_SLOT);
}

// The receiver's IPC buffer: the raw one of its context (ipcbuf.c), else NULL (a TCB the
// Python path serves).
static mp_obj_t ipc_storage(mp_obj_t tcb) {
    mp_obj_t ipc = ld(tcb, MP_QSTR_ipc);
    return mp_obj_is_type(ipc, &k5_ipcbuf_type) ? ipc : MP_OBJ_NULL;
}

// The endpoint cap in `slot` of the caller's CSpace, else NULL.
static mp_obj_t endpoint_cap(mp_obj_t tcb, mp_obj_t slot) {
    if (!IS_SMALL(slot) || VAL(slot) < 0) {
        return MP_OBJ_NULL;
    }
    mp_obj_t slots = ld(ld(tcb, MP_QSTR_cspace), MP_QSTR_slots);
    if (!mp_obj_is_exact_type(slots, &mp_type_list)) {
        return MP_OBJ_NULL;
    }
    mp_obj_list_t *list = MP_OBJ_TO_PTR(slots);
    if ((size_t)VAL(slot) >= list->len) {
        return MP_OBJ_NULL;
    }
    mp_obj_t cap = list->items[VAL(slot)];
    if (cap == NONE || ld(cap, MP_QSTR_obj_type) != SMALL(K5_TYPE_ENDPOINT)) {
        return MP_OBJ_NULL;
    }
    return cap;
}

// a - b >= c for the SC budget test, in Python's arithmetic when they are not all small ints.
static bool at_least(mp_obj_t a, mp_obj_t b, mp_obj_t c) {
    if (IS_SMALL(a) && IS_SMALL(b) && IS_SMALL(c)) {
        return VAL(a) - VAL(b) >= VAL(c);
    }
    mp_obj_t diff = mp_binary_op(MP_BINARY_OP_SUBTRACT, a, b);
    return mp_obj_is_true(mp_binary_op(MP_BINARY_OP_MORE_EQUAL, diff, c));
}

// The seL4 direct switch to `next` when it is the scheduler's choice anyway; else it is queued.
static void switch_to(mp_obj_t kernel, mp_obj_t next) {
    mp_obj_t sc = ld(next, MP_QSTR_sc);
    if (sc != NONE && sc == ld(kernel, MP_QSTR_cur_sc) && ld(kernel, MP_QSTR_current) == NONE
        && equal(ld(ld(kernel, MP_QSTR_sched), MP_QSTR_top_bits), SMALL(0))) {
        mp_obj_t amount = mp_obj_subscr(ld(sc, MP_QSTR_r_amount), ld(sc, MP_QSTR_head),
            MP_OBJ_SENTINEL);
        if (at_least(amount, ld(sc, MP_QSTR_consumed), ld(kernel, MP_QSTR_min_budget))) {
            st(kernel, MP_QSTR_current, next);
            return;
        }
    }
    mp_obj_t dest[3];
    mp_load_method(kernel, MP_QSTR_schedule_runnable, dest);
    dest[2] = next;
    mp_call_method_n_kw(1, 0, dest);
}

static mp_obj_t fallback(size_t which, const mp_obj_t *args) {
    return mp_call_function_n_kw(MP_STATE_VM(k5_fast_fallback)[which], 4, 0, args);
}

static bool untraced(mp_obj_t kernel, mp_obj_t request) {
    return mp_obj_is_exact_type(request, &mp_type_tuple)
           && ((mp_obj_tuple_t *)MP_OBJ_TO_PTR(request))->len == 7
           && ld(kernel, MP_QSTR_trace) == NONE && ld(kernel, MP_QSTR_delivery_log) == NONE;
}

// call(kernel, tcb, sysno, request): (SYS_CALL, ep, label, words, None, NO_SLOT, NO_SLOT) with
// a receiver waiting.
static mp_obj_t fast_call(size_t n_args, const mp_obj_t *args) {
    mp_obj_t kernel = args[0], tcb = args[1], request = args[3];
    if (!untraced(kernel, request)) {
        return fallback(0, args);
    }
    mp_obj_tuple_t *req = MP_OBJ_TO_PTR(request);
    mp_obj_t cap = endpoint_cap(tcb, req->items[1]);
    if (cap == MP_OBJ_NULL) {
        return fallback(0, args);
    }
    mp_obj_t rights = ld(cap, MP_QSTR_rights), badge = ld(cap, MP_QSTR_badge);
    if (!IS_SMALL(rights) || !IS_SMALL(badge) || (VAL(rights) & K5_RIGHT_WRITE) == 0
        || (VAL(rights) & (K5_RIGHT_GRANT | K5_RIGHT_GRANT_REPLY)) == 0
        || (VAL(badge) & K5_BADGE_GEN_FLAG)) {
        return fallback(0, args);
    }
    mp_obj_t queue = ld(ld(cap, MP_QSTR_obj), MP_QSTR_queue);
    mp_obj_t server = ld(queue, MP_QSTR_head);
    if (server == NONE || ld(server, MP_QSTR_state) != SMALL(K5_STATE_BLOCKED_RECV)
        || ld(server, MP_QSTR_recv_reply) != NONE || !plain_message(req)) {
        return fallback(0, args);
    }
    mp_obj_tuple_t *words = words_of(req->items[3]);
    mp_obj_t dst = ipc_storage(server);
    if (words == NULL || dst == MP_OBJ_NULL || !IS_SMALL(badge)) {
        return fallback(0, args);
    }
    mp_obj_t previous = ld(server, MP_QSTR_pending_reply);
    if (previous != NONE && ld(previous, MP_QSTR_caller) != NONE
        && equal(ld(previous, MP_QSTR_seq), ld(server, MP_QSTR_pending_seq))) {
        return fallback(0, args);
    }
    mp_obj_t reply = ld(tcb, MP_QSTR_reply);
    mp_obj_t seq = ld(reply, MP_QSTR_seq);
    if (!IS_SMALL(seq) || VAL(seq) >= K5_WORD_MAX) {
        return fallback(0, args);
    }
    // Perform: k5/fastpath.py's sys_call, in its order.
    mp_obj_t following = ld(server, MP_QSTR_q_next);
    st(queue, MP_QSTR_head, following);
    if (following == NONE) {
        st(queue, MP_QSTR_tail, NONE);
    } else {
        st(following, MP_QSTR_q_prev, NONE);
    }
    st(server, MP_QSTR_q_next, NONE);
    st(server, MP_QSTR_queue, NONE);
    st(server, MP_QSTR_queue_kind, SMALL(QUEUE_NONE));
    st(server, MP_QSTR_blocked_on, NONE);
    st(server, MP_QSTR_blocked_cap, NONE);
    k5_ipcbuf_put(dst, VAL(req->items[2]), VAL(badge), words->len, words->items);
    k5arch_set_result_obj(ld(server, MP_QSTR_context), SMALL(0));
    seq = SMALL(VAL(seq) + 1);
    st(reply, MP_QSTR_seq, seq);
    st(reply, MP_QSTR_caller, tcb);
    st(reply, MP_QSTR_server, server);
    st(reply, MP_QSTR_recv_slot, SMALL(K5_NO_SLOT));
    st(reply, MP_QSTR_donated, NONE);
    st(server, MP_QSTR_pending_reply, reply);
    st(server, MP_QSTR_pending_seq, seq);
    st(tcb, MP_QSTR_recv_slot, SMALL(K5_NO_SLOT));
    st(tcb, MP_QSTR_state, SMALL(K5_STATE_BLOCKED_REPLY));
    st(tcb, MP_QSTR_blocked_on, reply);
    st(tcb, MP_QSTR_blocked_cap, NONE);
    if (tcb == ld(kernel, MP_QSTR_current)) {
        st(kernel, MP_QSTR_current, NONE);
    }
    mp_obj_t sc = ld(tcb, MP_QSTR_sc);
    if (ld(server, MP_QSTR_sc) == NONE && sc != NONE
        && equal(ld(tcb, MP_QSTR_fault_kind), SMALL(0))) {
        // (reply_object.push_donation: the reply goes on the SC's call stack.)
        st(tcb, MP_QSTR_sc, NONE);
        st(sc, MP_QSTR_tcb, server);
        st(server, MP_QSTR_sc, sc);
        st(server, MP_QSTR_sc_reply, reply);
        st(reply, MP_QSTR_donated, sc);
    }
    st(server, MP_QSTR_state, SMALL(K5_STATE_RUNNING));
    switch_to(kernel, server);
    return NONE;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(fast_call_obj, 4, 4, fast_call);

// reply_recv(kernel, tcb, sysno, request): (SYS_REPLY_RECV, ep, label, words, None, NO_SLOT,
// NO_SLOT) with nobody waiting on the endpoint.
static mp_obj_t fast_reply_recv(size_t n_args, const mp_obj_t *args) {
    mp_obj_t kernel = args[0], tcb = args[1], request = args[3];
    if (!untraced(kernel, request)) {
        return fallback(1, args);
    }
    mp_obj_tuple_t *req = MP_OBJ_TO_PTR(request);
    mp_obj_t cap = endpoint_cap(tcb, req->items[1]);
    if (cap == MP_OBJ_NULL) {
        return fallback(1, args);
    }
    mp_obj_t rights = ld(cap, MP_QSTR_rights);
    if (!IS_SMALL(rights) || (VAL(rights) & K5_RIGHT_READ) == 0) {
        return fallback(1, args);
    }
    mp_obj_t endpoint = ld(cap, MP_QSTR_obj);
    mp_obj_t queue = ld(endpoint, MP_QSTR_queue);
    if (ld(queue, MP_QSTR_head) != NONE || ld(tcb, MP_QSTR_bound_ntfn) != NONE
        || ld(tcb, MP_QSTR_passive_on_recv) != mp_const_false || !plain_message(req)) {
        return fallback(1, args);
    }
    mp_obj_tuple_t *words = words_of(req->items[3]);
    if (words == NULL) {
        return fallback(1, args);
    }
    mp_obj_t reply = ld(tcb, MP_QSTR_pending_reply);
    mp_obj_t caller = NONE;
    mp_obj_t dst = MP_OBJ_NULL;
    mp_obj_t reply_seq = MP_OBJ_NULL;
    if (reply != NONE) {
        caller = ld(reply, MP_QSTR_caller);
        reply_seq = ld(reply, MP_QSTR_seq);
        if (!equal(reply_seq, ld(tcb, MP_QSTR_pending_seq)) || caller == NONE
            || !equal(ld(caller, MP_QSTR_fault_kind), SMALL(0))) {
            return fallback(1, args);
        }
        dst = ipc_storage(caller);
        if (dst == MP_OBJ_NULL || !IS_SMALL(reply_seq) || VAL(reply_seq) >= K5_WORD_MAX) {
            return fallback(1, args);
        }
        // A donated SC: only the head of its call stack, going back to its caller (the
        // unbroken chain); the general path (reply_object.remove_donation) takes the rest.
        if (ld(reply, MP_QSTR_donated) != NONE) {
            // The head of the stack, and what lies below it is the caller's: none (it is the
            // base) or the reply whose server it is (the unbroken chain).
            mp_obj_t below = ld(caller, MP_QSTR_sc_reply);
            if (ld(tcb, MP_QSTR_sc_reply) != reply || ld(caller, MP_QSTR_sc) != NONE
                || (below != NONE
                    && (mp_obj_get_type(below) != mp_obj_get_type(reply)
                        || ld(below, MP_QSTR_server) != caller))) {
                return fallback(1, args);
            }
        }
    }
    // Perform: k5/fastpath.py's sys_reply_recv, in its order.
    if (caller != NONE) {
        st(tcb, MP_QSTR_pending_reply, NONE);
        st(caller, MP_QSTR_recv_slot, ld(reply, MP_QSTR_recv_slot));
        k5_ipcbuf_put(dst, VAL(req->items[2]), 0, words->len, words->items);
        st(reply, MP_QSTR_caller, NONE);
        st(reply, MP_QSTR_server, NONE);
        st(reply, MP_QSTR_seq, SMALL(VAL(reply_seq) + 1));
        st(caller, MP_QSTR_lease, NONE);
        mp_obj_t sc = ld(reply, MP_QSTR_donated);
        st(reply, MP_QSTR_donated, NONE);
        if (sc != NONE) {
            // (reply_object.remove_donation of the head: one step back down the stack, to the
            // caller, which holds its head already.)
            st(tcb, MP_QSTR_sc_reply, NONE);
            mp_obj_t holder = ld(sc, MP_QSTR_tcb);
            if (holder != NONE && holder != caller) {
                st(holder, MP_QSTR_sc, NONE);
                mp_obj_t kind = ld(holder, MP_QSTR_queue_kind);
                if (equal(kind, SMALL(QUEUE_READY))
                    || equal(kind, SMALL(QUEUE_RELEASE))) {
                    mp_obj_t dest[3];
                    mp_load_method(kernel, MP_QSTR_dequeue, dest);
                    dest[2] = holder;
                    mp_call_method_n_kw(1, 0, dest);
                }
                if (holder == ld(kernel, MP_QSTR_current)) {
                    st(kernel, MP_QSTR_current, NONE);
                }
            }
            st(sc, MP_QSTR_tcb, caller);
            st(caller, MP_QSTR_sc, sc);
        }
        st(caller, MP_QSTR_blocked_on, NONE);
        st(caller, MP_QSTR_blocked_cap, NONE);
        k5arch_set_result_obj(ld(caller, MP_QSTR_context), SMALL(0));
        st(caller, MP_QSTR_state, SMALL(K5_STATE_RUNNING));
    }
    st(tcb, MP_QSTR_recv_slot, SMALL(K5_NO_SLOT));
    st(tcb, MP_QSTR_recv_reply, NONE);
    st(tcb, MP_QSTR_state, SMALL(K5_STATE_BLOCKED_RECV));
    st(tcb, MP_QSTR_blocked_on, endpoint);
    st(tcb, MP_QSTR_blocked_cap, cap);
    st(queue, MP_QSTR_head, tcb);
    st(queue, MP_QSTR_tail, tcb);
    st(tcb, MP_QSTR_queue, queue);
    st(tcb, MP_QSTR_q_next, NONE);
    st(tcb, MP_QSTR_q_prev, NONE);
    st(tcb, MP_QSTR_queue_kind, SMALL(QUEUE_ENDPOINT));
    if (tcb == ld(kernel, MP_QSTR_current)) {
        st(kernel, MP_QSTR_current, NONE);
    }
    if (caller != NONE) {
        switch_to(kernel, caller);
    }
    return NONE;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(fast_reply_recv_obj, 4, 4, fast_reply_recv);

// Arch.native_fast_path(py_call, py_reply_recv, queue_kinds) -> (call, reply_recv): the C
// handlers, which hand what they do not take to the Python ones. queue_kinds: k5/objects.py's
// (QUEUE_NONE, QUEUE_READY, QUEUE_RELEASE, QUEUE_ENDPOINT).
mp_obj_t k5arch_native_fast_path(mp_obj_t py_call, mp_obj_t py_reply_recv, mp_obj_t kinds) {
    mp_obj_t *items;
    mp_obj_get_array_fixed_n(kinds, 4, &items);
    if (items[0] != SMALL(QUEUE_NONE) || items[1] != SMALL(QUEUE_READY)
        || items[2] != SMALL(QUEUE_RELEASE) || items[3] != SMALL(QUEUE_ENDPOINT)) {
        mp_raise_ValueError(MP_ERROR_TEXT("K5: the C fast path's queue kinds differ from k5's"));
    }
    MP_STATE_VM(k5_fast_fallback)[0] = py_call;
    MP_STATE_VM(k5_fast_fallback)[1] = py_reply_recv;
    mp_obj_t handlers[2] = { MP_OBJ_FROM_PTR(&fast_call_obj), MP_OBJ_FROM_PTR(&fast_reply_recv_obj) };
    return mp_obj_new_tuple(2, handlers);
}
