"""Lab 2: build the whole net first, then initialise it in a second pass."""

from torch import nn


def make_mlp(depth, width, in_features, activation, init):
    act_cls = getattr(nn, {"sigmoid": "Sigmoid", "relu": "ReLU"}[activation])
    layers = []
    n = in_features
    for _ in range(depth):
        layers.append(nn.Linear(n, width))
        layers.append(act_cls())
        n = width
    model = nn.Sequential(*layers)
    if init == "default":
        return model
    for m in model.modules():
        if isinstance(m, nn.Linear):
            if init == "normal":
                nn.init.normal_(m.weight)
            elif init == "he":
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")  # mode fan_in by default
            else:
                raise ValueError(init)
            nn.init.constant_(m.bias, 0.0)
    return model
