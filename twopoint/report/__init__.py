"""Report: figures, run-folder outputs, sweep aggregation and figure recipes (the only layer that plots)."""
