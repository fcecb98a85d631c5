"""Hall kiosk: the queue controller of a customer-service hall."""

__version__ = "0.1.0"
