"""Project tools run by make targets (mk/*.mk); not part of the service."""
