"""Operator tools: provisioning and resharding."""
