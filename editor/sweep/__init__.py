"""The editor side of sweeps: the sweep dialog, live trials, the results view and "sweep this param"."""
