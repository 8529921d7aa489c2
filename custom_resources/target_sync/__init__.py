"""Custom resource that re-synchronizes one gateway target's tool catalog."""
