"""Object detection in plain PyTorch (CPU and GPU, no compiled ops): boxes, NMS, RoI Align, anchors, losses, mAP."""
