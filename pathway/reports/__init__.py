"""Reports over the audit trail, computed in SQL."""
