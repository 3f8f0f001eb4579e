"""Fake of ``detectron2.data`` (only the ``transforms`` subpackage is used)."""
