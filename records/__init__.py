"""Trusted records: archive entries, copyright registrations, app filings and credit
records — one signed envelope per record version, a reviewed lifecycle, ledger anchors,
Bitstring Status Lists, offline bundles and W3C Verifiable Credential export.

docs/records.md states every format and construction for independent verifiers.
"""
