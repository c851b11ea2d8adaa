"""The examday.ops lab: a reference exam platform that behaves like the real one (see PLATFORM.md)."""
