"""Training: the `training` config, events, the Trainer and its task loops."""
