"""Portico: portal and member instances of a clinic booking platform, and their GESDENT sync."""
