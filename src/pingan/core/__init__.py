"""What every desk needs and nothing desk-specific: settings, database, bus, auth, audit, privacy."""
