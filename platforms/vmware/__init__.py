"""VMware: guestinfo (through vmware-rpctool) and OVF CD-ROM user-data providers."""
