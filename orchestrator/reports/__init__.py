"""Compliance reports of a sweep: one data model (``model.build_report``), many formats."""
