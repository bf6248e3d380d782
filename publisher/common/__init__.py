"""What every stage shares: crash-safe writes, progress, the one number formatter, the one
sanitising policy, ISO weeks. Nothing here imports a stage."""
