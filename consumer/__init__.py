"""KCL record processors for the nicelist worker."""
