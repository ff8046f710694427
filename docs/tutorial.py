# %% [markdown]
# # Part II, convolution layers, with minicnn in place of torch
#
# This is the notebook's Part II (*couches de convolution*), cell by cell, with minicnn doing every
# computation in NumPy. It is a [jupytext](https://jupytext.readthedocs.io) script: open it as a notebook
# (`jupytext --to notebook docs/tutorial.py`) or run it as it is (`.venv/bin/python docs/tutorial.py`);
# the test suite runs it, so it cannot rot. Tensors are NumPy arrays: where the notebook writes
# `img.unsqueeze(dim=0)` we write `img[None]`, `kernel.repeat(1, 3, 1, 1)` becomes
# `np.tile(kernel, (1, 3, 1, 1))`, `x.relu()` becomes `F.relu(x)`, and `output.detach()` is just `output`.

# %%
import matplotlib

matplotlib.use("Agg")  # draw off-screen; remove this line in Jupyter
import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

import minicnn.functional as F  # torch.nn.functional
from minicnn import hub, models, transforms  # torchvision.models, torchvision.transforms
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
# One neuron of a 1-D convolution: $output_i = bias + \sum_{j=1}^n input_{i+j} \times kernel_j$. In 2-D, with
# channels, stride and padding, see `docs/convolution.md`. Load an RGB image:

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
print(kernel.shape)  # (1, 3, 20, 20): the batch dimension of weights is the output channel

# %%
img = transforms.ToTensor()(image)  # (3, 256, 256) in [0, 1]
img = img[None]  # the "batch dimension": (1, 3, 256, 256)
output = F.conv2d(img, kernel)
print(output.shape)  # (1, 1, 237, 237): 256 - 20 + 1
fig = plt.figure()
plt.imshow(output[0, 0, :, :], cmap="gray")
assert output.shape == (1, 1, 237, 237)

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

plt.figure(figsize=(20, 17))
for i in range(first_layer.shape[0]):
    plt.subplot(8, 8, i + 1)
    plt.imshow(first_layer[i, 0, :, :], cmap="seismic")
    plt.axis("off")

# %% [markdown]
# After training: `weights="DEFAULT"` finds torchvision's file in the torch hub cache (and downloads it
# when allowed). Without it (no network here), the trained network at hand is EfficientNet-Lite0, whose
# weights ship with a Python package: its first layer is shown instead, and labelled so.

# %%
try:
    model = models.resnet50(weights="DEFAULT", download=False)
    first_layer, title = model.conv1.weight, "ResNet50, trained"
except (hub.OfflineError, FileNotFoundError) as e:
    print("ResNet50's pretrained weights are not here:", e)
    first_layer, title = models.efficientnet_lite0(weights="DEFAULT")._conv_stem.weight, "EfficientNet-Lite0, trained"
print(title, first_layer.shape)

plt.figure(figsize=(20, 17))
plt.suptitle(title)
for i in range(first_layer.shape[0]):
    plt.subplot(8, 8, i + 1)
    plt.imshow(first_layer[i, 0, :, :], cmap="seismic")
    plt.axis("off")

# %% [markdown]
# **Exercise (solved):** ResNet50's first conv layer has 64 neurons (one kernel each); a kernel has
# 3 x 7 x 7 = 147 weights; the layer has 64 x 147 = 9,408 weights.

# %%
weight = models.resnet50().conv1.weight
neurons, per_kernel = weight.shape[0], weight[0].size
print(neurons, per_kernel, weight.size)
assert (neurons, per_kernel, weight.size) == (64, 147, 9408)

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
    model = models.vgg16(weights="DEFAULT", download=False)
    x = img
except (hub.OfflineError, FileNotFoundError):
    print("VGG16's pretrained weights are not here: EfficientNet-Lite0 classifies instead")
    # eval() at once: EfficientNet has BatchNorm, which in training mode would normalize with the
    # statistics of this one-image batch instead of ImageNet's (VGG16 has none: only dropout changes)
    model = models.efficientnet_lite0(weights="DEFAULT").eval()
    x = models.EfficientNetLite0_Weights.DEFAULT.transforms()(Image.open(path))[None]

output = model(x)  # raw scores
output = F.softmax(output, dim=1)  # softmax
c = output.argmax(axis=1)  # prediction
print(c, imagenet_categories()[c[0]])
plt.plot(output[0])  # "probabilities" of the classes

# %% [markdown]
# Run the last cell several times: the probabilities change although the input does not. That is dropout
# (print the model again), which switches off a random subset of the classifier's neurons. To freeze the
# network, switch to evaluation mode: `model.eval()`.

# %%
vgg = models.vgg16()  # training mode by default, as in torch
a, b = vgg(img), vgg(img)
print("training mode, two passes differ by", np.abs(a - b).max())
vgg.eval()
a, b = vgg(img), vgg(img)
print("eval mode, two passes differ by", np.abs(a - b).max())
assert np.array_equal(a, b)

# %% [markdown]
# Feature maps through forward hooks. (Careful: VGG16's ReLUs are in place, so the arrays kept by these
# hooks are overwritten by the next ReLU: what you see is after ReLU, in torch as here.)

# %%
z = []


def store_layer_output(model, input, output):
    z.append(output)


vgg.features[0].register_forward_hook(store_layer_output)
vgg.features[10].register_forward_hook(store_layer_output)
vgg.features[17].register_forward_hook(store_layer_output)
vgg.features[28].register_forward_hook(store_layer_output)

output = vgg(img)

for fm in z:
    print(fm.shape)

# %% [markdown]
# **Exercise (solved):** show the feature maps of layers 0, 10, 17 and 28.

# %%
for layer, feature_maps in zip((0, 10, 17, 28), z):
    plt.figure(figsize=(12, 12))
    plt.suptitle(f"features[{layer}]: {feature_maps.shape[1:]}")
    for i in range(16):
        plt.subplot(4, 4, i + 1)
        plt.imshow(feature_maps[0, i], cmap="viridis")
        plt.axis("off")
plt.close("all")
