"""Writers that take the audit trail elsewhere: CSV, JSON Lines, FHIR R4 bulk NDJSON."""
