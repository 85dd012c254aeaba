"""Users, roles, jurisdictions, logins, tokens and partner API keys."""
