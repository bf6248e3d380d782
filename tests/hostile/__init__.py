"""The hostile-input corpus (cases.py) and the checks that judge its outputs (safety.py)."""
