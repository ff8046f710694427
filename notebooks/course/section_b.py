"""Part B of the course: first-layer kernels before and after training (and the same small network trained here)."""

from .kinds import Code, Exercise, Markdown, check

SECTION_B = [
    Markdown(
        name="b-title",
        fr="""\
## B. Les noyaux de convolution après apprentissage

Observons maintenant les couches de convolution après un apprentissage sur un très gros jeu d'images annotées
(environ 1,2 million) tirées de la base [ImageNet](https://www.image-net.org/challenges/LSVRC/2012/). Dans un
premier temps, voyons ce que deviennent les noyaux associés aux 64 neurones de la première couche de convolution
d'un ResNet50.

Les noyaux sont dessinés sur une même échelle de couleurs, symétrique : 0 en blanc, les poids positifs en rouge,
les négatifs en bleu (la barre de droite donne les valeurs). Seul le canal 0 (le rouge) de chaque noyau est montré,
comme dans le TP.""",
        en="""\
## B. Convolution kernels after training

Let us now look at convolution layers after training on a very large set of labelled images (about 1.2 million)
from the [ImageNet](https://www.image-net.org/challenges/LSVRC/2012/) database. First, let us see what becomes of
the kernels of the 64 neurons of a ResNet50's first convolution layer.

The kernels are drawn on one colour scale, symmetric: 0 is white, positive weights red, negative ones blue (the bar
on the right gives the values). Only channel 0 (red) of each kernel is shown, as in the course.""",
    ),
    Code(
        name="kernels-before",
        fr="""\
# avant apprentissage : des poids aléatoires
model = models.resnet50()
first_layer = model.conv1.weight  # model.conv1.weight.data dans PyTorch
print(first_layer.shape)


def show_kernels(first_layer, title=""):
    \"\"\"Le canal 0 des noyaux (C_out, C_in, K, K), 8 par ligne, sur une même échelle symétrique : 0 en blanc.\"\"\"
    v = np.abs(first_layer[:, 0]).max()
    rows = -(-first_layer.shape[0] // 8)
    plt.figure(figsize=(10, 1.2 * rows + 0.6))
    plt.suptitle(title)
    for i in range(first_layer.shape[0]):
        plt.subplot(rows, 8, i + 1)
        plt.imshow(first_layer[i, 0, :, :], cmap="seismic", vmin=-v, vmax=v)
        plt.axis("off")
    plt.colorbar(ax=plt.gcf().axes, shrink=0.8)
    plt.show()


show_kernels(first_layer, "ResNet50 avant apprentissage (poids aléatoires)")""",
        en="""\
# before training: random weights
model = models.resnet50()
first_layer = model.conv1.weight  # model.conv1.weight.data in PyTorch
print(first_layer.shape)


def show_kernels(first_layer, title=""):
    \"\"\"Channel 0 of the kernels (C_out, C_in, K, K), 8 per row, on one symmetric scale: 0 is white.\"\"\"
    v = np.abs(first_layer[:, 0]).max()
    rows = -(-first_layer.shape[0] // 8)
    plt.figure(figsize=(10, 1.2 * rows + 0.6))
    plt.suptitle(title)
    for i in range(first_layer.shape[0]):
        plt.subplot(rows, 8, i + 1)
        plt.imshow(first_layer[i, 0, :, :], cmap="seismic", vmin=-v, vmax=v)
        plt.axis("off")
    plt.colorbar(ax=plt.gcf().axes, shrink=0.8)
    plt.show()


show_kernels(first_layer, "ResNet50 before training (random weights)")""",
    ),
    Markdown(
        fr="""\
Après apprentissage : le `pretrained=True` du TP correspond au fichier de poids V1 de torchvision, que minicnn lit
s'il est dans le cache de torch hub (`minicnn weights download resnet50 --weights IMAGENET1K_V1` l'y met ;
sans option, la commande télécharge V2, plus récent, qui est essayé
ensuite). **Hors ligne, sans ces fichiers**, la cellule montre la première couche d'EfficientNet-Lite0, un *autre*
réseau entraîné sur ImageNet, dont les poids sont fournis avec minicnn : son titre le dit.""",
        en="""\
After training: the course's `pretrained=True` is torchvision's V1 weights file, which minicnn reads when it is in
the torch hub cache (`minicnn weights download resnet50 --weights IMAGENET1K_V1` puts it there; without the
option the command fetches V2, the newer one, which is tried next).
**Offline, without these files**, the cell shows the first layer of EfficientNet-Lite0, *another* network trained on
ImageNet, whose weights ship with minicnn: its title says so.""",
    ),
    Code(
        name="kernels-after",
        fr="""\
# après apprentissage : models.resnet50(pretrained=True) dans le TP
first_layer = None
for name in ("IMAGENET1K_V1", "IMAGENET1K_V2"):
    try:
        model = models.resnet50(weights=name, download=False)  # download=True le téléchargerait (98 Mio)
        first_layer, title = model.conv1.weight, f"ResNet50 après apprentissage ({name})"
        break
    except (hub.OfflineError, FileNotFoundError):
        print(f"Les poids {name} du ResNet50 ne sont pas dans le cache de torch hub.")
if first_layer is None:  # un autre réseau entraîné, dont les poids sont fournis avec minicnn
    model = models.efficientnet_lite0(weights="DEFAULT")
    first_layer, title = model._conv_stem.weight, "EfficientNet-Lite0 après apprentissage (un autre réseau)"
print(title, first_layer.shape)
show_kernels(first_layer, title)""",
        en="""\
# after training: models.resnet50(pretrained=True) in the course
first_layer = None
for name in ("IMAGENET1K_V1", "IMAGENET1K_V2"):
    try:
        model = models.resnet50(weights=name, download=False)  # download=True would download it (98 MB)
        first_layer, title = model.conv1.weight, f"ResNet50 after training ({name})"
        break
    except (hub.OfflineError, FileNotFoundError):
        print(f"ResNet50's {name} weights are not in the torch hub cache.")
if first_layer is None:  # another trained network, whose weights ship with minicnn
    model = models.efficientnet_lite0(weights="DEFAULT")
    first_layer, title = model._conv_stem.weight, "EfficientNet-Lite0 after training (another network)"
print(title, first_layer.shape)
show_kernels(first_layer, title)""",
    ),
    Markdown(
        fr="""\
On retrouve, parmi les noyaux 7 x 7 du ResNet50 entraîné, des extracteurs de contours semblables au filtre de
Prewitt. Les amateurs de traitement du signal reconnaîtront même des motifs très proches des
[ondelettes de Morlet](https://fr.wikipedia.org/wiki/Ondelette_de_Morlet) (ou des filtres de Gabor). Ce fait est
remarquable : par une simple descente de gradient, on a fait émerger des filtres efficaces pour la reconnaissance
des formes.

Si c'est EfficientNet-Lite0 qui s'affiche, deux précautions. D'abord, ce n'est pas le même réseau que celui d'avant
apprentissage : la comparaison porte sur deux architectures différentes. Ensuite, ses noyaux ne font que 3 x 3 : bien
trop petits pour dessiner une ondelette ou un filtre de Gabor, ils ne peuvent montrer que des différences entre
pixels voisins (des contours, comme le filtre de Prewitt) et des moyennes. Pour voir le *même* réseau avant et après
apprentissage, la fin de cette partie en entraîne un sous vos yeux.""",
        en="""\
Among the trained ResNet50's 7 x 7 kernels are edge extractors much like the Prewitt filter. Signal-processing
enthusiasts will even recognise patterns very close to [Morlet wavelets](https://en.wikipedia.org/wiki/Morlet_wavelet)
(or Gabor filters). This is remarkable: plain gradient descent made filters emerge that work well for recognising
shapes.

If EfficientNet-Lite0 is shown, two caveats. First, it is not the same network as the one before training: the
comparison is between two different architectures. Second, its kernels are only 3 x 3: far too small to draw a
wavelet or a Gabor filter, they can only show differences between neighbouring pixels (edges, like the Prewitt
filter) and averages. To see the *same* network before and after training, the end of this part trains one before
your eyes.""",
    ),
    Markdown(
        name="conv1-exercise",
        fr="""\
**Exercice :** combien la première couche de convolution d'un ResNet50 contient-elle de « neurones » (un noyau par
neurone) ? Combien y a-t-il de poids dans un noyau ? Combien cette couche contient-elle de poids ? Répondez à partir
de la ligne `(conv1)` de `print(models.resnet50())`.""",
        en="""\
**Exercise:** how many "neurons" (one kernel per neuron) does a ResNet50's first convolution layer have? How many
weights are there in one kernel? How many weights does this layer hold? Answer from the `(conv1)` line of
`print(models.resnet50())`.""",
    ),
    Exercise(
        blank=Code(
            name="conv1",
            tags=("exercise",),
            fr="""\
neurons = None  # À COMPLÉTER : le nombre de neurones (de noyaux) de conv1
weights_per_kernel = None  # À COMPLÉTER : le nombre de poids d'un noyau
weights_in_layer = None  # À COMPLÉTER : le nombre de poids de la couche""",
            en="""\
neurons = None  # TO COMPLETE: the number of neurons (of kernels) of conv1
weights_per_kernel = None  # TO COMPLETE: the number of weights in one kernel
weights_in_layer = None  # TO COMPLETE: the number of weights in the layer""",
        ),
        solution=Code(
            name="conv1",
            tags=("solution",),
            fr="""\
print(models.resnet50().conv1)  # Conv2d(3, 64, kernel_size=(7, 7), ..., bias=False) : des poids (64, 3, 7, 7)
neurons = 64  # un noyau par canal de sortie
weights_per_kernel = 3 * 7 * 7  # 147 : un carré 7 x 7 pour chacun des trois canaux d'entrée (R, V, B)
weights_in_layer = neurons * weights_per_kernel  # 9 408, et pas de biais (bias=False)""",
            en="""\
print(models.resnet50().conv1)  # Conv2d(3, 64, kernel_size=(7, 7), ..., bias=False): weights (64, 3, 7, 7)
neurons = 64  # one kernel per output channel
weights_per_kernel = 3 * 7 * 7  # 147: a 7 x 7 square for each of the three input channels (R, G, B)
weights_in_layer = neurons * weights_per_kernel  # 9,408, and no bias (bias=False)""",
        ),
    ),
    check(
        "conv1-check",
        fr="""\
if None in (neurons, weights_per_kernel, weights_in_layer):
    print("Pas encore fait : complétez neurons, weights_per_kernel et weights_in_layer ci-dessus.")
else:
    weight = models.resnet50().conv1.weight  # (C_out, C_in, K, K)
    assert neurons == weight.shape[0], f"{neurons} neurones ? Un neurone par canal de sortie : relisez Conv2d(3, ...)"
    assert weights_per_kernel == weight[0].size, f"{weights_per_kernel} poids par noyau ? Un noyau couvre C_in x K x K"
    assert weights_in_layer == weight.size, f"{weights_in_layer} poids dans la couche ? (conv1 n'a pas de biais)"
    print(f"Bravo : {neurons} neurones, {weights_per_kernel} poids par noyau, {weights_in_layer} poids en tout.")""",
        en="""\
if None in (neurons, weights_per_kernel, weights_in_layer):
    print("Not done yet: fill in neurons, weights_per_kernel and weights_in_layer above.")
else:
    weight = models.resnet50().conv1.weight  # (C_out, C_in, K, K)
    assert neurons == weight.shape[0], f"{neurons} neurons? One neuron per output channel: read Conv2d(3, ...) again"
    assert weights_per_kernel == weight[0].size, f"{weights_per_kernel} weights per kernel? A kernel is C_in x K x K"
    assert weights_in_layer == weight.size, f"{weights_in_layer} weights in the layer? (conv1 has no bias)"
    print(f"Correct: {neurons} neurons, {weights_per_kernel} weights per kernel, {weights_in_layer} in all.")""",
    ),
    Markdown(
        name="training-title",
        fr="""\
### Avant et après apprentissage : le même réseau

Pour voir ce que l'apprentissage change, le plus parlant est de regarder **le même réseau** avant et après.
Entraîner un ResNet50 sur ImageNet prendrait des jours ; mais minicnn sait aussi entraîner (la rétropropagation y
est écrite en NumPy : voir `docs/training.md`), et un petit réseau apprend en quelques secondes à reconnaître les
chiffres manuscrits fournis avec minicnn : 1 797 images de 8 x 8 pixels (le jeu *optdigits* de l'UCI). En voici
quelques-unes :""",
        en="""\
### Before and after training: the same network

To see what training changes, the clearest is to look at **the same network** before and after. Training a
ResNet50 on ImageNet would take days; but minicnn can train too (backpropagation is written in NumPy: see
`docs/training.md`), and a small network learns in a few seconds to recognise the handwritten digits shipped with
minicnn: 1,797 images of 8 x 8 pixels (UCI's *optdigits*). Here are a few:""",
    ),
    Code(
        name="digits",
        fr="""\
from minicnn.datasets import load_digits

x_train, y_train = load_digits("train")  # (1438, 1, 8, 8) dans [0, 1], et les 1438 chiffres attendus
plt.figure(figsize=(10, 1.6))
for i in range(10):
    plt.subplot(1, 10, i + 1)
    plt.imshow(x_train[i, 0], cmap="gray_r")
    plt.title(int(y_train[i]))
    plt.axis("off")
plt.show()""",
        en="""\
from minicnn.datasets import load_digits

x_train, y_train = load_digits("train")  # (1438, 1, 8, 8) in [0, 1], and the 1438 expected digits
plt.figure(figsize=(10, 1.6))
for i in range(10):
    plt.subplot(1, 10, i + 1)
    plt.imshow(x_train[i, 0], cmap="gray_r")
    plt.title(int(y_train[i]))
    plt.axis("off")
plt.show()""",
    ),
    Markdown(
        fr="""\
Le réseau : deux couches de convolution 3 x 3 (32 puis 64 neurones), suivies chacune d'une ReLU et d'un maxpooling,
puis un perceptron qui donne un score par chiffre. On garde une copie des 32 noyaux de sa première couche, on
l'entraîne pendant 5 époques (5 passages sur les 1 438 images d'apprentissage, par lots de 64, par descente de
gradient avec inertie, ou *momentum*), puis on compare. Chaque époque affiche la perte de son dernier lot et la
part des 359 chiffres de test reconnus.""",
        en="""\
The network: two 3 x 3 convolution layers (32 then 64 neurons), each followed by a ReLU and a max pooling, then a
perceptron that gives one score per digit. We keep a copy of the 32 kernels of its first layer, train it for 5
epochs (5 passes over the 1,438 training images, in batches of 64, by gradient descent with momentum), then
compare. Each epoch prints the loss of its last batch and the share of the 359 test digits recognised.""",
    ),
    Code(
        name="training",
        localized=True,
        fr="""\
from minicnn import datasets, optim
from minicnn.training import digits_cnn, kernel_figure

x_train, y_train = datasets.load_digits("train")
x_test, y_test = datasets.load_digits("test")
net = digits_cnn(generator=np.random.default_rng(0))  # poids aléatoires, tirés avec une graine fixée
print(net)
before = net[0].weight.copy()  # (32, 1, 3, 3) : les noyaux avant apprentissage

loss_fn = nn.CrossEntropyLoss()
opt = optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
order = np.random.default_rng(0)
for epoch in range(1, 6):  # la boucle d'apprentissage de PyTorch, telle quelle
    for batch in np.array_split(order.permutation(len(x_train)), len(x_train) // 64):
        opt.zero_grad()
        loss = loss_fn(net(x_train[batch]), y_train[batch])  # propagation avant, enregistrée
        loss.backward()  # le gradient de chaque poids, dans .grad
        opt.step()  # un petit pas contre le gradient
    with minicnn.no_grad():
        accuracy = (net(x_test).argmax(axis=1) == y_test).mean()
    line = f"époque {epoch} : perte {float(loss):.3f} ; chiffres de test reconnus : {100 * accuracy:.1f} %"
    print(line.replace(".", ",").replace(" :", "\u202f:").replace(" ;", "\u202f;").replace(" %", "\u202f%"))
after = net[0].weight.copy()  # les mêmes noyaux, après

kernel_figure(before, after, ("avant apprentissage (aléatoires)", "après 5 époques"))
plt.show()""",
        en="""\
from minicnn import datasets, optim
from minicnn.training import digits_cnn, kernel_figure

x_train, y_train = datasets.load_digits("train")
x_test, y_test = datasets.load_digits("test")
net = digits_cnn(generator=np.random.default_rng(0))  # random weights, drawn with a fixed seed
print(net)
before = net[0].weight.copy()  # (32, 1, 3, 3): the kernels before training

loss_fn = nn.CrossEntropyLoss()
opt = optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
order = np.random.default_rng(0)
for epoch in range(1, 6):  # PyTorch's training loop, as it is
    for batch in np.array_split(order.permutation(len(x_train)), len(x_train) // 64):
        opt.zero_grad()
        loss = loss_fn(net(x_train[batch]), y_train[batch])  # forward, recorded
        loss.backward()  # every weight's gradient, in .grad
        opt.step()  # a small step against the gradient
    with minicnn.no_grad():
        accuracy = (net(x_test).argmax(axis=1) == y_test).mean()
    print(f"epoch {epoch}: loss {float(loss):.3f}; test digits recognised: {100 * accuracy:.1f}%")
after = net[0].weight.copy()  # the same kernels, after

kernel_figure(before, after, ("before training (random)", "after 5 epochs"))
plt.show()""",
    ),
    Markdown(
        name="training-after",
        fr="""\
C'est bien le même réseau, sur la même échelle de couleurs : seuls ses poids ont changé. En si peu
d'apprentissage, leurs motifs restent ceux du départ, amplifiés (d'environ 30 %) : la descente de gradient renforce
les noyaux aléatoires qui servent déjà (ceux qui opposent une rangée ou une colonne de pixels à sa voisine, à la
manière du filtre de Prewitt) plus qu'elle n'en crée de nouveaux. Les motifs nets des noyaux 7 × 7 d'un ResNet50
demandent des millions d'images et des heures de calcul.""",
        en="""\
This is indeed the same network, on the same colour scale: only its weights changed. After so little training
their patterns are still those of the start, amplified (by about 30%): gradient descent strengthens the random
kernels that already help (those that set a row or a column of pixels against its neighbour, in the manner of the
Prewitt filter) more than it creates new ones. The clean patterns of a ResNet50's 7 x 7 kernels take millions of
images and hours of computing.""",
    ),
]
