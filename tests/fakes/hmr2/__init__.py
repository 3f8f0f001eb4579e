"""Fake of the ``hmr2`` package (shubham-goel/4D-Humans, ``hmr2/__init__.py`` is empty).

Only what the ``hmr2`` estimator touches: ``hmr2.configs`` (``CACHE_DIR_4DHUMANS``,
``get_config``, the ViTDet LazyConfig file), ``hmr2.models`` (``HMR2``, ``SMPL``,
``load_hmr2``, ``check_smpl_exists``, ``DEFAULT_CHECKPOINT``). Test controls live in ``_fake``.
"""
