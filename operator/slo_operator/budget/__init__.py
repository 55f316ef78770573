"""budget layer."""
