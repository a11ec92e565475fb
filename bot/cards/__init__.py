"""Pure card builders returning neutral Cards, and one renderer per platform."""
