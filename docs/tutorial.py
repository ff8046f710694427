# %% [markdown]
# # Part II, convolution layers, with minicnn in place of torch
#
# This is the notebook's Part II (*couches de convolution*), cell by cell, with minicnn doing every
# computation in NumPy. It is a plain Python script whose cells are marked `# %%` (jupytext's "percent"
# format): run it as it is (`.venv/bin/python docs/tutorial.py`), or step through its cells in an editor that
# knows them (VS Code, Spyder, PyCharm). [jupytext](https://jupytext.readthedocs.io), which is not a
# dependency of minicnn (`pip install jupytext`), turns it into a notebook:
# `jupytext --to notebook docs/tutorial.py`. The test suite runs it, so it cannot rot. The same walk, with
# figures and in English or French, is what `minicnn demo` writes. Tensors are NumPy arrays: where the notebook writes
# `img.unsqueeze(dim=0)` we write `img[None]`, `kernel.repeat(1, 3, 1, 1)` becomes
# `np.tile(kernel, (1, 3, 1, 1))`, `x.relu()` becomes `F.relu(x)`, and `output.detach()` is just `output`.

# %%
import matplotlib

matplotlib.use("Agg")  # draw off-screen; remove this line in Jupyter
import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

import minicnn.functional as F  # torch.nn.functional
from minicnn import hub, models, nn, transforms  # torchvision.models, torch.nn, torchvision.transforms
from minicnn.data import imagenet_categories, sample_image_path

path = sample_image_path()  # the notebook's cat.jpg: Chelsea the cat (CC0), shipped with minicnn

# %% [markdown]
# ## A. Convolution layers and max pooling
#
# Two standard deep networks. The last layers are perceptrons (`Linear`); the first part is made of
# `Conv2d` layers, the convolutions.

# %%
model = models.vgg16()  # random weights: only the architecture matters here
print(model)

# %% [markdown]
# One neuron of a 1-D convolution: $output_i = bias + \sum_{j=1}^n input_{i+j} \times kernel_j$ (1). The
# convolution of signal processing reads $input_{i-j}$ (the kernel flipped): what deep-learning libraries call a
# convolution is a cross-correlation, in torch as in minicnn. In 2-D, a layer with $C_{out}$ neurons on a batch
# $(N, C_{in}, H, W)$ has weights $(C_{out}, C_{in}, K, K)$; the kernel moves by the stride $s$ over the input
# padded with $p$ zeros on each side, and the output is $\lfloor (H + 2p - K) / s \rfloor + 1$ pixels high
# (`docs/convolution.md`; Vincent Dumoulin's animations: https://github.com/vdumoulin/conv_arithmetic).
# Load an RGB image:

# %%
image = Image.open(path).convert("RGB")
image = image.resize((256, 256))

# %% [markdown]
# A Gaussian kernel of size 20 (built exactly as the notebook builds it), then applied to the image:

# %%
x_range = np.arange(-5, 5, 0.5, dtype=np.float32)
y_range = np.arange(-5, 5, 0.5, dtype=np.float32)
xx, yy = np.meshgrid(x_range, y_range, indexing="ij")  # torch.meshgrid's default indexing
var = 10
kernel = (1.0 / (2.0 * 3.14 * var)) * np.exp(-(xx**2 + yy**2) / (2 * var))  # gaussian
plt.imshow(kernel, cmap="gray")

# %%
kernel = np.tile(kernel, (1, 3, 1, 1))  # the same kernel for R, G and B
print(kernel.shape)  # (1, 3, 20, 20): (C_out, C_in, KH, KW), one output channel (one neuron), not a batch

# %%
img = transforms.ToTensor()(image)  # (3, 256, 256) in [0, 1]
img = img[None]  # the "batch dimension": (1, 3, 256, 256)
output = F.conv2d(img, kernel)
print(output.shape)  # (1, 1, 237, 237): 256 - 20 + 1
fig = plt.figure()
plt.imshow(output[0, 0, :, :], cmap="gray")
plt.colorbar()  # imshow stretches the grey levels: the bar gives the true values
assert output.shape == (1, 1, 237, 237)

# %% [markdown]
# This Gaussian is not normalised: its weights sum to about 3.1 per channel, 9.4 over R, G and B, so the
# output is about 9.4 times an average of the image (values up to 6.6 for pixels below 1). Divide the kernel by
# `kernel.sum()` for a true weighted average. Stride and padding change the size as the formula says:

# %%
print(kernel.sum())  # about 9.4
for stride, padding in [(1, 0), (1, 5), (2, 0), (3, 0)]:
    print(f"stride={stride}, padding={padding} ->", F.conv2d(img, kernel, stride=stride, padding=padding).shape)

# %% [markdown]
# **Exercise (solved):** the Prewitt filter through conv2d.

# %%
# horizontal gradient
kernel1 = np.array([[-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0]], dtype=np.float32)
kernel1 = np.tile(kernel1, (1, 3, 1, 1))
# vertical gradient: the transposed kernel
kernel2 = np.array([[-1.0, -1.0, -1.0], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]], dtype=np.float32)
kernel2 = np.tile(kernel2, (1, 3, 1, 1))

output1 = F.conv2d(img, kernel1)
output2 = F.conv2d(img, kernel2)

output = np.sqrt(output1**2 + output2**2)

fig = plt.figure()
plt.imshow(output[0, 0, :, :], cmap="gray")

# %% [markdown]
# The Prewitt filter cannot be encoded in a standard network (a square and a square root). Networks use
# simpler nonlinearities: ReLU (the positive part) and max pooling (the largest value of each 2x2 square).

# %%
x = np.random.default_rng().random((1, 1, 4, 4), dtype=np.float32) - 0.5  # torch.rand(1, 1, 4, 4) - 0.5
print(x)
print(F.relu(x))

x = F.max_pool2d(x, kernel_size=2)
print(x)
assert x.shape == (1, 1, 2, 2)

# %% [markdown]
# **Exercise (solved):** the size of VGG16's layer-30 output compared with the input. A forward hook on
# `features[30]` tells it, as does `minicnn summary vgg16 --input 3x256x256`:

# %%
sizes = []
handle = model.features[30].register_forward_hook(lambda module, inputs, output: sizes.append(output.shape))
model.eval()(img)
handle.remove()
print(model.features[30], "->", sizes[0])  # (1, 512, 8, 8): 3x256x256 becomes 512x8x8
assert sizes[0] == (1, 512, 8, 8)

# %% [markdown]
# ## B. Convolution kernels after training
#
# The 64 kernels of ResNet50's first layer, before training:

# %%
model = models.resnet50()
first_layer = model.conv1.weight
print(first_layer.shape)


def show_kernels(first_layer, title=""):
    v = np.abs(first_layer[:, 0]).max()  # one symmetric colour scale for every kernel: 0 is white
    plt.figure(figsize=(20, 17))
    plt.suptitle(title)
    for i in range(first_layer.shape[0]):
        plt.subplot(8, 8, i + 1)
        plt.imshow(first_layer[i, 0, :, :], cmap="seismic", vmin=-v, vmax=v)
        plt.axis("off")
    plt.colorbar(ax=plt.gcf().axes)


show_kernels(first_layer, "ResNet50, before training")

# %% [markdown]
# After training: the notebook's `pretrained=True` is torchvision's V1 file, which minicnn finds in the torch
# hub cache (V2, the newer `DEFAULT`, is tried next; `download=True` would fetch it). Without them (no network
# here), the trained network at hand is EfficientNet-Lite0, whose weights ship with a Python package: its first
# layer is shown instead, and labelled so. Its 3x3 kernels are too small to show the Gabor or Morlet-like
# patterns of ResNet50's trained 7x7 kernels, and it is another network, not the same one after training.

# %%
first_layer = None
for name in ("IMAGENET1K_V1", "IMAGENET1K_V2"):
    try:
        first_layer, title = models.resnet50(weights=name, download=False).conv1.weight, f"ResNet50, trained ({name})"
        break
    except (hub.OfflineError, FileNotFoundError) as e:
        print(f"ResNet50's {name} weights are not here:", e)
if first_layer is None:
    first_layer, title = models.efficientnet_lite0(weights="DEFAULT")._conv_stem.weight, "EfficientNet-Lite0, trained"
print(title, first_layer.shape)
show_kernels(first_layer, title)

# %% [markdown]
# **Exercise (solved):** ResNet50's first conv layer has 64 neurons (one kernel each); a kernel has
# 3 x 7 x 7 = 147 weights; the layer has 64 x 147 = 9,408 weights.

# %%
weight = models.resnet50().conv1.weight
neurons, per_kernel = weight.shape[0], weight[0].size
print(neurons, per_kernel, weight.size)
assert (neurons, per_kernel, weight.size) == (64, 147, 9408)

# %% [markdown]
# **The same network before and after training.** minicnn trains too (docs/training.md): a small CNN on the
# 1,438 handwritten digits shipped with minicnn, with the loop a PyTorch user writes. Its first layer before and
# after, on one colour scale: the same 32 kernels, changed by training alone.

# %%
import minicnn  # noqa: E402
import minicnn.explain  # noqa: E402
from minicnn import datasets, optim  # noqa: E402
from minicnn.training import digits_cnn, kernel_figure  # noqa: E402

x_train, y_train = datasets.load_digits("train")
x_test, y_test = datasets.load_digits("test")
net = digits_cnn(generator=np.random.default_rng(0))
before = net[0].weight.copy()
loss_fn, opt = nn.CrossEntropyLoss(), optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
order = np.random.default_rng(0)
for epoch in range(1, 6):
    for batch in np.array_split(order.permutation(len(x_train)), len(x_train) // 64):
        opt.zero_grad()
        loss = loss_fn(net(x_train[batch]), y_train[batch])
        loss.backward()
        opt.step()
    with minicnn.no_grad():
        accuracy = (net(x_test).argmax(axis=1) == y_test).mean()
    print(f"epoch {epoch}: loss {float(loss):.3f}, test accuracy {100 * accuracy:.1f}%")
kernel_figure(before, np.asarray(net[0].weight), ("before training (random)", "after training"))

# %% [markdown]
# **Learning the Prewitt kernel by gradient descent**: an unknown 3x3 kernel, starting from zeros, fitted to
# (image, Prewitt-filtered image) pairs by minimising the mean squared difference.

# %%
gray = transforms.ToTensor()(Image.open(path).convert("L").resize((256, 256)))[None, :, 100:196, 150:246]
prewitt = np.array([[-1.0, 0.0, 1.0]] * 3, dtype=np.float32)[None, None]
target = F.conv2d(gray, prewitt)
w = nn.Parameter(np.zeros((1, 1, 3, 3), np.float32))
opt = optim.Adam([w], lr=0.05)
for _ in range(300):
    opt.zero_grad()
    loss = F.mse_loss(F.conv2d(gray, w), target)
    loss.backward()
    opt.step()
print(f"loss {float(loss):.1e}; learned kernel:\n{np.round(w[0, 0], 2)}")
assert np.abs(w[0, 0] - prewitt[0, 0]).max() < 0.1

# %% [markdown]
# ## C. Feature maps
#
# Is the cat recognised? The notebook's preprocessing, then VGG16 when its pretrained weights are here,
# else the trained EfficientNet-Lite0 (with its own preprocessing).

# %%
image = Image.open(path).convert("RGB")
image = image.resize((256, 256))
img = transforms.ToTensor()(image)
img = transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])(img)
img = img[None]

try:
    model = models.vgg16(weights="IMAGENET1K_V1", download=False)  # the notebook's pretrained=True
    x, layers = img, [model.features[i] for i in (0, 10, 17, 28)]
except (hub.OfflineError, FileNotFoundError):
    print("VGG16's pretrained weights are not here: the trained EfficientNet-Lite0 stands in")
    model = models.efficientnet_lite0(weights="DEFAULT")
    x = models.EfficientNetLite0_Weights.DEFAULT.transforms()(Image.open(path).convert("RGB"))[None]
    # where its hooks go below: the first convolution (1/2 of the image), then blocks at 1/4, 1/8 and 1/16,
    # the depths of VGG16's layers 10, 17 and 28
    layers = [model._conv_stem, model._blocks[2], model._blocks[4], model._blocks[10]]
model.eval()  # see below: dropout off (and EfficientNet's batch norms on ImageNet's statistics)

output = model(x)  # raw scores
output = F.softmax(output, dim=1)  # softmax
c = output.argmax(axis=1)  # prediction
print(c, imagenet_categories()[c[0]])
plt.figure()
plt.plot(output[0])  # "probabilities" of the classes

# %% [markdown]
# In the notebook, running the last cell several times changes the probabilities although the input does not:
# the model was left in training mode, where dropout (print the model again) sets each element of its input to
# zero with probability p and multiplies the others by 1/(1 - p). `model.eval()` switches it off. VGG16 has no
# batch norm, so `model.train()` only switches its dropout on; EfficientNet-Lite0's batch norms must stay in eval
# mode (in training mode they would normalise with this one image's statistics), so only its `_dropout` is put in
# training mode.

# %%
dropout_layers = [m for m in model.modules() if isinstance(m, nn.Dropout)]
print(dropout_layers)
for m in dropout_layers:
    m.train()  # dropout on, everything else still in eval mode
a, b = model(x), model(x)
print("training mode, the predictions:", imagenet_categories()[a.argmax()], imagenet_categories()[b.argmax()])
print("training mode, two passes differ by", np.abs(F.softmax(a, dim=1) - F.softmax(b, dim=1)).max())
assert not np.array_equal(a, b)
model.eval()
a, b = model(x), model(x)
print("eval mode, two passes differ by", np.abs(a - b).max())
assert np.array_equal(a, b)

# %% [markdown]
# Feature maps through forward hooks, on the trained network. (Careful: VGG16's ReLUs are in place, so the arrays
# kept by these hooks are overwritten by the next ReLU: what you see is after ReLU, in torch as here; a map that is
# zero everywhere is a channel whose trait is absent from this image. With random weights the maps would be
# blurred mixes of the image, specific to nothing.)

# %%
z = []


def store_layer_output(model, input, output):
    z.append(output)


for layer in layers:
    layer.register_forward_hook(store_layer_output)

output = model(x)

for fm in z:
    print(fm.shape)

# %% [markdown]
# **Exercise (solved):** show the feature maps of the four layers. At 1/4 of the image (VGG16's layer 10), a
# channel's response is often specific to one trait: the eyes, the whiskers, edges of one orientation.

# %%
for layer, feature_maps in zip(layers, z):
    plt.figure(figsize=(12, 12))
    plt.suptitle(f"{type(layer).__name__}: {feature_maps.shape[1:]}")
    for i in range(16):
        plt.subplot(4, 4, i + 1)
        plt.imshow(feature_maps[0, i], cmap="viridis")
        plt.axis("off")
plt.show()

# %% [markdown]
# **Grad-CAM**: where did the network look to answer? The gradient of the top class's score with respect to a
# late layer's feature maps weighs them (minicnn.explain, as pytorch-grad-cam).

# %%
c = int(np.argmax(model.eval()(x)[0]))
cam = minicnn.explain.grad_cam(model, x[0], class_index=c)
rgb = x[0].transpose(1, 2, 0)
rgb = (rgb - rgb.min()) / (rgb.max() - rgb.min())
plt.figure()
plt.title(f"Grad-CAM, class {c}")
plt.imshow(minicnn.explain.overlay(rgb, cam))
plt.axis("off")
plt.show()
