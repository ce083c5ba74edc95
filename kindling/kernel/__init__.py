"""Kernel settings on the running node (Bottlerocket's corndog): sysctls, lockdown,
module policy. Appliers are registered from `kindling.kernel.appliers`."""
