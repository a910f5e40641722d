"""Schema truth: what the database's schema is, what the ledger says it should be, and how two
databases differ.

- ``fingerprint``: the SHA-256 of a normalised catalog snapshot (``rehearsal.snapshot``), taken
  after each applied or rolled back version and recorded in its ledger event
  (``details.schema_sha256``), with the snapshot itself when ``store_snapshots = true``.
- ``drift``: the live schema against the expectation after the last version, without a shadow
  database; what differs, and the last version after which it still matched.
- ``dump``: a stable, normalised schema file (``pg_dump --schema-only``, post-processed).
- ``compare``: two databases (two environments): versions applied on one only, objects that differ.

(``repeatable`` and ``squash`` are issue 14's points 4 and 5, in their own modules.)
"""
