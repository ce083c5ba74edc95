"""kdump: crashkernel sizing, crash-kernel load, dump capture with retention (DESIGN §1, §4).

Bottlerocket's prairiedog kdump half (reference §6.1), for any systemd node:
`kindling kdump plan|load|capture|status`. Modules: `sizing` (crashkernel syntax and
the range table, pure), `facts` (what the running kernel says), `plan`, `load`,
`capture`, `dumps` (listing and retention), `stages`, `cli` (wiring).
"""
