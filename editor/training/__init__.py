"""Training from the editor: data and training settings, live plots, activations, evaluation, export, run history."""
