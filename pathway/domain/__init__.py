"""The pure domain core: states, triggers, fields, rules, guards and the machine.

Nothing in this package imports SQLAlchemy or click; it works on plain values so that
the same decisions can be made (and tested) without a database.
"""
