"""The seed-spread study's reference: the original's own numbers (its notebooks, its paper) that our
seeds are set against."""

#: REFERENCE A6: the last column (all blocks randomized) of the original notebooks, mean |Spearman|.
ORIGINAL_CASCADE = {
    "cnn": {"gradient": 0.082, "smoothgrad": 0.213, "guided_backprop": 0.444, "gradcam": 0.299,
            "guided_gradcam": 0.282, "integrated_gradients": 0.992, "gradient_x_input": 0.992,
            "ig_smoothgrad": 0.361},
    "mlp": {"gradient": 0.020, "smoothgrad": 0.025, "guided_backprop": 0.044, "integrated_gradients": 0.993,
            "gradient_x_input": 0.993, "ig_smoothgrad": 0.345},
}
#: The other stored run of the original CNN notebook (its repository at commit e59acba; ORIGINAL_CASCADE
#: is from commit e7202036, REFERENCE A6): the original's own run-to-run spread, last column.
ORIGINAL_CASCADE_OTHER_RUN = {
    "cnn": {"gradient": 0.099, "smoothgrad": 0.213, "guided_backprop": 0.451, "gradcam": 0.151,
            "guided_gradcam": 0.246, "integrated_gradients": 0.992, "gradient_x_input": 0.992,
            "ig_smoothgrad": 0.338},
}
#: The original notebooks' first column (only the top block re-initialized), mean |Spearman| (the CNN's
#: from commit e7202036 as ORIGINAL_CASCADE; its other run gives 0.642, 0.582, 0.902).
ORIGINAL_CASCADE_FIRST = {
    "cnn": {"gradient": 0.601, "smoothgrad": 0.536, "guided_backprop": 0.888},
    "mlp": {"gradient": 0.234, "smoothgrad": 0.255, "guided_backprop": 0.903},
}
#: REFERENCE A7: the original's random-label bar charts (digit 0), |Spearman| read off the PNGs (approximate).
ORIGINAL_DATA = {
    "cnn": {"gradient": 0.17, "smoothgrad": 0.24, "guided_backprop": 0.57, "gradcam": 0.02, "guided_gradcam": 0.57,
            "integrated_gradients": 1.0, "ig_smoothgrad": 0.45, "gradient_x_input": 1.0},
    "mlp": {"gradient": 0.60, "smoothgrad": 0.59, "guided_backprop": 0.70, "integrated_gradients": 0.99,
            "ig_smoothgrad": 0.80, "gradient_x_input": 0.99},
}
#: REFERENCE A4 (paper, App. B): the original models' test accuracy.
ORIGINAL_ACCURACY = {"cnn": 0.992, "mlp": 0.987}
#: REFERENCE A4: the original trained on 55,000 digits, 50 epochs of batches of 50.
ORIGINAL_STEPS = 55_000
