"""The cost model: a network split into the kernels its runtime runs, each priced from a device profile's peaks,
efficiencies and overheads, and fitted to a user's own measurements (`edgebench calibrate`)."""
