"""Pure card builders returning neutral Cards (bot/models.py). They take rows, never a session (an
import contract); each platform renders a Card in bot/platforms/<platform>/render.py."""
