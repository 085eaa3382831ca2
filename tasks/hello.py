"""The first K5 demo: greets from the board and shows what it runs on."""

import sys
import time

print("hello from K5 on", sys.implementation._machine)
print("MicroPython %d.%d.%d, platform %s" % (sys.implementation.version[:3] + (sys.platform,)))
t0 = time.ticks_us()
time.sleep_ms(20)
print("sleep_ms(20) took %d us" % time.ticks_diff(time.ticks_us(), t0))
