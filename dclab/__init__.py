"""dclab: an interactive lab for dataset condensation (DC, DSA, DM, MDC, DD, KIP, MTT)."""
__version__ = "0.1.0"
