"""Example and default configuration files, shipped inside the package as ``kiosk.defaults``."""
