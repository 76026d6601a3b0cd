"""The nicelist command line and what its commands share (service limits, AWS settings)."""
