"""The seed-spread study's reference: the original's own numbers (its notebooks, its paper) that our
seeds are set against."""

#: REFERENCE A6: every column of the original cascading notebooks, mean |Spearman| over its 10 images,
#: top block first (CNN: softmax_linear, fc1, hidden2, hidden1; MLP: logits, hidden3, hidden2, hidden1).
#: The CNN's from its repository at commit e7202036 (the run REFERENCE A6 quotes), the MLP's only run.
ORIGINAL_COLUMNS = {
    "cnn": {"gradient": (0.601, 0.396, 0.106, 0.082), "smoothgrad": (0.536, 0.330, 0.180, 0.213),
            "guided_backprop": (0.888, 0.773, 0.628, 0.444), "gradcam": (0.556, 0.344, 0.290, 0.299),
            "guided_gradcam": (0.555, 0.359, 0.329, 0.282), "integrated_gradients": (0.994, 0.993, 0.993, 0.992),
            "gradient_x_input": (0.993, 0.993, 0.993, 0.992), "ig_smoothgrad": (0.577, 0.429, 0.379, 0.361)},
    "mlp": {"gradient": (0.234, 0.099, 0.015, 0.020), "smoothgrad": (0.255, 0.124, 0.007, 0.025),
            "guided_backprop": (0.903, 0.823, 0.439, 0.044), "integrated_gradients": (0.994, 0.993, 0.992, 0.993),
            "gradient_x_input": (0.994, 0.993, 0.992, 0.993), "ig_smoothgrad": (0.407, 0.368, 0.335, 0.345)},
}
#: The other stored run of the original CNN notebook (its repository at commit e59acba: the same code, another
#: draw of the re-initializations and of the methods' noise), every column. The MLP notebook has one run.
ORIGINAL_OTHER_RUN_COLUMNS = {
    "cnn": {"gradient": (0.642, 0.397, 0.154, 0.099), "smoothgrad": (0.582, 0.338, 0.248, 0.213),
            "guided_backprop": (0.902, 0.770, 0.625, 0.451), "gradcam": (0.386, 0.437, 0.285, 0.151),
            "guided_gradcam": (0.406, 0.448, 0.325, 0.246), "integrated_gradients": (0.995, 0.993, 0.993, 0.992),
            "gradient_x_input": (0.994, 0.993, 0.992, 0.992), "ig_smoothgrad": (0.596, 0.435, 0.380, 0.338)},
}
#: The last column (all blocks randomized), mean |Spearman|.
ORIGINAL_CASCADE = {arch: {m: v[-1] for m, v in cols.items()} for arch, cols in ORIGINAL_COLUMNS.items()}
#: The other stored CNN run's last column: the original's own run-to-run spread.
ORIGINAL_CASCADE_OTHER_RUN = {arch: {m: v[-1] for m, v in cols.items()} for arch, cols in ORIGINAL_OTHER_RUN_COLUMNS.items()}
#: The first column (only the top block re-initialized) of the methods that keep a trained model's trace there.
ORIGINAL_CASCADE_FIRST = {arch: {m: ORIGINAL_COLUMNS[arch][m][0] for m in ("gradient", "smoothgrad", "guided_backprop")}
                          for arch in ORIGINAL_COLUMNS}
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
