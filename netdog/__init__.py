"""netdog: network set-up at boot, Bottlerocket-compatible (DESIGN §1, §3-5).

net.toml v1-v3 or the kernel cmdline → systemd-networkd files, or applied directly
over netlink with a DHCPv4 client; primary interface status, hostname, DNS and the
proxy environment. Kept light: importing the package imports nothing heavy
(pyroute2 is imported only by the functions that talk netlink).
"""

__all__: list[str] = []
