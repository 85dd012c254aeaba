"""What every desk needs and nothing desk-specific: settings, db, bus, auth, audit, privacy."""
