"""Alert rules, lifecycle and evaluation."""
