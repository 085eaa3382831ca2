"""Two CPU-bound tasks at equal priority: starts them and returns (then try k5.ps())."""

import k5


def hog(ipc, arg):
    count = 0
    while True:
        count += 1


k5.spawn(hog, 1, name="hog1", priority=10)
k5.spawn(hog, 2, name="hog2", priority=10)
print("hog1 and hog2 are running; k5.ps() or k5.tasks() shows them")
