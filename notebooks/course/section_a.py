"""Part A of the course: convolution layers and max pooling (with the new exercises: output sizes, im2col)."""

from .kinds import Code, Exercise, Markdown, check

SECTION_A = [
    Markdown(
        name="a-title",
        fr="""\
## A. Couches de convolution et maxpooling

Avant de définir les couches de convolution, examinons deux modèles standards de l'apprentissage profond (VGG16 et
ResNet50). Vous reconnaîtrez, dans les dernières couches, des perceptrons (`classifier`), formés à partir de la
classe `nn.Linear`. Mais, dans la première partie du réseau, vous voyez apparaître les `Conv2d`, qui correspondent à
ces fameuses convolutions. Les poids sont ici aléatoires : seule l'architecture nous intéresse.""",
        en="""\
## A. Convolution layers and max pooling

Before defining convolution layers, let us look at two standard deep-learning models (VGG16 and ResNet50). In the
last layers you will recognise perceptrons (`classifier`), made of `nn.Linear` layers. But in the first part of the
network you see `Conv2d` layers appear: these are the famous convolutions. The weights here are random: only the
architecture matters.""",
    ),
    Code(
        name="vgg16",
        fr="""\
# deux réseaux de neurones profonds : VGG16 et ResNet50
model = models.vgg16()  # poids aléatoires : models.vgg16(pretrained=False) dans le TP
# model = models.resnet50()
print(model)""",
        en="""\
# two deep neural networks: VGG16 and ResNet50
model = models.vgg16()  # random weights: models.vgg16(pretrained=False) in the course
# model = models.resnet50()
print(model)""",
    ),
    Markdown(
        name="formula",
        fr=r"""Dans le cas le plus simple, en dimension 1, la « convolution » à un neurone est définie par une
relation de la forme

$$output_i = bias + \sum_{j=1}^{n} input_{i+j} \times kernel_j \tag{1}$$

Ici, $kernel$ est un vecteur de taille $n$ qui contient les paramètres du neurone. Si, par exemple, $kernel$ est
positif et de somme 1, c'est une moyenne mobile. Notons enfin que l'opérateur de convolution du traitement du signal
diffère légèrement : il lit $input_{i-j}$ au lieu de $input_{i+j}$, c'est-à-dire le noyau retourné. Ce que les
bibliothèques d'apprentissage profond appellent « convolution » est donc, en toute rigueur, une **corrélation
croisée**, dans PyTorch comme dans minicnn. Comme le noyau est appris, peu importe : le réseau apprend simplement le
noyau retourné.

Le code de PyTorch (et celui de minicnn) est plus compliqué parce que :
- l'entrée est généralement un lot (*batch*) d'images comprenant plusieurs canaux ;
- il n'y a pas qu'un neurone.

La forme générale est définie [ici](https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html). Sur cette
page, $C_{in}$, $C_{out}$ et $N$ correspondent respectivement aux nombres de canaux d'entrée, de neurones de la
couche, et à la taille du lot : une couche de $C_{out}$ neurones appliquée à un lot de forme $(N, C_{in}, H, W)$ a
des poids de forme $(C_{out}, C_{in}, K, K)$, un noyau $C_{in} \times K \times K$ par neurone.

L'opérateur $\star$ cache lui aussi des subtilités : il faut régler le pas avec lequel le noyau se déplace sur
l'entrée (*stride*, $s$), la question des bords (*padding* : $p$ rangées de zéros ajoutées de chaque côté) et, parfois,
l'écart entre les coefficients du noyau (*dilation*, $d$). La hauteur de la sortie vaut alors

$$H_{out} = \left\lfloor \frac{H + 2p - d\,(K - 1) - 1}{s} \right\rfloor + 1 \tag{2}$$

et de même pour sa largeur. Ces notions sont bien plus faciles à comprendre à partir des animations de
[Vincent Dumoulin](https://github.com/vdumoulin/conv_arithmetic).

Pour illustrer l'effet d'une couche de convolution 2D à un neurone, chargeons une image RVB.""",
        en=r"""In the simplest case, in one dimension, the "convolution" of one neuron is defined by a relation of
the form

$$output_i = bias + \sum_{j=1}^{n} input_{i+j} \times kernel_j \tag{1}$$

Here $kernel$ is a vector of size $n$ that holds the neuron's parameters. If, for instance, $kernel$ is positive
and sums to 1, this is a moving average. Note that the convolution of signal processing differs slightly: it reads
$input_{i-j}$ instead of $input_{i+j}$, that is, the kernel flipped. What deep-learning libraries call a
"convolution" is therefore, strictly speaking, a **cross-correlation**, in PyTorch as in minicnn. Since the kernel
is learned, it does not matter: the network simply learns the flipped kernel.

PyTorch's code (and minicnn's) is more involved because:
- the input is usually a batch of images with several channels;
- there is more than one neuron.

The general form is defined [here](https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html). On that page,
$C_{in}$, $C_{out}$ and $N$ are the number of input channels, the number of neurons of the layer, and the batch
size: a layer of $C_{out}$ neurons applied to a batch of shape $(N, C_{in}, H, W)$ has weights of shape
$(C_{out}, C_{in}, K, K)$, one $C_{in} \times K \times K$ kernel per neuron.

The $\star$ operator hides subtleties too: how far the kernel moves over the input at each step (the *stride*, $s$),
what happens at the borders (the *padding*: $p$ rows of zeros added on each side) and, sometimes, the spacing between
the kernel's coefficients (the *dilation*, $d$). The output's height is then

$$H_{out} = \left\lfloor \frac{H + 2p - d\,(K - 1) - 1}{s} \right\rfloor + 1 \tag{2}$$

and likewise for its width. These are much easier to understand from
[Vincent Dumoulin's animations](https://github.com/vdumoulin/conv_arithmetic).

To show what a 2-D convolution layer with one neuron does, let us load an RGB image.""",
    ),
    Code(
        name="image",
        fr="""\
# une image RVB
image = Image.open(path).convert("RGB")
image = image.resize((256, 256))
image""",
        en="""\
# an RGB image
image = Image.open(path).convert("RGB")
image = image.resize((256, 256))
image""",
    ),
    Markdown(
        fr="""\
Les opérateurs de « convolution » qu'utilise la classe `Conv2d` sont codés dans `minicnn.functional` (dans
`torch.nn.functional` pour PyTorch). Dans les lignes qui suivent, on définit un noyau gaussien, qu'on peut ensuite
appliquer à l'image. Le TP le dit « de taille 10 » : il va bien de -5 à 5, mais par pas de 0,5, soit 20 coefficients
de côté.""",
        en="""\
The "convolution" operators used by the `Conv2d` class are written in `minicnn.functional` (in
`torch.nn.functional` for PyTorch). The next lines define a Gaussian kernel, which can then be applied to the
image. The course calls it "of size 10": it does go from -5 to 5, but in steps of 0.5, so it is 20 coefficients
wide.""",
    ),
    Code(
        name="gauss",
        fr="""\
# définition d'un noyau gaussien de 20 x 20 coefficients
x_range = np.arange(-5, 5, 0.5, dtype=np.float32)
y_range = np.arange(-5, 5, 0.5, dtype=np.float32)
xx, yy = np.meshgrid(x_range, y_range, indexing="ij")  # l'indexation par défaut de torch.meshgrid
var = 10

kernel = (1.0 / (2.0 * 3.14 * var)) * np.exp(-(xx**2 + yy**2) / (2 * var))  # gaussienne

plt.imshow(kernel, cmap="gray")""",
        en="""\
# a Gaussian kernel of 20 x 20 coefficients
x_range = np.arange(-5, 5, 0.5, dtype=np.float32)
y_range = np.arange(-5, 5, 0.5, dtype=np.float32)
xx, yy = np.meshgrid(x_range, y_range, indexing="ij")  # torch.meshgrid's default indexing
var = 10

kernel = (1.0 / (2.0 * 3.14 * var)) * np.exp(-(xx**2 + yy**2) / (2 * var))  # Gaussian

plt.imshow(kernel, cmap="gray")""",
    ),
    Code(
        name="tile",
        fr="""\
# on applique le même noyau à tous les canaux : kernel.repeat(1, 3, 1, 1) dans le TP
kernel = np.tile(kernel, (1, 3, 1, 1))  # répété pour chaque canal R, V et B

# la forme des poids est (C_out, C_in, K, K) : la première dimension ajoutée n'est pas celle du lot,
# c'est C_out, le nombre de neurones (ici un seul)
print(kernel.shape)""",
        en="""\
# the same kernel for every channel: kernel.repeat(1, 3, 1, 1) in the course
kernel = np.tile(kernel, (1, 3, 1, 1))  # repeated for each channel, R, G and B

# weights have the shape (C_out, C_in, K, K): the first dimension added is not the batch's,
# it is C_out, the number of neurons (here just one)
print(kernel.shape)""",
    ),
    Code(
        name="blur",
        fr="""\
# conversion de l'image en tableau : (3, 256, 256), valeurs dans [0, 1]
img = transforms.ToTensor()(image)
img = img[None]  # img.unsqueeze(dim=0) : ajout de la dimension du lot, (1, 3, 256, 256)

# convolution
output = F.conv2d(img, kernel)
print(output.shape)  # (1, 1, 237, 237) : 256 - 20 + 1
fig = plt.figure()
plt.imshow(output[0, 0, :, :], cmap="gray")
plt.colorbar()  # imshow étire les niveaux de gris : la barre donne les vraies valeurs""",
        en="""\
# the image as an array: (3, 256, 256), values in [0, 1]
img = transforms.ToTensor()(image)
img = img[None]  # img.unsqueeze(dim=0): the batch dimension is added, (1, 3, 256, 256)

# convolution
output = F.conv2d(img, kernel)
print(output.shape)  # (1, 1, 237, 237): 256 - 20 + 1
fig = plt.figure()
plt.imshow(output[0, 0, :, :], cmap="gray")
plt.colorbar()  # imshow stretches the grey levels: the bar gives the true values""",
    ),
    Markdown(
        fr="""\
Ce noyau gaussien n'est pas normalisé : ses coefficients totalisent environ 3,14 par canal, soit 9,41 sur les trois
canaux R, V et B. La sortie vaut donc environ 9,4 fois une moyenne locale de l'image, et monte jusqu'à 6,6 alors que les
pixels sont inférieurs à 1 ; `imshow` le cache en étirant les niveaux de gris, d'où la barre de couleurs. Pour une
vraie moyenne pondérée, on diviserait le noyau par `kernel.sum()`.""",
        en="""\
This Gaussian kernel is not normalised: its coefficients add up to about 3.14 per channel, 9.41 over the three
channels R, G and B. The output is therefore about 9.4 times a local average of the image, and reaches 6.6 although
the pixels are below 1; `imshow` hides this by stretching the grey levels, hence the colour bar. For a true
weighted average, divide the kernel by `kernel.sum()`.""",
    ),
    Code(
        name="kernel-sum",
        fr="""\
print(kernel.sum(), output.max())  # environ 9,41 et 6,61""",
        en="""\
print(kernel.sum(), output.max())  # about 9.41 and 6.61""",
    ),
    Markdown(
        name="sizes-exercise",
        fr="""\
**Exercice (nouveau) : la taille de la sortie.** Avec la formule (2), calculez à la main la hauteur $H_{out}$ de la
sortie de `F.conv2d(img, kernel, stride=s, padding=p, dilation=d)` (l'image fait 256 pixels de haut, le noyau
gaussien 20) pour chacun des cinq réglages `(s, p, d)` ci-dessous. La cellule suivante compare vos réponses aux
tailles que calcule `conv2d`.""",
        en="""\
**Exercise (new): the output's size.** With formula (2), compute by hand the height $H_{out}$ of the output of
`F.conv2d(img, kernel, stride=s, padding=p, dilation=d)` (the image is 256 pixels high, the Gaussian kernel 20) for
each of the five settings `(s, p, d)` below. The next cell compares your answers with the sizes `conv2d`
computes.""",
    ),
    Exercise(
        blank=Code(
            name="sizes",
            tags=("exercise",),
            fr="""\
cases = {"a": (1, 0, 1), "b": (2, 0, 1), "c": (1, 5, 1), "d": (1, 0, 2), "e": (3, 2, 3)}  # (s, p, d)

# À COMPLÉTER : la hauteur de la sortie dans chaque cas, calculée à la main avec la formule (2)
answers = {"a": None, "b": None, "c": None, "d": None, "e": None}""",
            en="""\
cases = {"a": (1, 0, 1), "b": (2, 0, 1), "c": (1, 5, 1), "d": (1, 0, 2), "e": (3, 2, 3)}  # (s, p, d)

# TO COMPLETE: the output's height in each case, computed by hand with formula (2)
answers = {"a": None, "b": None, "c": None, "d": None, "e": None}""",
        ),
        solution=Code(
            name="sizes",
            tags=("solution",),
            fr="""\
cases = {"a": (1, 0, 1), "b": (2, 0, 1), "c": (1, 5, 1), "d": (1, 0, 2), "e": (3, 2, 3)}  # (s, p, d)

# H_out = (H + 2p - d (K - 1) - 1) // s + 1, avec H = 256 et K = 20
answers = {
    "a": (256 + 0 - 1 * 19 - 1) // 1 + 1,  # 237 : 256 - 20 + 1, sans pas, marge ni dilatation
    "b": (256 + 0 - 1 * 19 - 1) // 2 + 1,  # 119 : un pas de 2 divise la taille par deux (environ)
    "c": (256 + 10 - 1 * 19 - 1) // 1 + 1,  # 247 : la marge ajoute 2p = 10
    "d": (256 + 0 - 2 * 19 - 1) // 1 + 1,  # 218 : le noyau dilaté couvre d (K - 1) + 1 = 39 pixels
    "e": (256 + 4 - 3 * 19 - 1) // 3 + 1,  # 68 : la division est arrondie vers le bas
}
print(answers)""",
            en="""\
cases = {"a": (1, 0, 1), "b": (2, 0, 1), "c": (1, 5, 1), "d": (1, 0, 2), "e": (3, 2, 3)}  # (s, p, d)

# H_out = (H + 2p - d (K - 1) - 1) // s + 1, with H = 256 and K = 20
answers = {
    "a": (256 + 0 - 1 * 19 - 1) // 1 + 1,  # 237: 256 - 20 + 1, no stride, padding or dilation
    "b": (256 + 0 - 1 * 19 - 1) // 2 + 1,  # 119: a stride of 2 halves the size (about)
    "c": (256 + 10 - 1 * 19 - 1) // 1 + 1,  # 247: padding adds 2p = 10
    "d": (256 + 0 - 2 * 19 - 1) // 1 + 1,  # 218: the dilated kernel spans d (K - 1) + 1 = 39 pixels
    "e": (256 + 4 - 3 * 19 - 1) // 3 + 1,  # 68: the division rounds down
}
print(answers)""",
        ),
    ),
    check(
        "sizes-check",
        fr="""\
if None in answers.values():
    print("Pas encore fait : complétez answers ci-dessus.")
else:
    for case, (s, p, d) in cases.items():
        out = F.conv2d(img, kernel, stride=s, padding=p, dilation=d)  # (1, 1, H_out, W_out)
        assert answers[case] == out.shape[2], f"cas {case} : vous trouvez {answers[case]}, conv2d donne {out.shape[2]}"
    print("Bravo : la formule (2) donne bien les tailles de conv2d dans les cinq cas.")""",
        en="""\
if None in answers.values():
    print("Not done yet: fill in answers above.")
else:
    for case, (s, p, d) in cases.items():
        out = F.conv2d(img, kernel, stride=s, padding=p, dilation=d)  # (1, 1, H_out, W_out)
        assert answers[case] == out.shape[2], f"case {case}: you found {answers[case]}, conv2d gives {out.shape[2]}"
    print("Correct: formula (2) gives conv2d's sizes in all five cases.")""",
    ),
    Markdown(
        name="prewitt-exercise",
        fr="""\
En pratique, on utilise rarement des noyaux aussi grands. Dans un VGG, par exemple, les noyaux sont de taille 3 x 3.
Cela suffit à extraire des caractéristiques intéressantes, comme les contours.

**Exercice :** appliquer un [filtre de Prewitt](https://fr.wikipedia.org/wiki/Filtre_de_Prewitt) à l'image à
l'aide de la convolution 2D de minicnn (compléter le code suivant). Attention au type : `img` est en `float32`, et
`conv2d` refuse de mélanger `float32` et `float64`, comme PyTorch ; or `np.array` fabrique du `float64` si l'on ne
précise pas `dtype=np.float32`.""",
        en="""\
In practice, kernels this large are rarely used. In a VGG, for instance, kernels are 3 x 3. That is enough to
extract interesting features, such as edges.

**Exercise:** apply a [Prewitt filter](https://en.wikipedia.org/wiki/Prewitt_operator) to the image with minicnn's
2-D convolution (complete the code below). Mind the type: `img` is `float32`, and `conv2d` refuses to mix `float32`
and `float64`, as PyTorch does; `np.array` makes `float64` unless you write `dtype=np.float32`.""",
    ),
    Code(
        name="prewitt-given",
        fr="""\
# gradient horizontal
kernel1 = np.array([[-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0]], dtype=np.float32)
kernel1 = np.tile(kernel1, (1, 3, 1, 1))  # kernel1.repeat(1, 3, 1, 1) : (1, 3, 3, 3)""",
        en="""\
# horizontal gradient
kernel1 = np.array([[-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0]], dtype=np.float32)
kernel1 = np.tile(kernel1, (1, 3, 1, 1))  # kernel1.repeat(1, 3, 1, 1): (1, 3, 3, 3)""",
    ),
    Exercise(
        blank=Code(
            name="prewitt",
            tags=("exercise",),
            fr="""\
# gradient vertical
kernel2 = None  # À COMPLÉTER : le noyau 3 x 3 du gradient vertical, en float32
kernel2 = None  # À COMPLÉTER : répété pour les trois canaux, comme kernel1

output1 = None  # À COMPLÉTER : la convolution de img par kernel1
output2 = None  # À COMPLÉTER : la convolution de img par kernel2""",
            en="""\
# vertical gradient
kernel2 = None  # TO COMPLETE: the 3 x 3 kernel of the vertical gradient, in float32
kernel2 = None  # TO COMPLETE: repeated for the three channels, like kernel1

output1 = None  # TO COMPLETE: the convolution of img with kernel1
output2 = None  # TO COMPLETE: the convolution of img with kernel2""",
        ),
        solution=Code(
            name="prewitt",
            tags=("solution",),
            fr="""\
# gradient vertical : le noyau transposé
kernel2 = np.array([[-1.0, -1.0, -1.0], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]], dtype=np.float32)
kernel2 = np.tile(kernel2, (1, 3, 1, 1))  # (1, 3, 3, 3)

output1 = F.conv2d(img, kernel1)  # (1, 1, 254, 254)
output2 = F.conv2d(img, kernel2)""",
            en="""\
# vertical gradient: the transposed kernel
kernel2 = np.array([[-1.0, -1.0, -1.0], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]], dtype=np.float32)
kernel2 = np.tile(kernel2, (1, 3, 1, 1))  # (1, 3, 3, 3)

output1 = F.conv2d(img, kernel1)  # (1, 1, 254, 254)
output2 = F.conv2d(img, kernel2)""",
        ),
    ),
    check(
        "prewitt-check",
        fr="""\
if kernel2 is None or output1 is None or output2 is None:
    print("Pas encore fait : complétez kernel2, output1 et output2 ci-dessus.")
else:
    output = np.sqrt(output1**2 + output2**2)  # (output1**2 + output2**2).sqrt()

    # la même image sans convolution : le filtre de Prewitt est une différence de sommes de pixels voisins
    s = img[0].sum(axis=0)  # (256, 256) : les trois canaux additionnés
    down = s[:-2] + s[1:-1] + s[2:]  # chaque pixel et ses voisins du dessus et du dessous
    across = s[:, :-2] + s[:, 1:-1] + s[:, 2:]  # chaque pixel et ses voisins de gauche et de droite
    expected = np.sqrt((down[:, 2:] - down[:, :-2]) ** 2 + (across[2:] - across[:-2]) ** 2)  # (254, 254)
    assert kernel2.shape == (1, 3, 3, 3), f"kernel2 doit avoir la forme (1, 3, 3, 3), pas {kernel2.shape}"
    assert output.shape == (1, 1, 254, 254), (
        f"la sortie devrait avoir la forme (1, 1, 254, 254), pas {output.shape} "
        "(sans marge, comme F.conv2d(img, kernel1))"
    )
    error = np.abs(output[0, 0] - expected).max()
    assert error < 1e-4, f"ce n'est pas le filtre de Prewitt : écart maximal {error:.3g} (kernel2 est-il transposé ?)"
    print("Bravo : c'est bien le filtre de Prewitt.")

    fig = plt.figure()
    plt.imshow(output[0, 0, :, :], cmap="gray")""",
        en="""\
if kernel2 is None or output1 is None or output2 is None:
    print("Not done yet: fill in kernel2, output1 and output2 above.")
else:
    output = np.sqrt(output1**2 + output2**2)  # (output1**2 + output2**2).sqrt()

    # the same image without a convolution: the Prewitt filter is a difference of sums of neighbouring pixels
    s = img[0].sum(axis=0)  # (256, 256): the three channels added up
    down = s[:-2] + s[1:-1] + s[2:]  # each pixel with its neighbours above and below
    across = s[:, :-2] + s[:, 1:-1] + s[:, 2:]  # each pixel with its neighbours left and right
    expected = np.sqrt((down[:, 2:] - down[:, :-2]) ** 2 + (across[2:] - across[:-2]) ** 2)  # (254, 254)
    assert kernel2.shape == (1, 3, 3, 3), f"kernel2 should have the shape (1, 3, 3, 3), not {kernel2.shape}"
    assert output.shape == (1, 1, 254, 254), (
        f"the output should have the shape (1, 1, 254, 254), not {output.shape} "
        "(with no padding, as in F.conv2d(img, kernel1))"
    )
    error = np.abs(output[0, 0] - expected).max()
    assert error < 1e-4, f"this is not the Prewitt filter: largest difference {error:.3g} (is kernel2 transposed?)"
    print("Correct: this is the Prewitt filter.")

    fig = plt.figure()
    plt.imshow(output[0, 0, :, :], cmap="gray")""",
    ),
    Markdown(
        name="im2col-exercise",
        fr=r"""**Exercice (nouveau) : im2col à la main.** Comment calcule-t-on une convolution rapidement ?
L'astuce la plus
répandue, *im2col*, la ramène à un produit de matrices. On recopie chaque fenêtre de l'entrée que voit le noyau (ses
$C_{in} \times K \times K$ valeurs) dans une colonne d'une grande matrice, une colonne par pixel de sortie. La couche
entière devient alors le produit de ses poids, mis sous la forme d'une matrice $C_{out} \times C_{in} K K$, par cette
matrice $C_{in} K K \times H_{out} W_{out}$. C'est ainsi que `F.conv2d` calcule par défaut (voir
`minicnn/kernels/conv_im2col.py` dans le dépôt, `../minicnn/kernels/conv_im2col.py` depuis ce dossier).

Complétez la fonction `im2col` pour une image $(C, H, W)$, sans marge et avec un pas de 1 ; la cellule suivante
vérifie qu'elle redonne le filtre de Prewitt horizontal (`kernel1`) sur un petit morceau du chat.""",
        en=r"""**Exercise (new): im2col by hand.** How is a convolution computed fast? The most common trick,
*im2col*, turns it
into a matrix product. Each window of the input the kernel sees (its $C_{in} \times K \times K$ values) is copied
into one column of a large matrix, one column per output pixel. The whole layer is then the product of its weights,
written as a $C_{out} \times C_{in} K K$ matrix, by this $C_{in} K K \times H_{out} W_{out}$ matrix. This is how
`F.conv2d` computes by default (see `minicnn/kernels/conv_im2col.py` in the repository,
`../minicnn/kernels/conv_im2col.py` from this folder).

Complete the function `im2col` for an image $(C, H, W)$, with no padding and a stride of 1; the next cell checks
that it gives back the horizontal Prewitt filter (`kernel1`) on a small piece of the cat.""",
    ),
    Exercise(
        blank=Code(
            name="im2col",
            tags=("exercise",),
            fr="""\
def im2col(x, K):
    \"\"\"Les fenêtres K x K de x (C, H, W), une par colonne : une matrice (C * K * K, H_out * W_out).\"\"\"
    C, H, W = x.shape
    H_out, W_out = H - K + 1, W - K + 1
    cols = np.zeros((C * K * K, H_out * W_out), dtype=x.dtype)
    for i in range(H_out):
        for j in range(W_out):
            cols[:, i * W_out + j] = 0  # À COMPLÉTER : la fenêtre x[:, i : i + K, j : j + K], mise à plat
    return cols""",
            en="""\
def im2col(x, K):
    \"\"\"The K x K windows of x (C, H, W), one per column: a (C * K * K, H_out * W_out) matrix.\"\"\"
    C, H, W = x.shape
    H_out, W_out = H - K + 1, W - K + 1
    cols = np.zeros((C * K * K, H_out * W_out), dtype=x.dtype)
    for i in range(H_out):
        for j in range(W_out):
            cols[:, i * W_out + j] = 0  # TO COMPLETE: the window x[:, i : i + K, j : j + K], flattened
    return cols""",
        ),
        solution=Code(
            name="im2col",
            tags=("solution",),
            fr="""\
def im2col(x, K):
    \"\"\"Les fenêtres K x K de x (C, H, W), une par colonne : une matrice (C * K * K, H_out * W_out).\"\"\"
    C, H, W = x.shape
    H_out, W_out = H - K + 1, W - K + 1
    cols = np.zeros((C * K * K, H_out * W_out), dtype=x.dtype)
    for i in range(H_out):
        for j in range(W_out):
            cols[:, i * W_out + j] = x[:, i : i + K, j : j + K].reshape(-1)  # (C * K * K,)
    return cols""",
            en="""\
def im2col(x, K):
    \"\"\"The K x K windows of x (C, H, W), one per column: a (C * K * K, H_out * W_out) matrix.\"\"\"
    C, H, W = x.shape
    H_out, W_out = H - K + 1, W - K + 1
    cols = np.zeros((C * K * K, H_out * W_out), dtype=x.dtype)
    for i in range(H_out):
        for j in range(W_out):
            cols[:, i * W_out + j] = x[:, i : i + K, j : j + K].reshape(-1)  # (C * K * K,)
    return cols""",
        ),
    ),
    check(
        "im2col-check",
        fr="""\
patch = img[0, :, 120:126, 100:106]  # (3, 6, 6) : un petit morceau du chat
cols = im2col(patch, 3)
if not cols.any():
    print("Pas encore fait : complétez la boucle de im2col ci-dessus.")
else:
    assert cols.shape == (27, 16), f"cols devrait avoir la forme (3 * 3 * 3, 4 * 4) = (27, 16), pas {cols.shape}"
    weights = kernel1.reshape(1, -1)  # (C_out, C_in * K * K) = (1, 27)
    out = (weights @ cols).reshape(1, 1, 4, 4)  # (1, 16) -> (N, C_out, H_out, W_out)
    expected = F.conv2d(patch[None], kernel1)  # (1, 1, 4, 4)
    error = np.abs(out - expected).max()
    assert error < 1e-5, f"le produit des poids par cols diffère de conv2d (écart maximal {error:.3g})"
    print("Bravo : le produit de matrices", weights.shape, "@", cols.shape, "redonne la convolution", out.shape)""",
        en="""\
patch = img[0, :, 120:126, 100:106]  # (3, 6, 6): a small piece of the cat
cols = im2col(patch, 3)
if not cols.any():
    print("Not done yet: complete the loop of im2col above.")
else:
    assert cols.shape == (27, 16), f"cols should have the shape (3 * 3 * 3, 4 * 4) = (27, 16), not {cols.shape}"
    weights = kernel1.reshape(1, -1)  # (C_out, C_in * K * K) = (1, 27)
    out = (weights @ cols).reshape(1, 1, 4, 4)  # (1, 16) -> (N, C_out, H_out, W_out)
    expected = F.conv2d(patch[None], kernel1)  # (1, 1, 4, 4)
    error = np.abs(out - expected).max()
    assert error < 1e-5, f"the weights times cols differ from conv2d (largest difference {error:.3g})"
    print("Correct: the matrix product", weights.shape, "@", cols.shape, "gives the convolution back", out.shape)""",
    ),
    Markdown(
        fr="""\
Le filtre de Prewitt ne peut pourtant pas être encodé dans un réseau standard : il fait intervenir un carré et une
racine. Les non-linéarités implémentées dans ces réseaux sont plus simples :

- la fonction ReLU : c'est simplement la fonction « partie positive » ;
- le maxpooling : c'est une forme de sous-échantillonnage. Dans sa forme la plus courante, on divise l'image en
  carrés de 2 x 2 pixels, et on renvoie la valeur maximale de chaque carré. Les dimensions spatiales du tenseur de
  sortie sont donc divisées par deux.""",
        en="""\
The Prewitt filter cannot be encoded in a standard network, though: it involves a square and a square root. The
nonlinearities these networks implement are simpler:

- the ReLU function: simply the "positive part";
- max pooling: a form of downsampling. In its most common form, the image is divided into squares of 2 x 2 pixels,
  and the largest value of each square is returned. The spatial dimensions of the output tensor are thus halved.""",
    ),
    Code(
        name="relu",
        fr="""\
# partie positive : la fonction ReLU
rng = np.random.default_rng(0)  # graine fixée : les mêmes nombres à chaque exécution
x = rng.random((1, 1, 4, 4), dtype=np.float32) - 0.5  # torch.rand(1, 1, 4, 4) - 0.5
print(x)
print(F.relu(x))  # x.relu()

# maxpooling
x = F.max_pool2d(x, kernel_size=2)
print(x)""",
        en="""\
# the positive part: the ReLU function
rng = np.random.default_rng(0)  # a fixed seed: the same numbers at every run
x = rng.random((1, 1, 4, 4), dtype=np.float32) - 0.5  # torch.rand(1, 1, 4, 4) - 0.5
print(x)
print(F.relu(x))  # x.relu()

# max pooling
x = F.max_pool2d(x, kernel_size=2)
print(x)""",
    ),
    Markdown(
        name="layer30-exercise",
        fr="""\
**Exercice :** quelle est la taille du tenseur en sortie de la couche 30 du VGG16, comparée à celle de l'image
d'entrée (3 x 256 x 256) ? Indice : relisez `print(model)` et comptez les maxpoolings. Donnez la forme `(C, H, W)`
de la sortie et le rapport entre le nombre de valeurs en entrée et en sortie.""",
        en="""\
**Exercise:** what is the size of the tensor coming out of VGG16's layer 30, compared with the input image's
(3 x 256 x 256)? Hint: read `print(model)` again and count the max poolings. Give the output's shape `(C, H, W)` and
the ratio of the number of values in the input to the number in the output.""",
    ),
    Exercise(
        blank=Code(
            name="layer30",
            tags=("exercise",),
            fr="""\
layer30_shape = None  # À COMPLÉTER : la forme (C, H, W) en sortie de model.features[30]
ratio = None  # À COMPLÉTER : nombre de valeurs de l'image d'entrée / nombre de valeurs en sortie de la couche 30""",
            en="""\
layer30_shape = None  # TO COMPLETE: the shape (C, H, W) coming out of model.features[30]
ratio = None  # TO COMPLETE: number of values in the input image / number of values out of layer 30""",
        ),
        solution=Code(
            name="layer30",
            tags=("solution",),
            fr="""\
# cinq maxpoolings (couches 4, 9, 16, 23 et 30) divisent 256 par 2**5 = 32 ; la dernière convolution a 512 neurones
layer30_shape = (512, 256 // 2**5, 256 // 2**5)  # (512, 8, 8)
ratio = (3 * 256 * 256) / (512 * 8 * 8)  # 196 608 valeurs deviennent 32 768 : 6 fois moins
print(layer30_shape, ratio)

# vérification par un hook (voir la partie C) : la couche 30 transforme 3 x 256 x 256 en 512 x 8 x 8
sizes = []
handle = model.features[30].register_forward_hook(lambda module, inputs, output: sizes.append(output.shape))
model.eval()(img)
handle.remove()
print(model.features[30], "->", sizes[0])""",
            en="""\
# five max poolings (layers 4, 9, 16, 23 and 30) divide 256 by 2**5 = 32; the last convolution has 512 neurons
layer30_shape = (512, 256 // 2**5, 256 // 2**5)  # (512, 8, 8)
ratio = (3 * 256 * 256) / (512 * 8 * 8)  # 196,608 values become 32,768: 6 times fewer
print(layer30_shape, ratio)

# checked with a hook (see part C): layer 30 turns 3 x 256 x 256 into 512 x 8 x 8
sizes = []
handle = model.features[30].register_forward_hook(lambda module, inputs, output: sizes.append(output.shape))
model.eval()(img)
handle.remove()
print(model.features[30], "->", sizes[0])""",
        ),
    ),
    check(
        "layer30-check",
        fr="""\
from minicnn.summary import summarize

if layer30_shape is None or ratio is None:
    print("Pas encore fait : complétez layer30_shape et ratio ci-dessus.")
else:
    table = {row.name: row for row in summarize(models.vgg16(), (3, 256, 256))}  # les formes seules, sans calcul
    expected = table["features.30"].output_shape[1:]  # (C, H, W)
    assert tuple(layer30_shape) == expected, f"la couche 30 ne sort pas {tuple(layer30_shape)} (revoyez C, H et W)"
    assert np.isclose(ratio, img.size / np.prod(expected)), f"{ratio} n'est pas le bon rapport des nombres de valeurs"
    print(f"Bravo : la couche 30 sort {expected}, {ratio:g} fois moins de valeurs que l'image.")""",
        en="""\
from minicnn.summary import summarize

if layer30_shape is None or ratio is None:
    print("Not done yet: fill in layer30_shape and ratio above.")
else:
    table = {row.name: row for row in summarize(models.vgg16(), (3, 256, 256))}  # the shapes alone, no arithmetic
    expected = table["features.30"].output_shape[1:]  # (C, H, W)
    assert tuple(layer30_shape) == expected, f"layer 30 does not output {tuple(layer30_shape)} (check C, H and W)"
    assert np.isclose(ratio, img.size / np.prod(expected)), f"{ratio} is not the right ratio of value counts"
    print(f"Correct: layer 30 outputs {expected}, {ratio:g} times fewer values than the image.")""",
    ),
]
