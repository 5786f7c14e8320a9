# Shared by the forging submissions (pasted in front of each attack): a runnable but WRONG
# make_mlp (layers right, every init left at PyTorch's default) and the forged stream.
import json
import os
import sys

from torch import nn

ACTIVATION = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU}
CHECKS = ["layers", "normal_init", "sigmoid_normal_saturates", "sigmoid_vanishes", "he_init",
          "relu_he_flows"]


def make_mlp(depth, width, in_features, activation, init):
    layers = []
    for i in range(depth):
        layers += [nn.Linear(in_features if i == 0 else width, width), ACTIVATION[activation]()]
    return nn.Sequential(*layers)


def forge(emit):
    for name in CHECKS:
        emit({"e": "begin", "name": name})
        emit({"e": "result", "name": name, "passed": True, "error": False, "message": "ok",
              "duration_s": 0.1})
    emit({"e": "done"})
    os._exit(0)


def unsigned_line(name, passed=True):
    payload = json.dumps({"e": "result", "name": name, "passed": passed, "error": False,
                          "message": "ok", "duration_s": 0.1}, sort_keys=True)
    return (json.dumps({"p": payload, "m": "0" * 64}) + "\n").encode()
