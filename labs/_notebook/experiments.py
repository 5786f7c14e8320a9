"""The experiment cell of each lab's ``explore.ipynb`` (see make_notebooks.py).

Each uses only the student's module (imported as ``lab``), torch and matplotlib, runs in a
few seconds on a laptop CPU and draws one figure with a title, labelled axes and whole-number
layer ticks.
"""

from __future__ import annotations

EXPERIMENTS: dict[int, dict[str, str]] = {
    1: {
        "title": "Gradient flow",
        "module": "diagnostics",
        "intro": "Measure how strongly the gradient reaches each layer of a deep ReLU network "
                 "with your `layer_stats()`.",
        "code": '''
torch.manual_seed(0)
layers = []
for _ in range(20):
    layers += [torch.nn.Linear(256, 256), torch.nn.ReLU()]
net = torch.nn.Sequential(*layers)
readout = torch.randn(256, 1) / 16
stats = lab.layer_stats(net, torch.randn(256, 256), lambda out: (out @ readout).sum())
print(f"gradient flow (log10 first/last): {lab.gradient_flow(stats):+.2f}")

fig, ax = plt.subplots(figsize=(7, 4))
ax.semilogy(range(1, len(stats) + 1), [s.grad_norm for s in stats], marker="o")
ax.set_xlabel("hidden layer (1 = nearest the input)")
ax.set_ylabel("||dL/dh|| (log scale)")
ax.set_title("20-layer ReLU MLP, PyTorch default init (seed 0)")
ax.xaxis.get_major_locator().set_params(integer=True)
plt.show()
''',
        "look_for": "with PyTorch's default init the gradient norm shrinks layer by layer "
                    "towards the input: the first layers learn slowest. A flat line would mean "
                    "the gradient flows undiminished.",
    },
    2: {
        "title": "Vanishing gradients",
        "module": "vanishing",
        "intro": "Compare how much gradient reaches each layer for sigmoid with N(0, 1) and "
                 "default weights, and for ReLU with default and He init, using your `make_mlp()`.",
        "code": '''
torch.manual_seed(0)
x, readout = torch.randn(256, 256), torch.randn(256, 1) / 16
fig, ax = plt.subplots(figsize=(7, 4))
for activation, init in (("sigmoid", "normal"), ("sigmoid", "default"), ("relu", "default"), ("relu", "he")):
    model = lab.make_mlp(20, 256, 256, activation, init)
    (model(x) @ readout).sum().backward()
    norms = [m.weight.grad.norm().item() for m in model if isinstance(m, torch.nn.Linear)]
    ax.semilogy(range(1, len(norms) + 1), [max(n, 1e-30) for n in norms], marker="o", ms=3,
                label=f"{activation} + {init}")
ax.set_xlabel("layer (1 = nearest the input)")
ax.set_ylabel("||dL/dW|| of the layer (log scale)")
ax.set_title("Gradient reaching each layer, 20 layers of 256 (seed 0)")
ax.xaxis.get_major_locator().set_params(integer=True)
ax.legend()
plt.show()
''',
        "look_for": "the two sigmoid curves fall by orders of magnitude towards layer 1 "
                    "(vanishing); ReLU with He init stays roughly flat.",
    },
    3: {
        "title": "Initialisation",
        "module": "init",
        "intro": "Watch the forward signal through 20 ReLU layers with PyTorch's default init "
                 "and with your `init_net()`.",
        "code": '''
def act_std(model, x):
    stds = []
    for module in model:
        x = module(x)
        if isinstance(module, torch.nn.ReLU):
            stds.append(x.std().item())
    return stds

def relu_net():
    layers = []
    for _ in range(20):
        layers += [torch.nn.Linear(256, 256), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers)

torch.manual_seed(0)
x = torch.randn(512, 256)
with torch.no_grad():
    default = act_std(relu_net(), x)
    yours = act_std(lab.init_net(relu_net()), x)
fig, ax = plt.subplots(figsize=(7, 4))
ax.semilogy(range(1, 21), default, "k--", label="PyTorch default init")
ax.semilogy(range(1, 21), yours, marker="o", label="your init_net")
ax.set_xlabel("hidden layer")
ax.set_ylabel("activation std (log scale)")
ax.set_title("Forward signal through 20 ReLU layers of 256")
ax.xaxis.get_major_locator().set_params(integer=True)
ax.legend()
plt.show()
''',
        "look_for": "with the default init the activations shrink by about half an order of "
                    "magnitude every few layers; He init (your init_net) keeps them level.",
    },
    4: {
        "title": "Activations",
        "module": "activations",
        "intro": "Plot every activation your `make_activation()` builds and its slope: flat "
                 "parts are where gradients vanish or units die.",
        "code": '''
z = torch.linspace(-5, 5, 401, requires_grad=True)
fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4))
for name in ("sigmoid", "tanh", "relu", "leaky_relu", "elu"):
    act = lab.make_activation(name)
    y = act(z)
    (slope,) = torch.autograd.grad(y.sum(), z)
    ax.plot(z.detach(), y.detach(), label=name)
    ax2.plot(z.detach(), slope, label=name)
ax.set_xlabel("pre-activation z")
ax.set_ylabel("activation f(z) (same units as z)")
ax.set_title("The activations")
ax2.set_xlabel("pre-activation z")
ax2.set_ylabel("slope f'(z) (per unit of z)")
ax2.set_title("Their slopes: 0 means no gradient passes")
ax2.legend()
plt.show()
''',
        "look_for": "sigmoid and tanh have slope near 0 for |z| > 3 (saturation); ReLU has "
                    "slope exactly 0 for z < 0 (a unit that stays there is dead); leaky_relu and "
                    "elu keep a small slope everywhere.",
    },
    5: {
        "title": "Batch normalisation",
        "module": "batchnorm",
        "intro": "Train a deep sigmoid network with and without your BatchNorm blocks.",
        "code": '''
x, y = lab.make_data(0)
fig, ax = plt.subplots(figsize=(7, 4))
for batch_norm in (False, True):
    torch.manual_seed(0)
    model = lab.small_gaussian_init_(lab.sigmoid_net(10, 64, 16, 4, batch_norm))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for step in range(100):
        idx = torch.randint(0, len(x), (64,))
        losses.append(lab.train_step(model, opt, x[idx], y[idx]))
    ax.plot(range(1, len(losses) + 1), losses, label=f"batch_norm={batch_norm}")
ax.axhline(1.386, color="0.6", ls=":", label="chance (log 4)")
ax.set_xlabel("training step")
ax.set_ylabel("training loss (cross-entropy, nats)")
ax.set_title("10 sigmoid layers of 64, weights N(0, 0.1)")
ax.legend()
plt.show()
''',
        "look_for": "without BatchNorm the loss stays at chance (log 4 = 1.386); with it the "
                    "loss falls within a few dozen steps.",
    },
    6: {
        "title": "Gradient clipping",
        "module": "clipping",
        "intro": "Train the identity-initialised ReLU RNN with and without clipping, using "
                 "your `train_step()`.",
        "code": '''
import math
fig, ax = plt.subplots(figsize=(7, 4))
for max_norm, marker in ((math.inf, "o"), (1.0, "s")):
    torch.manual_seed(0)
    model = lab.IRNN()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    losses = []
    for step in range(60):
        x, y = lab.running_sum_batch()
        loss = lab.train_step(model, opt, x, y, max_norm)
        losses.append(loss if math.isfinite(loss) else float("nan"))
    ax.semilogy(range(1, len(losses) + 1), losses, marker=marker, ms=3, label=f"max_norm = {max_norm}")
ax.set_xlabel("training step")
ax.set_ylabel("training loss (MSE, log scale)")
ax.set_title("IRNN on running sums: with and without clipping")
ax.legend()
plt.show()
''',
        "look_for": "without clipping the loss jumps up by orders of magnitude (or becomes NaN "
                    "and the line stops); with max_norm = 1 it comes down steadily.",
    },
    7: {
        "title": "Residual connections",
        "module": "residual",
        "intro": "Compare the gradient reaching each block of a 20-block plain network and of "
                 "your residual network.",
        "code": '''
def block_grads(model, x, y):
    model.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    return [m.weight.grad.norm().item() for m in model.modules()
            if isinstance(m, torch.nn.Linear) and m.weight.shape[0] == m.weight.shape[1]]

x, y = lab.make_data(0)
fig, ax = plt.subplots(figsize=(7, 4))
for name, build in (("plain + He", lab.plain_net), ("residual, zero-init", lab.residual_net),
                    ("residual, scaled", lambda *a: lab.residual_net(*a, zero_init=False))):
    torch.manual_seed(0)
    norms = block_grads(build(20, 64, 16, 4), x[:256], y[:256])
    ax.semilogy(range(1, len(norms) + 1), [max(n, 1e-30) for n in norms], marker="o", ms=3, label=name)
ax.set_xlabel("square Linear layer (1 = nearest the input)")
ax.set_ylabel("||dL/dW|| (log scale)")
ax.set_title("Gradient per layer at initialisation, 20 blocks of 64")
ax.xaxis.get_major_locator().set_params(integer=True)
ax.legend()
plt.show()
''',
        "look_for": "the plain network's gradient changes by orders of magnitude across depth; "
                    "the residual networks keep it within a narrow band (a zero-initialised "
                    "branch's last layer gets gradient, its first layer none at first).",
    },
    8: {
        "title": "RNNs on long sequences",
        "module": "long_rnn",
        "intro": "Measure with your `gradient_reach()` how far back the gradient reaches in "
                 "default RNN/LSTM/GRU models and in your `long_memory()` versions.",
        "code": '''
fig, ax = plt.subplots(figsize=(7, 4))
lengths = [10, 20, 30, 40, 50]
for kind in ("rnn", "lstm", "gru"):
    default, yours = [], []
    for T in lengths:
        torch.manual_seed(0)
        x = torch.randn(16, T, 8)
        cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind]
        default.append(lab.gradient_reach(cls(8, 64, batch_first=True), x))
        yours.append(lab.gradient_reach(lab.long_memory(kind, 8, 64), x))
    line, = ax.plot(lengths, default, ls="--", marker="o", label=f"{kind}, default")
    ax.plot(lengths, yours, color=line.get_color(), marker="s", label=f"{kind}, long_memory")
ax.set_xlabel("sequence length T (steps)")
ax.set_ylabel("log10 ||dL/dx_1|| / ||dL/dx_T|| (orders of magnitude)")
ax.set_title("How far back the gradient reaches, at initialisation")
ax.legend(fontsize=8)
plt.show()
''',
        "look_for": "the default models fall to large negative values as T grows (the first "
                    "input stops mattering); your long_memory versions stay near 0.",
    },
}
