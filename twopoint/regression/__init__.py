"""Stored reference curves of ``twopoint-regress`` (package data: ``cases.yaml`` and one ``<case>.csv`` per case)."""
