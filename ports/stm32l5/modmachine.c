// The board-specific half of the `machine` module (included by extmod/modmachine.c).
#include "py/mphal.h"
#include "mcu/cortex_m33.h"
#include "mcu/board.h"
#include "k5arch.h"

#define K5_PWRON_RESET (1)
#define K5_SOFT_RESET  (5)

// Survives a reset that K5 itself requested (not loaded, not zeroed at start-up).
#define RESET_MAGIC (0x4b35b007)
__attribute__((section(".k5noinit"))) static uint32_t reset_magic; // kernel-private too
// Kernel-private (a task could write .bss, and the REPL would read it): a task asks the kernel
// for them (K5_MACHINE_FACT). SCB lies on the private peripheral bus, which no task can read.
K5_KERNEL_DATA static mp_int_t reset_cause;
K5_KERNEL_DATA static uint32_t cpuid;

// Called once at boot, before anything else looks at the reset cause.
void machine_reset_cause_init(void) {
    reset_cause = reset_magic == RESET_MAGIC ? K5_SOFT_RESET : K5_PWRON_RESET;
    reset_magic = 0;
    cpuid = SCB->CPUID;
}

void machine_mark_soft_reset(void) {
    reset_magic = RESET_MAGIC;
}

#define MICROPY_PY_MACHINE_EXTRA_GLOBALS \
    { MP_ROM_QSTR(MP_QSTR_poweroff), MP_ROM_PTR(&machine_poweroff_obj) }, \
    { MP_ROM_QSTR(MP_QSTR_PWRON_RESET), MP_ROM_INT(K5_PWRON_RESET) }, \
    { MP_ROM_QSTR(MP_QSTR_SOFT_RESET), MP_ROM_INT(K5_SOFT_RESET) }, \

// What the root task (the REPL) may ask of the machine: it runs unprivileged, so reset and
// power-off are SVC_MACHINE traps that the kernel serves here, privileged. Any other task that
// tries gets a usage fault (k5arch.c). The two test operations exist for the tests of the
// kernel's own fault report (the epitaph), which no task could otherwise provoke.
int k5_port_machine_op(uint32_t op, uint32_t arg) {
    switch (op) {
        case K5_MACHINE_RESET:
            machine_mark_soft_reset();
            board_reset();
        case K5_MACHINE_POWEROFF:
            board_poweroff((int)arg);
        case K5_MACHINE_KERNEL_FAULT:
            (void)*(volatile uint32_t *)arg;
            break;
        case K5_MACHINE_LOG_EVENTS:
            k5log_events(arg != 0);
            break;
        case K5_MACHINE_LOG_RTT:
            return k5log_rtt(arg != 0);
        #if K5_BOARD_ATTACK_MODULE
        case K5_MACHINE_FAULT_INJECT:
            k5arch_fault_inject(arg);
            break;
        #endif
        case K5_MACHINE_FACT:
            switch (arg) {
                case K5_FACT_RESET_CAUSE:
                    return reset_cause;
                case K5_FACT_CPUID:
                    return (int)cpuid;
                case K5_FACT_CORE_HZ:
                    return (int)mp_hal_core_hz();
                default:
                    return 0;
            }
        case K5_MACHINE_IRQ_TEST:
            if (arg < 32 * MP_ARRAY_SIZE(NVIC->ISER)) {
                NVIC_EnableIRQ((IRQn_Type)arg);
                NVIC_SetPendingIRQ((IRQn_Type)arg);
            }
            break;
        default:
            break;
    }
    return 0;
}

// machine.poweroff(status=0): the emulated board exits QEMU with `status`; the NUCLEO enters
// Shutdown mode (woken only by reset).
static mp_obj_t machine_poweroff(size_t n_args, const mp_obj_t *args) {
    int status = n_args > 0 ? mp_obj_get_int(args[0]) : 0;
    if (k5arch_in_task()) {
        k5_svc_machine(K5_MACHINE_POWEROFF, status);
        mp_raise_msg(&mp_type_OSError, MP_ERROR_TEXT("K5: power-off refused"));
    }
    board_poweroff(status);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(machine_poweroff_obj, 0, 1, machine_poweroff);

static void mp_machine_idle(void) {
    __WFI();
}

NORETURN static void mp_machine_reset(void) {
    if (k5arch_in_task()) {
        k5_svc_machine(K5_MACHINE_RESET, 0);
    }
    machine_mark_soft_reset();
    board_reset();
}

// A fact of the boot as the kernel keeps it (in a task: through a trap).
static uint32_t boot_fact(uint32_t fact) {
    if (k5arch_in_task()) {
        return (uint32_t)k5_svc_machine(K5_MACHINE_FACT, fact);
    }
    return (uint32_t)k5_port_machine_op(K5_MACHINE_FACT, fact);
}

static mp_int_t mp_machine_reset_cause(void) {
    return boot_fact(K5_FACT_RESET_CAUSE);
}

static mp_obj_t mp_machine_unique_id(void) {
    #ifdef K5_BOARD_UID_ADDR
    return mp_obj_new_bytes((const byte *)K5_BOARD_UID_ADDR, 12);
    #else
    // No unique-ID register on this board: the CPUID register is the best identity there is.
    uint32_t id = boot_fact(K5_FACT_CPUID);
    return mp_obj_new_bytes((const byte *)&id, sizeof(id));
    #endif
}

static mp_obj_t mp_machine_get_freq(void) {
    return mp_obj_new_int_from_uint(boot_fact(K5_FACT_CORE_HZ));
}

static void mp_machine_set_freq(size_t n_args, const mp_obj_t *args) {
    mp_raise_NotImplementedError(MP_ERROR_TEXT("the core clock is fixed at build time"));
}

static void mp_machine_lightsleep(size_t n_args, const mp_obj_t *args) {
    if (n_args == 0) {
        for (;;) {
            mp_event_wait_indefinite();
        }
    }
    mp_hal_delay_ms(mp_obj_get_int(args[0]));
}

// Waking from deep sleep is a reset, as on other MicroPython boards.
NORETURN static void mp_machine_deepsleep(size_t n_args, const mp_obj_t *args) {
    mp_machine_lightsleep(n_args, args);
    mp_machine_reset();
}
