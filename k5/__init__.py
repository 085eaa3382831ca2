"""K5: the policy of a capability-based microkernel, in Python."""
