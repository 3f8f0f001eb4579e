"""Helpers shared by the tests (synthetic motion, servers, frames)."""
