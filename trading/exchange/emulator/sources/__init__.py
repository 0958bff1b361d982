"""Market sources for the emulator."""
