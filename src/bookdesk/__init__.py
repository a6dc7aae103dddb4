"""bookdesk: self-hosted booking and payments."""
