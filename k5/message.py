"""Messages: decode a task's message into its TCB, transfer it to a receiver."""

from k5 import device
from k5 import abi
from k5.decode import ipc_words, is_small, is_word, lookup


def decode_message(tcb, request, label_index, _type=type, _int=int, _len=len):
    """Validate the label, words, data and cap of an IPC request into tcb's msg_* buffer."""
    label = request[label_index]
    if not is_small(label):
        return abi.ERR_INVALID_ARGUMENT
    words = request[label_index + 1]
    kind = _type(words)
    if kind is not tuple and kind is not list:
        return abi.ERR_INVALID_ARGUMENT
    count = _len(words)
    if count > abi.MSG_MAX_WORDS:
        return abi.ERR_INVALID_ARGUMENT
    for i in range(count):
        if not is_word(words[i]):
            return abi.ERR_INVALID_ARGUMENT
    # A tuple is kept as it is (nothing can change it); a list, which its task could change
    # while the message waits in a queue, is copied.
    tcb.msg_words = words if kind is tuple else tuple(words)
    data = request[label_index + 2]
    length = 0
    if data is not None:
        kind = _type(data)
        if kind is str:
            if _len(data) > abi.MSG_MAX_BYTES:
                return abi.ERR_INVALID_ARGUMENT
            try:
                data = data.encode()
            except MemoryError:
                return abi.ERR_NOT_ENOUGH_MEMORY
            except Exception:
                return abi.ERR_INVALID_ARGUMENT
        elif kind is memoryview or kind is bytearray:
            # The task's own memory (a bytearray reaches the kernel as a memoryview of it,
            # k5/wire.py): measured, then copied.
            if _len(data) > abi.MSG_MAX_BYTES:
                return abi.ERR_INVALID_ARGUMENT
            data = bytes(data)
        elif kind is not bytes:
            return abi.ERR_INVALID_ARGUMENT
        length = _len(data)
        if length > abi.MSG_MAX_BYTES:
            return abi.ERR_INVALID_ARGUMENT
    cap_slot = request[label_index + 3]
    cap = None
    if _type(cap_slot) is not _int:
        return abi.ERR_INVALID_ARGUMENT
    if cap_slot != abi.NO_SLOT:
        cap = lookup(tcb, cap_slot, 0, 0)
        if _type(cap) is _int:
            return cap
    tcb.msg_label = label
    tcb.msg_count = count
    tcb.msg_data = data
    tcb.msg_length = length
    tcb.msg_cap = cap
    return abi.OK


def decode_recv_slot(tcb, slot, _type=type, _int=int, _len=len):
    if _type(slot) is not _int:
        return abi.ERR_INVALID_ARGUMENT
    if slot == abi.NO_SLOT:
        return abi.OK
    if slot < 0 or slot >= _len(tcb.cspace.slots):
        return abi.ERR_RANGE
    return abi.OK


def transfer(kernel, sender, receiver, badge, can_grant, endpoint, _len=len):
    """Copy sender's msg_* buffer into the receiver's IPC buffer (cannot fail).

    `endpoint` is the endpoint the message came through (None for a reply): a cap of that
    same endpoint is unwrapped (its badge lands in ipc.unwrapped), as seL4 does.
    """
    ipc = receiver.ipc
    ipc.label = sender.msg_label
    ipc.badge = badge
    count = sender.msg_count
    ipc.count = count
    src = sender.msg_words
    dst = receiver.ipc_words
    # What could need memory (the heap is shared: another task may have filled it) is given
    # up without it, never raised half way through a rendezvous: the receiver's buffer when
    # its task resized it, the delivery log, the cap (as seL4 drops a cap it cannot place).
    if _len(dst) != abi.MSG_MAX_WORDS:
        try:
            dst = ipc_words(receiver)
        except MemoryError:
            count = 0
            ipc.count = 0
    for i in range(count):
        dst[i] = src[i]
    length = sender.msg_length
    ipc.length = length
    if length > 0:
        try:
            receiver.ipc_data[0:length] = sender.msg_data
        except MemoryError:
            ipc.length = 0
    ipc.source = abi.SOURCE_ENDPOINT
    ipc.cap = abi.NO_SLOT
    ipc.unwrapped = -1
    log = kernel.delivery_log
    if log is not None:
        try:
            log.append((receiver.tid, sender.msg_label, src[0] if count else None))
        except MemoryError:
            pass
    cap = sender.msg_cap
    sender.msg_cap = None
    sender.msg_data = None
    if cap is None or not can_grant or cap.cnode is None:
        return
    if cap.obj is endpoint and cap.obj_type == abi.TYPE_ENDPOINT:
        ipc.unwrapped = cap.badge
        return
    slot = receiver.recv_slot
    if slot < 0 or slot >= _len(receiver.cspace.slots):
        return
    if receiver.cspace.slots[slot] is not None:
        return
    # A window the receiver's MPU view cannot take is not transferred (k5/device.py), nor a
    # cap the heap has no room for (cdt.insert then changed nothing).
    try:
        new = device.derive(kernel, receiver, cap, cap.rights, cap.badge, slot)
    except MemoryError:
        return
    if type(new) is not int:
        ipc.cap = slot
