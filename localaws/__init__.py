"""Embedded local AWS: moto served over h2c on loopback, fixed for the KCL."""
