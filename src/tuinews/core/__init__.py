"""Core library: everything a script could use. Never imports textual or rich."""
