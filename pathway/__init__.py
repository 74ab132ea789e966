"""pathway: a persisted care-pathway tracker for ischiofemoral impingement."""

__version__ = "0.1.0"
