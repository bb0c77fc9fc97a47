"""The small PyTorch CNN that bench/library_methods_agreement.py and tests/test_torch_library_methods.py
compare the field's methods on (one network, so that the bench's table and the tests speak of the same)."""
import numpy as np


def small_torch_cnn():
    """A small PyTorch CNN with a batch norm (random weights and statistics from seed 0) ending in a
    softmax, in eval mode; the engine's model of it; three 12x12 RGB images; the model's classes for them."""
    import torch

    from sanity_checks.loading import load_model

    nn = torch.nn
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 6 * 6, 5),
                        nn.Softmax(dim=1))
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
        net[1].running_mean.uniform_(-0.5, 0.5, generator=gen)
        net[1].running_var.uniform_(0.5, 1.5, generator=gen)
    net.eval()
    model = load_model(net, input_shape=(12, 12, 3), device="cpu")
    x = np.random.default_rng(0).random((3, 12, 12, 3), dtype=np.float32)
    return net, model, x, model.predict(x)
