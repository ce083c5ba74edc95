"""GPU and accelerator drivers: detect NVIDIA / Neuron / EFA devices, choose the NVIDIA
driver flavour, link/copy/load kernel modules (driverdog), inventory through NVML.

Kept light on purpose (DESIGN §8): importing `gpu` imports nothing; pyudev and pynvml
are imported inside the functions that use them.
"""

__all__: list[str] = []
