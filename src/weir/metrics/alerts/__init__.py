"""Alert rules, their evaluation, and notifications (domain; no I/O beyond the ports)."""
