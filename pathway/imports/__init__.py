"""Bringing an existing caseload in from a file: readers, the column catalogue, the sort store.

The readers turn CSV, xlsx and JSON Lines into the same rows (column name to cell text);
``columns`` knows which columns exist and what a row means; ``store`` sorts the rows
of a file of any size by episode and date without holding them in memory. Judging the
rows is the domain's (``domain.replay``); writing them is ``db.bulk``'s.
"""
