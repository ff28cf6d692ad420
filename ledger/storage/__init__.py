"""Ledger storage. ``sql`` holds the append-only tables (SQLite embedded, PostgreSQL in
production) behind ``SqlLedgerStore``; a Fabric backend is a later, separate engine."""
