"""The code the report shows, cell by cell as in the notebook, with minicnn in place of torch.

The demo runs exactly these cells, in order, in one namespace (``Report.run``), so what the report shows is
what ran; tests/test_report.py runs them again from the report itself. Each cell is written twice, with
English and with French comments; the code is the same (a test checks it). ``$name`` marks a value that
depends on the run (the image, the weights found, the number of passes).
"""

from __future__ import annotations

from string import Template


def code(lang: str, key: str, **values) -> str:
    en, fr = SNIPPETS[key]
    return Template(fr if lang == "fr" else en).substitute(values).strip("\n")


SNIPPETS = {
    "imports": ('''
import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

import minicnn
import minicnn.functional as F  # torch.nn.functional
from minicnn import models, transforms  # torchvision.models, torchvision.transforms
from minicnn.data import imagenet_categories, sample_image_path

# the image: the notebook's cat.jpg is Chelsea the cat here, shipped with minicnn
path = $path
''', '''
import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

import minicnn
import minicnn.functional as F  # torch.nn.functional
from minicnn import models, transforms  # torchvision.models, torchvision.transforms
from minicnn.data import imagenet_categories, sample_image_path

# l'image : le cat.jpg du notebook est ici Chelsea le chat, fournie avec minicnn
path = $path
'''),
    "vgg": ('''
vgg = models.vgg16()  # random weights: only the architecture matters here
print(vgg)
''', '''
vgg = models.vgg16()  # poids aléatoires : seule l'architecture compte ici
print(vgg)
'''),
    "resnet": ('''
resnet = models.resnet50()
print(resnet)
''', '''
resnet = models.resnet50()
print(resnet)
'''),
    "image": ('''
image = Image.open(path).convert("RGB")
image = image.resize((256, 256))
img = transforms.ToTensor()(image)  # (3, 256, 256), values in [0, 1]
img = img[None]  # img.unsqueeze(dim=0): the batch dimension is added
print(img.shape, img.dtype)
''', '''
image = Image.open(path).convert("RGB")
image = image.resize((256, 256))
img = transforms.ToTensor()(image)  # (3, 256, 256), valeurs dans [0, 1]
img = img[None]  # img.unsqueeze(dim=0) : ajout de la dimension de lot (batch)
print(img.shape, img.dtype)
'''),
    "gauss": ('''
# a Gaussian kernel of size 20
x_range = np.arange(-5, 5, 0.5, dtype=np.float32)
y_range = np.arange(-5, 5, 0.5, dtype=np.float32)
xx, yy = np.meshgrid(x_range, y_range, indexing="ij")  # torch.meshgrid's default indexing
var = 10

kernel = (1.0 / (2.0 * 3.14 * var)) * np.exp(-(xx**2 + yy**2) / (2 * var))  # Gaussian

plt.imshow(kernel, cmap="gray")
''', '''
# définition d'un noyau gaussien de taille 20
x_range = np.arange(-5, 5, 0.5, dtype=np.float32)
y_range = np.arange(-5, 5, 0.5, dtype=np.float32)
xx, yy = np.meshgrid(x_range, y_range, indexing="ij")  # l'indexation par défaut de torch.meshgrid
var = 10

kernel = (1.0 / (2.0 * 3.14 * var)) * np.exp(-(xx**2 + yy**2) / (2 * var))  # gaussienne

plt.imshow(kernel, cmap="gray")
'''),
    "tile": ('''
# the same kernel for every channel, R, G and B: kernel.repeat(1, 3, 1, 1)
kernel = np.tile(kernel, (1, 3, 1, 1))

# (C_out, C_in, KH, KW): one output channel (one neuron), three input channels
print(kernel.shape)
''', '''
# le même noyau pour chaque canal R, V et B : kernel.repeat(1, 3, 1, 1)
kernel = np.tile(kernel, (1, 3, 1, 1))

# (C_out, C_in, KH, KW) : un canal de sortie (un neurone), trois canaux d'entrée
print(kernel.shape)
'''),
    "blur": ('''
output = F.conv2d(img, kernel)  # the convolution
print(output.shape)
plt.figure()
plt.imshow(output[0, 0, :, :], cmap="gray")
plt.colorbar()  # the true values: this kernel is not normalised
''', '''
output = F.conv2d(img, kernel)  # la convolution
print(output.shape)
plt.figure()
plt.imshow(output[0, 0, :, :], cmap="gray")
plt.colorbar()  # les vraies valeurs : ce noyau n'est pas normalisé
'''),
    "stride": ('''
for stride, padding in [(1, 0), (1, 5), (2, 0), (3, 0)]:
    out = F.conv2d(img, kernel, stride=stride, padding=padding)
    print(f"stride={stride}, padding={padding} ->", out.shape)
''', '''
for stride, padding in [(1, 0), (1, 5), (2, 0), (3, 0)]:
    out = F.conv2d(img, kernel, stride=stride, padding=padding)
    print(f"stride={stride}, padding={padding} ->", out.shape)
'''),
    "prewitt": ('''
# horizontal gradient (float32, like img: conv2d refuses to mix float32 and float64, as torch does)
kernel1 = np.array([[-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0]], dtype=np.float32)
kernel1 = np.tile(kernel1, (1, 3, 1, 1))  # kernel1.repeat(1, 3, 1, 1)

# vertical gradient: the transposed kernel
kernel2 = kernel1.transpose(0, 1, 3, 2)  # kernel1.transpose(2, 3)

output1 = F.conv2d(img, kernel1)
output2 = F.conv2d(img, kernel2)

output = np.sqrt(output1**2 + output2**2)  # (output1**2 + output2**2).sqrt()
print(output.shape)

plt.figure()
plt.imshow(output[0, 0, :, :], cmap="gray")
''', '''
# gradient horizontal (en float32, comme img : conv2d refuse de mélanger float32 et float64, comme torch)
kernel1 = np.array([[-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0]], dtype=np.float32)
kernel1 = np.tile(kernel1, (1, 3, 1, 1))  # kernel1.repeat(1, 3, 1, 1)

# gradient vertical : le noyau transposé
kernel2 = kernel1.transpose(0, 1, 3, 2)  # kernel1.transpose(2, 3)

output1 = F.conv2d(img, kernel1)
output2 = F.conv2d(img, kernel2)

output = np.sqrt(output1**2 + output2**2)  # (output1**2 + output2**2).sqrt()
print(output.shape)

plt.figure()
plt.imshow(output[0, 0, :, :], cmap="gray")
'''),
    "relu": ('''
rng = np.random.default_rng(0)  # seeded: the same numbers at every run of this report
x = rng.random((1, 1, 4, 4), dtype=np.float32) - 0.5  # torch.rand(1, 1, 4, 4) - 0.5
print(x)
print(F.relu(x))  # the positive part: x.relu()

# max pooling
x = F.max_pool2d(x, kernel_size=2)
print(x)
''', '''
rng = np.random.default_rng(0)  # graine fixée : les mêmes nombres à chaque exécution de ce rapport
x = rng.random((1, 1, 4, 4), dtype=np.float32) - 0.5  # torch.rand(1, 1, 4, 4) - 0.5
print(x)
print(F.relu(x))  # partie positive : x.relu()

# maxpooling
x = F.max_pool2d(x, kernel_size=2)
print(x)
'''),
    "layer30": ('''
sizes = []
handle = vgg.features[30].register_forward_hook(lambda module, inputs, output: sizes.append(output.shape))
vgg.eval()(img)
handle.remove()
print(vgg.features[30], "->", sizes[0])
''', '''
sizes = []
handle = vgg.features[30].register_forward_hook(lambda module, inputs, output: sizes.append(output.shape))
vgg.eval()(img)
handle.remove()
print(vgg.features[30], "->", sizes[0])
'''),
    "kernels.before": ('''
# before training: model.conv1.weight.data in torch
first_layer = resnet.conv1.weight
print(first_layer.shape)


def show_kernels(first_layer):
    v = np.abs(first_layer[:, 0]).max()  # one symmetric colour scale for every kernel: 0 is white
    plt.figure(figsize=(20, 17))
    for i in range(first_layer.shape[0]):
        plt.subplot(8, 8, i + 1)
        plt.imshow(first_layer[i, 0, :, :], cmap="seismic", vmin=-v, vmax=v)
        plt.axis("off")
    plt.colorbar(ax=plt.gcf().axes)


show_kernels(first_layer)
''', '''
# avant apprentissage : model.conv1.weight.data dans torch
first_layer = resnet.conv1.weight
print(first_layer.shape)


def show_kernels(first_layer):
    v = np.abs(first_layer[:, 0]).max()  # une même échelle de couleurs symétrique pour tous : 0 en blanc
    plt.figure(figsize=(20, 17))
    for i in range(first_layer.shape[0]):
        plt.subplot(8, 8, i + 1)
        plt.imshow(first_layer[i, 0, :, :], cmap="seismic", vmin=-v, vmax=v)
        plt.axis("off")
    plt.colorbar(ax=plt.gcf().axes)


show_kernels(first_layer)
'''),
    "kernels.resnet": ('''
# after training: models.resnet50(pretrained=True) in the notebook
model = models.resnet50(weights=$weights)
first_layer = model.conv1.weight
print(first_layer.shape)
show_kernels(first_layer)
''', '''
# après apprentissage : models.resnet50(pretrained=True) dans le notebook
model = models.resnet50(weights=$weights)
first_layer = model.conv1.weight
print(first_layer.shape)
show_kernels(first_layer)
'''),
    "kernels.effnet": ('''
# ResNet50's trained weights are not here: the first layer of EfficientNet-Lite0, trained (weights shipped)
model = models.efficientnet_lite0(weights=$weights)
first_layer = model._conv_stem.weight
print(first_layer.shape)
show_kernels(first_layer)
''', '''
# les poids entraînés du ResNet50 sont absents : la première couche d'EfficientNet-Lite0, entraîné (poids fournis)
model = models.efficientnet_lite0(weights=$weights)
first_layer = model._conv_stem.weight
print(first_layer.shape)
show_kernels(first_layer)
'''),
    "count": ('''
weight = resnet.conv1.weight
neurons, per_kernel = weight.shape[0], weight[0].size
print(neurons, per_kernel, weight.size)  # neurons, weights per kernel, weights in the layer
''', '''
weight = resnet.conv1.weight
neurons, per_kernel = weight.shape[0], weight[0].size
print(neurons, per_kernel, weight.size)  # neurones, poids par noyau, poids de la couche
'''),
    "classify.vgg": ('''
image = Image.open(path).convert("RGB")
image = image.resize((256, 256))
x = transforms.ToTensor()(image)
x = transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])(x)
x = x[None]

model = models.vgg16(weights=$weights).eval()  # pretrained=True; eval(): see C.2
minicnn.optimize(model, algorithm="default")  # minicnn's addition: the same numbers, faster
output = model(x)  # raw scores
output = F.softmax(output, dim=1)  # softmax
minicnn.optimize.unfreeze(model)  # the plain model again: the next cells change its mode and hook it

c = output.argmax(axis=1)  # prediction
print(c, imagenet_categories()[c[0]])

plt.figure()
plt.plot(output[0])  # "probabilities" of the classes
''', '''
image = Image.open(path).convert("RGB")
image = image.resize((256, 256))
x = transforms.ToTensor()(image)
x = transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])(x)
x = x[None]

model = models.vgg16(weights=$weights).eval()  # pretrained=True ; eval() : voir C.2
minicnn.optimize(model, algorithm="default")  # l'ajout de minicnn : les mêmes nombres, plus vite
output = model(x)  # sortie brute
output = F.softmax(output, dim=1)  # fonction softmax
minicnn.optimize.unfreeze(model)  # le modèle simple : les cellules suivantes changent son mode et y posent des hooks

c = output.argmax(axis=1)  # prédiction
print(c, imagenet_categories()[c[0]])

plt.figure()
plt.plot(output[0])  # « probabilités » associées aux classes
'''),
    "classify.effnet": ('''
model = models.efficientnet_lite0(weights=$weights).eval()  # eval(): see C.2
x = models.EfficientNetLite0_Weights.DEFAULT.transforms()(Image.open(path).convert("RGB"))  # its own preprocessing
x = x[None]  # (1, 3, 224, 224)

minicnn.optimize(model, algorithm="default")  # minicnn's addition: the same numbers, faster
output = model(x)  # raw scores
output = F.softmax(output, dim=1)  # softmax
minicnn.optimize.unfreeze(model)  # the plain model again: the next cells change its mode and hook it

c = output.argmax(axis=1)  # prediction
print(c, imagenet_categories()[c[0]])

plt.figure()
plt.plot(output[0])  # "probabilities" of the classes
''', '''
model = models.efficientnet_lite0(weights=$weights).eval()  # eval() : voir C.2
x = models.EfficientNetLite0_Weights.DEFAULT.transforms()(Image.open(path).convert("RGB"))  # son prétraitement
x = x[None]  # (1, 3, 224, 224)

minicnn.optimize(model, algorithm="default")  # l'ajout de minicnn : les mêmes nombres, plus vite
output = model(x)  # sortie brute
output = F.softmax(output, dim=1)  # fonction softmax
minicnn.optimize.unfreeze(model)  # le modèle simple : les cellules suivantes changent son mode et y posent des hooks

c = output.argmax(axis=1)  # prédiction
print(c, imagenet_categories()[c[0]])

plt.figure()
plt.plot(output[0])  # « probabilités » associées aux classes
'''),
    "dropout.vgg": ('''
print(model.classifier)
minicnn.manual_seed(0)  # the same random draws at every run of this report

model.train()  # training mode: dropout on (VGG16 has no batch norm: nothing else changes)
train_passes = [F.softmax(model(x), dim=1)[0] for _ in range($passes)]

model.eval()  # eval mode: dropout off
eval_passes = [F.softmax(model(x), dim=1)[0] for _ in range($passes)]
''', '''
print(model.classifier)
minicnn.manual_seed(0)  # les mêmes tirages aléatoires à chaque exécution de ce rapport

model.train()  # mode entraînement : dropout actif (le VGG16 n'a pas de batch norm : rien d'autre ne change)
train_passes = [F.softmax(model(x), dim=1)[0] for _ in range($passes)]

model.eval()  # mode évaluation : dropout désactivé
eval_passes = [F.softmax(model(x), dim=1)[0] for _ in range($passes)]
'''),
    "dropout.effnet": ('''
print(model._dropout)
minicnn.manual_seed(0)  # the same random draws at every run of this report

model._dropout.train()  # only the Dropout layer in training mode: the BatchNorm2d layers stay in eval mode
train_passes = [F.softmax(model(x), dim=1)[0] for _ in range($passes)]

model._dropout.eval()  # eval mode again: dropout off
eval_passes = [F.softmax(model(x), dim=1)[0] for _ in range($passes)]
''', '''
print(model._dropout)
minicnn.manual_seed(0)  # les mêmes tirages aléatoires à chaque exécution de ce rapport

model._dropout.train()  # seule la couche Dropout en mode entraînement : les BatchNorm2d restent en mode évaluation
train_passes = [F.softmax(model(x), dim=1)[0] for _ in range($passes)]

model._dropout.eval()  # retour au mode évaluation : dropout désactivé
eval_passes = [F.softmax(model(x), dim=1)[0] for _ in range($passes)]
'''),
    "hooks.vgg": ('''
z = []


def store_layer_output(model, input, output):  # stores the feature maps in z
    z.append(output)


model.features[0].register_forward_hook(store_layer_output)
model.features[10].register_forward_hook(store_layer_output)
model.features[17].register_forward_hook(store_layer_output)
model.features[28].register_forward_hook(store_layer_output)

output = model(x)

for fm in z:
    print(fm.shape)
''', '''
z = []


def store_layer_output(model, input, output):  # stocke dans z les cartes de caractéristiques
    z.append(output)


model.features[0].register_forward_hook(store_layer_output)
model.features[10].register_forward_hook(store_layer_output)
model.features[17].register_forward_hook(store_layer_output)
model.features[28].register_forward_hook(store_layer_output)

output = model(x)

for fm in z:
    print(fm.shape)
'''),
    "hooks.effnet": ('''
z = []


def store_layer_output(model, input, output):  # stores the feature maps in z
    z.append(output)


model._conv_stem.register_forward_hook(store_layer_output)  # 1/2 of the image
model._blocks[2].register_forward_hook(store_layer_output)  # 1/4, like VGG16's layer 10
model._blocks[4].register_forward_hook(store_layer_output)  # 1/8, like layer 17
model._blocks[10].register_forward_hook(store_layer_output)  # 1/16, like layer 28

output = model(x)

for fm in z:
    print(fm.shape)
''', '''
z = []


def store_layer_output(model, input, output):  # stocke dans z les cartes de caractéristiques
    z.append(output)


model._conv_stem.register_forward_hook(store_layer_output)  # la moitié de l'image
model._blocks[2].register_forward_hook(store_layer_output)  # le quart, comme la couche 10 du VGG16
model._blocks[4].register_forward_hook(store_layer_output)  # le huitième, comme la couche 17
model._blocks[10].register_forward_hook(store_layer_output)  # le seizième, comme la couche 28

output = model(x)

for fm in z:
    print(fm.shape)
'''),
    "maps": ('''
feature_maps = z[1]

plt.figure(figsize=(12, 12))
for i in range(16):
    plt.subplot(4, 4, i + 1)
    plt.imshow(feature_maps[0, i])
    plt.axis("off")
''', '''
feature_maps = z[1]

plt.figure(figsize=(12, 12))
for i in range(16):
    plt.subplot(4, 4, i + 1)
    plt.imshow(feature_maps[0, i])
    plt.axis("off")
'''),
    "train.digits": ('''
# train a small CNN on handwritten digits, and keep its first layer before and after (minicnn can train)
from minicnn import datasets, nn, optim
from minicnn.training import digits_cnn

x_train, y_train = datasets.load_digits("train")  # 1,438 digits of 8x8 pixels and their labels
x_test, y_test = datasets.load_digits("test")  # 359 others, kept aside to measure
net = digits_cnn(generator=np.random.default_rng(0))  # conv 3x3 (32) -> pool -> conv 3x3 (64) -> pool -> linear
before = net[0].weight.copy()  # its 32 first-layer kernels, random
loss_fn = nn.CrossEntropyLoss()
opt = optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
order = np.random.default_rng(0)
for epoch in range(1, $epochs + 1):
    for batch in np.array_split(order.permutation(len(x_train)), len(x_train) // 64):
        opt.zero_grad()
        loss = loss_fn(net(x_train[batch]), y_train[batch])  # forward, recorded
        loss.backward()  # every weight's gradient, in .grad
        opt.step()  # a small step against the gradient
    with minicnn.no_grad():
        accuracy = (net(x_test).argmax(axis=1) == y_test).mean()
    print(f"{epoch=} {float(loss)=:.3f} {accuracy=:.3f}")
after = net[0].weight
''', '''
# entraîner un petit CNN sur des chiffres manuscrits, et garder sa première couche avant et après (minicnn apprend)
from minicnn import datasets, nn, optim
from minicnn.training import digits_cnn

x_train, y_train = datasets.load_digits("train")  # 1 438 chiffres de 8x8 pixels et leurs étiquettes
x_test, y_test = datasets.load_digits("test")  # 359 autres, mis de côté pour mesurer
net = digits_cnn(generator=np.random.default_rng(0))  # conv 3x3 (32) -> pool -> conv 3x3 (64) -> pool -> linéaire
before = net[0].weight.copy()  # ses 32 noyaux de première couche, aléatoires
loss_fn = nn.CrossEntropyLoss()
opt = optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
order = np.random.default_rng(0)
for epoch in range(1, $epochs + 1):
    for batch in np.array_split(order.permutation(len(x_train)), len(x_train) // 64):
        opt.zero_grad()
        loss = loss_fn(net(x_train[batch]), y_train[batch])  # propagation avant, enregistrée
        loss.backward()  # le gradient de chaque poids, dans .grad
        opt.step()  # un petit pas contre le gradient
    with minicnn.no_grad():
        accuracy = (net(x_test).argmax(axis=1) == y_test).mean()
    print(f"{epoch=} {float(loss)=:.3f} {accuracy=:.3f}")  # époque, perte, exactitude sur le test
after = net[0].weight
'''),
    "learn.prewitt": ('''
# learn Prewitt's kernel by gradient descent, from an image and its filtered version
gray = img.mean(axis=1, keepdims=True)[:, :, 100:196, 150:246]  # a 96x96 grey patch of the cat, (1, 1, 96, 96)
prewitt = np.array([[-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0]], dtype=np.float32)[None, None]
target = F.conv2d(gray, prewitt)  # what the unknown kernel must produce

w = nn.Parameter(np.zeros((1, 1, 3, 3), np.float32))  # the kernel to learn, starting from zeros
opt = optim.Adam([w], lr=0.05)
losses, snapshots = [], []
for step in range(300):
    opt.zero_grad()
    loss = F.mse_loss(F.conv2d(gray, w), target)  # mean squared distance to the target
    loss.backward()  # d(loss)/dw, in w.grad
    opt.step()
    losses.append(float(loss))
    if step in (0, 10, 30, 100, 299):
        snapshots.append((step + 1, w[0, 0].copy()))
print(f"{losses[0]=:.2e} {losses[-1]=:.2e}")  # the loss at the start and after 300 steps
print(np.round(w[0, 0], 2))
''', '''
# apprendre le noyau de Prewitt par descente de gradient, à partir d'une image et de sa version filtrée
gray = img.mean(axis=1, keepdims=True)[:, :, 100:196, 150:246]  # un morceau gris du chat, 96x96, (1, 1, 96, 96)
prewitt = np.array([[-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0]], dtype=np.float32)[None, None]
target = F.conv2d(gray, prewitt)  # ce que le noyau inconnu doit produire

w = nn.Parameter(np.zeros((1, 1, 3, 3), np.float32))  # le noyau à apprendre, parti de zéro
opt = optim.Adam([w], lr=0.05)
losses, snapshots = [], []
for step in range(300):
    opt.zero_grad()
    loss = F.mse_loss(F.conv2d(gray, w), target)  # écart quadratique moyen à la cible
    loss.backward()  # d(perte)/dw, dans w.grad
    opt.step()
    losses.append(float(loss))
    if step in (0, 10, 30, 100, 299):
        snapshots.append((step + 1, w[0, 0].copy()))
print(f"{losses[0]=:.2e} {losses[-1]=:.2e}")  # la perte au départ et après 300 pas
print(np.round(w[0, 0], 2))
'''),
    "gradcam": ('''
# Grad-CAM: which regions made the network answer class c? (minicnn.explain, as pytorch-grad-cam)
cam = minicnn.explain.grad_cam(model, x[0], class_index=int(c[0]))  # (H, W) in [0, 1], the input's size
eigen = minicnn.explain.eigen_cam(model, x[0])  # EigenCAM: no gradient, no class
rgb = x[0].transpose(1, 2, 0)
rgb = (rgb - rgb.min()) / (rgb.max() - rgb.min())  # the network's input, back to colours for the picture
print(cam.shape, f"{cam.min():.2f}..{cam.max():.2f}")

plt.figure()
plt.imshow(minicnn.explain.overlay(rgb, cam))
''', '''
# Grad-CAM : quelles régions ont fait répondre la classe c au réseau ? (minicnn.explain, comme pytorch-grad-cam)
cam = minicnn.explain.grad_cam(model, x[0], class_index=int(c[0]))  # (H, W) dans [0, 1], la taille de l'entrée
eigen = minicnn.explain.eigen_cam(model, x[0])  # EigenCAM : ni gradient, ni classe
rgb = x[0].transpose(1, 2, 0)
rgb = (rgb - rgb.min()) / (rgb.max() - rgb.min())  # l'entrée du réseau, remise en couleurs pour l'image
print(cam.shape, f"{cam.min():.2f}..{cam.max():.2f}")

plt.figure()
plt.imshow(minicnn.explain.overlay(rgb, cam))
'''),
}  # fmt: skip
