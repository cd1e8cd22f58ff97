"""Load tests and benchmarks (run by hand or by CI smoke jobs, not by pytest)."""
