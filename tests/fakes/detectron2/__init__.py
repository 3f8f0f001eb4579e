"""Fake of ``detectron2`` (facebookresearch/detectron2): the surface 4D-Humans' demo uses.

``detectron2.config`` (``LazyConfig.load``, ``instantiate``), ``detectron2.checkpoint``
(``DetectionCheckpointer``), ``detectron2.data.transforms`` (``AugInput``,
``ResizeShortestEdge``, ``AugmentationList``), ``detectron2.structures`` (``Boxes``,
``Instances``) and a stand-in for the instantiated ``GeneralizedRCNN`` in
``detectron2.modeling``. Test controls live in ``_fake``.
"""
