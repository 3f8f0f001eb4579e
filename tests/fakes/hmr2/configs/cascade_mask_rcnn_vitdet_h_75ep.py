"""Stand-in for 4D-Humans' ``hmr2/configs/cascade_mask_rcnn_vitdet_h_75ep.py`` (a detectron2
LazyConfig). The fake ``detectron2.config.LazyConfig.load`` only checks that this file exists."""
