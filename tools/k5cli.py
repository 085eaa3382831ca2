"""The `k5` command: build firmware and apps, run the emulated board, run scripts, flash, size."""

import argparse
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

from tools import app as apps
from tools import dfuse, fsimage, paths
from tools.emu import Emulator, EmulatorError, mpremote_command


class CommandError(Exception):
    pass


def require_tool(name, install):
    if shutil.which(name) is None:
        raise CommandError(f"{name} not found: install it with `{install}`")


def elf_for(board, app=None):
    if app is not None:
        name = load_app(app, board)["name"]
        elf = paths.firmware(board, "elf", name)
        if not elf.exists():
            raise CommandError(f"{elf} does not exist: run `k5 build {app} --board {board}`")
        return elf
    elf = paths.firmware(board, "elf")
    if not elf.exists():
        raise CommandError(f"{elf} does not exist: run `k5 build --board {board}` or `make`")
    return elf


def load_app(path, board):
    try:
        return apps.load(path, board)
    except apps.AppError as exc:
        raise CommandError(str(exc).replace("\n", "\nk5: "))


def gen_app(path, board, out=None):
    """Validate app.toml and write its frozen module and manifest; returns (app, directory)."""
    app = load_app(path, board)
    out = pathlib.Path(out) if out else paths.app_dir(app["name"])
    out.mkdir(parents=True, exist_ok=True)
    text = apps.module_text(app, path)
    target = out / "k5app.py"
    if not target.exists() or target.read_text() != text:  # unchanged: make rebuilds nothing
        target.write_text(text)
    manifest = f'include("$(K5_TOP)/manifest.py")\nmodule("k5app.py", base_path="{out}")\n'
    if not (out / "manifest.py").exists() or (out / "manifest.py").read_text() != manifest:
        (out / "manifest.py").write_text(manifest)
    return app, out


def do_gen(args):
    app, out = gen_app(args.app, args.board, args.out)
    if args.dump:
        print(apps.dump(app), end="")
    else:
        print(f"{out / 'k5app.py'}: app {app['name']} for {args.board}, {len(app['tasks'])} tasks")


def mpremote(port, *args):
    return subprocess.call(mpremote_command(port, *args))


def do_build(args):
    for board in args.board or paths.BOARDS:
        cmd = ["make", "-C", str(paths.PORT_DIR), f"BOARD={board}", f"-j{os.cpu_count() or 2}"]
        if args.app is not None:
            # The app's image: the same firmware, with module k5app frozen in (k5/boot.py).
            app, out = gen_app(args.app, board)
            build = paths.build_dir(board, app["name"])
            cmd += [f"BUILD={build}", f"FROZEN_MANIFEST={out / 'manifest.py'}"]
            print(f"k5: building app {app['name']} for {board} in {build}")
        if subprocess.call(cmd, stdout=subprocess.DEVNULL if args.quiet else None) != 0:
            raise CommandError(f"build of {board} failed")


def emulated_flash(args, default=None):
    """The flash file an emulated board boots with (--flash, else `default`; None: RAM that
    starts empty), with the image of the folder --fs in its filesystem area if given."""
    path = args.flash or default
    if args.fs:
        path = path or pathlib.Path(tempfile.mkdtemp(prefix="k5-flash-")) / "flash.img"
        fsimage.prepare_emulated_flash(path, fsimage.image_of(args.fs, "MPS2_AN505"))
    return path


def do_emu(args):
    flash = emulated_flash(args, paths.emulated_flash())
    emu = Emulator(
        elf_for("MPS2_AN505", args.app), icount=args.icount, serial=args.serial, flash=flash
    )
    try:
        port = emu.start()
        print(f"MPS2_AN505 running (QEMU pid {emu.process.pid}); its REPL is at {port}")
        print(f"  its flash (the filesystem at /) is the file {flash}")
        print(f"  mpremote connect {port} repl      (Ctrl-] leaves mpremote)")
        print("Ctrl-C here stops the emulator.")
        sys.stdout.flush()
        status = emu.wait()
        print(f"emulator exited with status {status}")
    except KeyboardInterrupt:
        print()
    finally:
        emu.stop()


def do_run(args):
    for script in args.script:
        if not os.path.isfile(script):
            raise CommandError(f"no such script: {script}")
    run_args = []
    for script in args.script:
        run_args += ["run", script]
    if args.port:
        return mpremote(args.port, *run_args)
    elf = elf_for("MPS2_AN505", args.app)
    with Emulator(elf, icount=args.icount, flash=emulated_flash(args)) as emu:
        return mpremote(emu.port, *run_args)


def do_ps(args):
    # `resume`: mpremote would soft-reset the board first, stopping every task.
    code = f"import k5; k5.ps(show_caps={bool(args.caps)})"
    return mpremote(args.port, "resume", "exec", code)


_LEVEL_STYLES = ("dim", "green", "yellow", "bold red")
_TASK_STYLES = ("cyan", "magenta", "blue", "bright_green", "bright_cyan", "bright_magenta")


def do_logs(args):
    import time

    import serial
    from rich.console import Console
    from rich.text import Text

    from tools import logs

    elf = pathlib.Path(args.elf) if args.elf else elf_for("MPS2_AN505", args.app)
    try:
        decoder = logs.Decoder(logs.read_table(elf))
    except (OSError, ValueError) as exc:
        raise CommandError(str(exc))
    console = Console(highlight=False, no_color=args.plain, force_terminal=not args.plain)
    emu = None
    memory = None
    if args.port:
        port = args.port
    else:
        emu = Emulator(elf, icount=args.icount, flash=emulated_flash(args), gdb=args.rtt)
        port = emu.start()
    try:
        link = serial.serial_for_url(port, timeout=0.1, baudrate=115200)
        if args.kernel:
            # The REPL (the root task) switches the kernel's events on.
            link.write(b"\r\nimport k5.log; k5.log.kernel_events(True)\r\n")
        reader = None
        if args.rtt:
            from tools import rtt

            address = symbols(elf).get("k5_rtt_locator")
            if address is None:
                raise CommandError(f"{elf} has no RTT control block (k5_rtt_locator)")
            try:
                memory = rtt.GdbMemory(emu.gdb_port) if emu else rtt.PyocdMemory(pack=args.pack)
            except (OSError, rtt.RttError) as exc:
                raise CommandError(f"RTT: {exc}")
            reader = rtt.RttReader(memory, address)
            rtt_decoder = logs.Decoder(decoder.formats)
            link.write(b"\r\nimport k5.log; k5.log.rtt(True)\r\n")
        end = time.time() + args.seconds if args.seconds else None
        while end is None or time.time() < end:
            items = decoder.feed(link.read(4096))
            if reader is not None:
                # Records before the switch came on the console; after it, over RTT.
                items += rtt_decoder.feed(reader.poll())
            for item in items:
                if isinstance(item, str):
                    console.print(Text(item), end="")
                    continue
                line = Text(f"[{item.ms:>7} ms] ")
                line.append(item.task, style=_TASK_STYLES[hash(item.task) % len(_TASK_STYLES)])
                line.append(" " + logs.LEVELS[item.level], style=_LEVEL_STYLES[item.level])
                line.append(" " + item.text + "\n")
                console.print(line, end="")
    except KeyboardInterrupt:
        pass
    except serial.SerialException as exc:
        raise CommandError(f"{port}: {exc}")
    finally:
        if memory is not None:
            memory.close()
        if emu is not None:
            emu.stop()


def symbols(elf):
    require_tool("arm-none-eabi-nm", "make deps")
    out = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True).stdout
    table = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 3:
            table[fields[2]] = int(fields[0], 16)
    return table


def size_row(board, elf):
    sym = symbols(elf)
    regions = paths.memory_regions(board)
    flash = sym["_image_end"] - regions["FLASH"][0]
    static = sym["_heap_start"] - regions["RAM"][0]
    heap = sym["_heap_end"] - sym["_heap_start"]
    stack = sym["_estack"] - sym["_sstack"]
    return (board, flash, static, heap, stack)


def size_rows():
    return [size_row(board, elf_for(board)) for board in paths.BOARDS]


def context_bytes(elf):
    """Bytes of one task context in .k5kernel (the ELF's `contexts` over K5_MAX_CONTEXTS)."""
    from elftools.elf.elffile import ELFFile

    count = apps.native_constant("MAX_CONTEXTS")
    with open(elf, "rb") as f:
        symbol = ELFFile(f).get_section_by_name(".symtab").get_symbol_by_name("contexts")[0]
    return symbol["st_size"] // count, count


def do_size(args):
    boards = [args.board] if args.app else paths.BOARDS
    code_size = paths.memory_regions(boards[0])["FLASH"][1]
    fs_size = paths.memory_regions(boards[0])["FS"][1]
    print(f"{'image':<24} {'flash used':>18} {'static RAM':>11} {'kernel heap':>12} {'stack':>7}")
    rows = [(board, size_row(board, elf_for(board))) for board in boards]
    if args.app:
        app = load_app(args.app, args.board)
        rows.append(
            (f"{args.board}+{app['name']}", size_row(args.board, elf_for(args.board, args.app)))
        )
    for label, (_, flash, static, heap, stack) in rows:
        pct = 100 * flash / code_size
        print(
            f"{label:<24} {flash:>8} B ({pct:4.1f}%) {static:>9} B "
            f"{heap // 1024:>9} KB {stack // 1024:>4} KB"
        )
    print(
        f"(of a {code_size // 1024} KB code region; the filesystem has {fs_size // 1024} KB more)"
    )
    context, count = context_bytes(elf_for(boards[0]))
    print(
        f"per task: a {context} B context in kernel-private RAM ({count} contexts, the REPL's"
        f" one of them), its stack from the task arena (unless set {apps.STACK_DEFAULT} B,"
        f" {apps.STACK_DEFAULT_OWN} B with a heap of its own; {apps.STACK_MIN} B minimum)"
    )
    print(
        f"the task arena: {apps.ARENA // 1024} KB, the REPL's block of it"
        f" {apps.ROOT_BLOCK // 1024} KB ({apps.ROOT_STACK // 1024} KB of stack and a heap of"
        f" its own of {apps.ROOT_HEAP // 1024} KB, which grows by up to"
        f" {apps.native_constant('HEAP_AREAS')} areas of at most"
        f" {apps.native_constant('HEAP_AREA_MAX') // 1024} KB while"
        f" {apps.native_constant('ARENA_KEEP') // 1024} KB of the arena stay free for tasks)"
    )
    if args.app:
        print(f"{'task':<16} {'stack':>7} {'slots':>6} {'MPU windows':>12}")
        total = 0
        for task in app["tasks"]:
            total += apps.block_size(task)
            windows = len(task["regions"])
            print(f"{task['name']:<16} {task['stack']:>7} {task['slots']:>6} {windows:>12}")
        free = apps.ARENA - apps.ROOT_BLOCK
        print(f"{'(blocks)':<16} {total:>7}  of the arena's {free} B beside the REPL's")


def fs_files(args, board):
    """The firmware with a littlefs image of --fs beside it: (firmware.bin, fs.bin, fs address)."""
    binary = paths.firmware(board, "bin", load_app(args.app, board)["name"] if args.app else None)
    if not binary.exists():
        build = f"k5 build {args.app} --board {board}" if args.app else "make"
        raise CommandError(f"{binary} does not exist: run `{build}`")
    image = binary.with_name("fs.bin")
    image.write_bytes(fsimage.image_of(args.fs, board))
    return binary, image, fsimage.geometry(board)[0]


def do_flash(args):
    board = "NUCLEO_L552ZE_Q"
    name = load_app(args.app, board)["name"] if args.app else None
    commands = []
    if args.method == "dfu":
        dfu = paths.firmware(board, "dfu", name)
        if args.fs:
            # One DfuSe file with two elements: the firmware, and the filesystem above it.
            binary, image, address = fs_files(args, board)
            dfu = binary.with_name("firmware-fs.dfu")
            tool = paths.micropython_top() / "tools" / "dfu.py"
            origin = paths.memory_regions(board)["FLASH"][0]
            subprocess.check_call(
                [sys.executable, str(tool), "-b", f"{origin:#x}:{binary}"]
                + ["-b", f"{address:#x}:{image}", "-D", "0x0483:0xdf11", str(dfu)],
                stdout=subprocess.DEVNULL,
            )
        if not dfu.exists():
            build = f"k5 build {args.app} --board {board}" if args.app else "make"
            raise CommandError(f"{dfu} does not exist: run `{build}`")
        dfuse.parse(dfu.read_bytes())  # never flash a corrupt file
        commands.append(["dfu-util", "-a", "0", "-d", "0483:df11", "-D", str(dfu)])
        hint = "apt-get install dfu-util"
        print("Start the board in ST's system bootloader (BOOT0 high at reset, see UM2581) with")
        print("the USB-C connector CN15 plugged in.")
    else:
        elf = elf_for(board, args.app)
        cmd = ["pyocd", "flash", "-t", "stm32l552zetxq"]
        if args.pack:
            cmd += ["--pack", args.pack]
        commands.append(cmd + [str(elf)])
        if args.fs:
            _, image, address = fs_files(args, board)
            commands.append(cmd + ["--base-address", f"{address:#x}", str(image)])
        hint = "make deps (pyocd is in .venv); ST's Keil.STM32L5xx_DFP pack goes in --pack"
    for cmd in commands:
        print("$ " + " ".join(cmd))
    if args.dry_run:
        return 0
    require_tool(commands[0][0], hint)
    for cmd in commands:
        status = subprocess.call(cmd)
        if status:
            return status
    return 0


def build_build(p):
    p.add_argument("app", nargs="?", help="an app.toml: build the image that starts it at boot")
    p.add_argument("--board", action="append", choices=paths.BOARDS, help="default: both")
    p.add_argument("--quiet", action="store_true", help="no compiler output")


def build_gen(p):
    p.add_argument("app", help="the app.toml to validate")
    p.add_argument("--board", choices=paths.BOARDS, default="MPS2_AN505")
    p.add_argument("--out", help="directory for k5app.py (default: build/apps/NAME)")
    p.add_argument("--dump", action="store_true", help="print the capability layout")


def flash_arguments(p, default):
    p.add_argument(
        "--flash", help=f"the board's flash: a file kept between runs (default: {default})"
    )
    p.add_argument("--fs", help="a folder: its files become the filesystem (main.py runs at boot)")


def build_emu(p):
    p.add_argument("--icount", action="store_true", help="deterministic: -icount shift=0")
    p.add_argument("--serial", choices=("pty", "socket"), default="pty")
    p.add_argument("--app", help="boot the image of this app.toml (k5 build APP)")
    flash_arguments(p, paths.emulated_flash().relative_to(paths.ROOT))


def build_run(p):
    p.add_argument("script", nargs="+", help="Python script(s) to run with `mpremote run`")
    p.add_argument("--port", help="a running board's port (default: boot an emulated one)")
    p.add_argument("--icount", action="store_true", help="deterministic: -icount shift=0")
    p.add_argument("--app", help="boot the image of this app.toml (k5 build APP)")
    flash_arguments(p, "none: RAM, empty at boot")


def build_ps(p):
    p.add_argument("--port", default="auto", help="the board's port (default: mpremote's auto)")
    p.add_argument("--caps", action="store_true", help="list each task's capabilities too")


def build_logs(p):
    p.add_argument("--port", help="a board's serial port (default: boot the emulated board)")
    p.add_argument("--app", help="boot (and take the format table of) this app.toml's image")
    p.add_argument("--elf", help="the image whose format table decodes the stream")
    p.add_argument("--kernel", action="store_true", help="ask for the kernel's events too")
    p.add_argument("--plain", action="store_true", help="no colours")
    p.add_argument("--seconds", type=float, help="stop after this long (default: Ctrl-C)")
    p.add_argument("--icount", action="store_true", help="deterministic: -icount shift=0")
    p.add_argument(
        "--rtt", action="store_true", help="frames over RTT: QEMU's gdbstub, or pyocd with --port"
    )
    p.add_argument("--pack", help="ST's CMSIS pack for pyocd (with --rtt on a NUCLEO)")
    flash_arguments(p, "none: RAM, empty at boot")


def build_size(p):
    p.add_argument("--app", help="also the image of this app.toml, and its tasks' RAM")
    p.add_argument("--board", choices=paths.BOARDS, default="MPS2_AN505", help="with --app")


def build_flash(p):
    p.add_argument("--method", choices=("dfu", "pyocd"), default="dfu")
    p.add_argument("--pack", help="ST's CMSIS pack for pyocd (Keil.STM32L5xx_DFP.*.pack)")
    p.add_argument("--dry-run", action="store_true", help="print the command, do not run it")
    p.add_argument("--app", help="flash the image of this app.toml (k5 build APP --board ...)")
    p.add_argument("--fs", help="a folder: flash a littlefs image of it as the filesystem too")


def do_profile(args):
    from tools import profile

    profile.sample(args.script, args.samples)


def build_profile(p):
    p.add_argument(
        "script",
        nargs="?",
        default="tools/profile_ipc.py",
        help="runs on the board, prints profile-start and profile-end (default: IPC round trips)",
    )
    p.add_argument("--samples", type=int, default=1000, help="PC samples to take")


COMMANDS = {
    "build": (do_build, build_build, "build the firmware images (or an app's: k5 build app.toml)"),
    "gen": (do_gen, build_gen, "validate an app.toml and write its frozen description"),
    "emu": (do_emu, build_emu, "boot the emulated board (MPS2_AN505) and wait"),
    "run": (do_run, build_run, "run scripts on a board (default: a freshly booted emulator)"),
    "logs": (do_logs, build_logs, "decode the log frames of a board's console (k5.log)"),
    "ps": (do_ps, build_ps, "the live task table of a running board"),
    "profile": (
        do_profile,
        build_profile,
        "where the emulated board spends its time, by function",
    ),
    "size": (do_size, build_size, "flash and RAM use of both images (and an app's)"),
    "flash": (do_flash, build_flash, "flash the NUCLEO-L552ZE-Q"),
}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="k5", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (_, builder, help_text) in COMMANDS.items():
        builder(sub.add_parser(name, help=help_text))
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command][0](args) or 0
    except (CommandError, EmulatorError, dfuse.DfuseError) as e:
        print(f"k5: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
