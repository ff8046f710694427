"""Part C of the course: the cat classified, dropout, feature maps through hooks, and Grad-CAM."""

from .kinds import Code, Exercise, Markdown, check

SECTION_C = [
    Markdown(
        name="c-title",
        fr="""\
## C. Les cartes de caractéristiques

Voyons maintenant ce que devient l'image à travers le réseau. Reprenons le VGG16, passons-le sur notre image de chat
et voyons ce que devient le signal en se propageant dans le réseau. D'abord, voyons si le réseau reconnaît la bonne
classe parmi les mille classes d'ImageNet. La liste des classes est
[là](https://gist.github.com/yrevar/942d3a0ac09ec9e5eb3a) ; `imagenet_categories()` la donne aussi.

Il faut ici des poids **entraînés** : avec des poids aléatoires, la « prédiction » ne serait que du hasard, et les
cartes de caractéristiques ne répondraient à rien de précis. minicnn lit les poids du VGG16 de torchvision s'ils
sont dans le cache de torch hub (`minicnn weights download vgg16` les y met : 528 Mio). **Hors ligne, sans ce
fichier**, EfficientNet-Lite0, entraîné sur ImageNet et fourni avec minicnn, remplace le VGG16 dans toute la
partie C ; la deuxième cellule ci-dessous dit lequel des deux est utilisé.""",
        en="""\
## C. Feature maps

Let us now see what becomes of the image inside the network. Back to VGG16: run it on our cat and follow the signal
as it propagates through the network. First, does the network recognise the right class among ImageNet's thousand
classes? The list of classes is [there](https://gist.github.com/yrevar/942d3a0ac09ec9e5eb3a);
`imagenet_categories()` gives it too.

This needs **trained** weights: with random weights the "prediction" would be chance, and the feature maps would
respond to nothing in particular. minicnn reads torchvision's VGG16 weights when they are in the torch hub cache
(`minicnn weights download vgg16` puts them there: 528 MB). **Offline, without that file**, EfficientNet-Lite0,
trained on ImageNet and shipped with minicnn, stands in for VGG16 in the whole of part C; the second cell below says
which of the two is used.""",
    ),
    Code(
        name="preprocess",
        fr="""\
image = Image.open(path).convert("RGB")
image = image.resize((256, 256))

img = transforms.ToTensor()(image)
img = transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])(img)  # la normalisation d'ImageNet
img = img[None]  # img.unsqueeze(dim=0)""",
        en="""\
image = Image.open(path).convert("RGB")
image = image.resize((256, 256))

img = transforms.ToTensor()(image)
img = transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])(img)  # ImageNet's normalisation
img = img[None]  # img.unsqueeze(dim=0)""",
    ),
    Code(
        name="trained-model",
        fr="""\
try:
    model = models.vgg16(weights="IMAGENET1K_V1", download=False)  # le pretrained=True du TP
    x = img
    layers = [model.features[i] for i in (0, 10, 17, 28)]  # les couches 0, 10, 17 et 28 du TP
    print("VGG16 entraîné sur ImageNet : les poids de torchvision sont dans le cache de torch hub.")
except (hub.OfflineError, FileNotFoundError):
    print("Les poids entraînés du VGG16 ne sont pas ici : EfficientNet-Lite0, entraîné sur ImageNet, le remplace.")
    model = models.efficientnet_lite0(weights="DEFAULT")
    x = models.EfficientNetLite0_Weights.DEFAULT.transforms()(Image.open(path).convert("RGB"))  # son prétraitement
    x = x[None]  # (1, 3, 224, 224)
    # la première convolution (1/2 de l'image), puis des blocs au 1/4, au 1/8 et au 1/16 de l'image :
    # les résolutions des couches 10, 17 et 28 du VGG16
    layers = [model._conv_stem, model._blocks[2], model._blocks[4], model._blocks[10]]""",
        en="""\
try:
    model = models.vgg16(weights="IMAGENET1K_V1", download=False)  # the course's pretrained=True
    x = img
    layers = [model.features[i] for i in (0, 10, 17, 28)]  # the course's layers 0, 10, 17 and 28
    print("VGG16 trained on ImageNet: torchvision's weights are in the torch hub cache.")
except (hub.OfflineError, FileNotFoundError):
    print("VGG16's trained weights are not here: EfficientNet-Lite0, trained on ImageNet, stands in for it.")
    model = models.efficientnet_lite0(weights="DEFAULT")
    x = models.EfficientNetLite0_Weights.DEFAULT.transforms()(Image.open(path).convert("RGB"))  # its preprocessing
    x = x[None]  # (1, 3, 224, 224)
    # the first convolution (1/2 of the image), then blocks at 1/4, 1/8 and 1/16 of the image:
    # the resolutions of VGG16's layers 10, 17 and 28
    layers = [model._conv_stem, model._blocks[2], model._blocks[4], model._blocks[10]]""",
    ),
    Code(
        name="classify",
        fr="""\
model.eval()  # mode évaluation : voir plus bas, à propos du dropout

output = model(x)  # sortie brute : un score par classe, (1, 1000)
output = F.softmax(output, dim=1)  # fonction softmax : des « probabilités »

c = output.argmax(axis=1)  # prédiction
categories = imagenet_categories()
print(c, categories[c[0]])
for k in np.argsort(output[0])[::-1][:5]:  # les cinq classes les plus probables
    print(f"{k:4d}  {categories[k]:<16} {output[0, k]:.4f}")

# « probabilités » associées aux classes
plt.figure(figsize=(10, 3))
plt.plot(output[0])
plt.annotate(categories[c[0]], (c[0], output[0, c[0]]), xytext=(10, -5), textcoords="offset points")
plt.xlabel("classe")
plt.ylabel("probabilité")
plt.show()""",
        en="""\
model.eval()  # evaluation mode: see below, about dropout

output = model(x)  # raw output: one score per class, (1, 1000)
output = F.softmax(output, dim=1)  # softmax: "probabilities"

c = output.argmax(axis=1)  # prediction
categories = imagenet_categories()
print(c, categories[c[0]])
for k in np.argsort(output[0])[::-1][:5]:  # the five most likely classes
    print(f"{k:4d}  {categories[k]:<16} {output[0, k]:.4f}")

# "probabilities" of the classes
plt.figure(figsize=(10, 3))
plt.plot(output[0])
plt.annotate(categories[c[0]], (c[0], output[0, c[0]]), xytext=(10, -5), textcoords="offset points")
plt.xlabel("class")
plt.ylabel("probability")
plt.show()""",
    ),
    Markdown(
        name="dropout-text",
        fr="""\
Les classes voisines (281 *tabby*, 282 *tiger cat*, 285 *Egyptian cat*...) se partagent la probabilité : pour le
réseau, c'est presque le même chat.

Dans le TP, en exécutant la dernière cellule plusieurs fois, on obtenait des probabilités différentes alors que
l'entrée ne changeait pas : le modèle était resté en mode apprentissage, où le **dropout** est actif (refaire un
`print(model)`). En mode apprentissage, une couche `Dropout(p)` met à zéro chacune de ses entrées avec la
probabilité $p$, indépendamment des autres et à chaque passage, et multiplie celles qu'elle garde par $1/(1-p)$,
pour que leur moyenne ne change pas. Elle désactive ainsi un sous-ensemble aléatoire des neurones du classifieur,
différent à chaque passage, ce qui lutte contre le **surapprentissage**. Pour désactiver le dropout et figer le
réseau, on passe en mode évaluation : `model.eval()`, comme au début de la cellule précédente.

La cellule suivante remet les seules couches de dropout en mode apprentissage. Pour EfficientNet-Lite0, c'est
indispensable : ses couches de normalisation (`BatchNorm2d`) doivent rester en mode évaluation, sinon elles
normaliseraient avec les statistiques de cette seule image au lieu de celles d'ImageNet. (Le VGG16 n'a pas de
normalisation : `model.train()` suffirait.)""",
        en="""\
Neighbouring classes (281 *tabby*, 282 *tiger cat*, 285 *Egyptian cat*...) share the probability: to the network,
they are almost the same cat.

In the course, running the last cell several times gave different probabilities although the input did not change:
the model had been left in training mode, where **dropout** is on (print the model again). In training mode, a
`Dropout(p)` layer sets each of its inputs to zero with probability $p$, independently of the others and at every
pass, and multiplies the ones it keeps by $1/(1-p)$, so that their mean does not change. It thus switches off a
random subset of the classifier's neurons, a different one at every pass, which fights **overfitting**. To switch
dropout off and freeze the network, put it in evaluation mode: `model.eval()`, as at the start of the last cell.

The next cell puts the dropout layers alone back in training mode. For EfficientNet-Lite0 this is essential: its
normalisation layers (`BatchNorm2d`) must stay in evaluation mode, or they would normalise with the statistics of
this one image instead of ImageNet's. (VGG16 has no normalisation: `model.train()` would do.)""",
    ),
    Code(
        name="dropout",
        fr="""\
dropout_layers = [m for m in model.modules() if isinstance(m, nn.Dropout)]
print(dropout_layers)
minicnn.manual_seed(0)  # les mêmes tirages à chaque exécution du notebook (enlevez cette ligne pour en voir d'autres)

for m in dropout_layers:
    m.train()  # dropout actif ; tout le reste reste en mode évaluation
for _ in range(3):
    p = F.softmax(model(x), dim=1)[0]
    print("mode apprentissage :", categories[p.argmax()], round(float(p.max()), 4))

model.eval()  # dropout désactivé : le réseau est figé
for _ in range(2):
    p = F.softmax(model(x), dim=1)[0]
    print("mode évaluation :   ", categories[p.argmax()], round(float(p.max()), 4))""",
        en="""\
dropout_layers = [m for m in model.modules() if isinstance(m, nn.Dropout)]
print(dropout_layers)
minicnn.manual_seed(0)  # the same draws at every run of the notebook (remove this line to see others)

for m in dropout_layers:
    m.train()  # dropout on; everything else stays in evaluation mode
for _ in range(3):
    p = F.softmax(model(x), dim=1)[0]
    print("training mode:  ", categories[p.argmax()], round(float(p.max()), 4))

model.eval()  # dropout off: the network is frozen
for _ in range(2):
    p = F.softmax(model(x), dim=1)[0]
    print("evaluation mode:", categories[p.argmax()], round(float(p.max()), 4))""",
    ),
    Markdown(
        fr="""\
Maintenant, visualisons le signal en sortie d'une couche de convolution. Pour cela, on peut utiliser un
[*hook*](https://pytorch.org/docs/stable/generated/torch.nn.Module.html#torch.nn.Module.register_forward_hook) :
une fonction que la couche appelle à chaque passage, avec son entrée et sa sortie. Les canaux de ces signaux
intermédiaires sont appelés **cartes de caractéristiques** (*feature maps*). Voyons les cartes de caractéristiques
associées aux quatre couches choisies plus haut :""",
        en="""\
Now let us look at the signal coming out of a convolution layer. A
[*hook*](https://pytorch.org/docs/stable/generated/torch.nn.Module.html#torch.nn.Module.register_forward_hook) does
it: a function the layer calls at every pass, with its input and its output. The channels of these intermediate
signals are called **feature maps**. Let us see the feature maps of the four layers chosen above:""",
    ),
    Code(
        name="hooks",
        fr="""\
z = []


def store_layer_output(model, input, output):  # stocke dans z les cartes de caractéristiques
    z.append(output)


handles = [layer.register_forward_hook(store_layer_output) for layer in layers]
output = model(x)
for handle in handles:  # (sans cela, relancer la cellule ajouterait des hooks, et z grandirait)
    handle.remove()

for fm in z:
    print(fm.shape)""",
        en="""\
z = []


def store_layer_output(model, input, output):  # stores the feature maps in z
    z.append(output)


handles = [layer.register_forward_hook(store_layer_output) for layer in layers]
output = model(x)
for handle in handles:  # (without this, running the cell again would add hooks, and z would grow)
    handle.remove()

for fm in z:
    print(fm.shape)""",
    ),
    Markdown(
        name="maps-text",
        fr="""\
Ces cartes viennent d'un réseau **entraîné** : chaque canal répond à un motif, fortement là où le motif se trouve.
Pour le VGG16, chaque ReLU modifie directement le tableau que lui passe la convolution (`inplace=True`) : le hook
voit donc la carte après la ReLU, positive ou nulle, dans PyTorch comme ici. Une carte nulle partout (d'une seule
couleur) n'est pas une panne : le motif de ce canal est simplement absent de l'image. Pour EfficientNet-Lite0, la
sortie de `_conv_stem` précède la normalisation et l'activation, et celle d'un bloc est une projection linéaire,
sans activation : ses cartes prennent des valeurs des deux signes. Avec des poids aléatoires, enfin, on ne verrait
que des versions floues et mélangées de l'image, propres à aucun motif.

**Exercice :** visualiser les cartes de caractéristiques des couches 0, 10, 17 et 28 (des quatre couches choisies,
pour EfficientNet-Lite0). Écrivez la fonction `show_maps`, qui affiche les `n` premières cartes d'un élément de `z`
sur une grille 4 x 4 et renvoie la figure, puis appelez-la sur les quatre éléments de `z`. Vous remarquerez qu'au
niveau 10 (le deuxième élément de `z`), la réponse d'un neurone est souvent spécifique à un trait précis : les yeux,
les moustaches, l'arête du nez.""",
        en="""\
These maps come from a **trained** network: each channel responds to a pattern, strongly where the pattern is.
For VGG16, each ReLU modifies the very array the convolution hands it (`inplace=True`), so the hook sees the map
after the ReLU, positive or zero, in PyTorch as here. A map that is zero everywhere (one flat colour) is not a
fault: that channel's pattern is simply absent from the image. For EfficientNet-Lite0, the output of `_conv_stem`
comes before normalisation and activation, and a block's output is a linear projection, with no activation: its
maps take values of both signs. With random weights, finally, one would only see blurred, mixed-up versions of the
image, specific to no pattern.

**Exercise:** show the feature maps of layers 0, 10, 17 and 28 (of the four chosen layers, for EfficientNet-Lite0).
Write the function `show_maps`, which shows the first `n` maps of an element of `z` on a 4 x 4 grid and returns the
figure, then call it on the four elements of `z`. You will notice that at level 10 (the second element of `z`), a
neuron's response is often specific to one precise trait: the eyes, the whiskers, the edge of the nose.""",
    ),
    Exercise(
        blank=Code(
            name="maps",
            tags=("exercise",),
            fr="""\
def show_maps(feature_maps, n=16):
    \"\"\"Affiche les n premières cartes de feature_maps (1, C, H, W) sur une grille 4 x 4 ; renvoie la figure.\"\"\"
    return None  # À COMPLÉTER : plt.figure(), puis pour chaque i, plt.subplot(4, 4, i + 1) et plt.imshow(...)


# À COMPLÉTER : appeler show_maps sur chacun des quatre éléments de z""",
            en="""\
def show_maps(feature_maps, n=16):
    \"\"\"Show the first n maps of feature_maps (1, C, H, W) on a 4 x 4 grid; return the figure.\"\"\"
    return None  # TO COMPLETE: plt.figure(), then for each i, plt.subplot(4, 4, i + 1) and plt.imshow(...)


# TO COMPLETE: call show_maps on each of the four elements of z""",
        ),
        solution=Code(
            name="maps",
            tags=("solution",),
            fr="""\
def show_maps(feature_maps, n=16):
    \"\"\"Affiche les n premières cartes de feature_maps (1, C, H, W) sur une grille 4 x 4 ; renvoie la figure.\"\"\"
    fig = plt.figure(figsize=(8, 8))
    fig.suptitle(f"{n} des {feature_maps.shape[1]} cartes, de {feature_maps.shape[2]} x {feature_maps.shape[3]}")
    for i in range(n):
        plt.subplot(4, 4, i + 1)
        plt.imshow(feature_maps[0, i])
        plt.axis("off")
    return fig


for feature_maps in z:
    show_maps(feature_maps)
plt.show()""",
            en="""\
def show_maps(feature_maps, n=16):
    \"\"\"Show the first n maps of feature_maps (1, C, H, W) on a 4 x 4 grid; return the figure.\"\"\"
    fig = plt.figure(figsize=(8, 8))
    fig.suptitle(f"{n} of the {feature_maps.shape[1]} maps, {feature_maps.shape[2]} x {feature_maps.shape[3]}")
    for i in range(n):
        plt.subplot(4, 4, i + 1)
        plt.imshow(feature_maps[0, i])
        plt.axis("off")
    return fig


for feature_maps in z:
    show_maps(feature_maps)
plt.show()""",
        ),
    ),
    check(
        "maps-check",
        fr="""\
fig = show_maps(z[1])
if fig is None:
    print("Pas encore fait : complétez show_maps ci-dessus (ou show_maps ne renvoie pas sa figure : `return fig`).")
else:
    shown = [ax.images[0].get_array() for ax in fig.axes if ax.images]  # ce que montre chaque case
    plt.close(fig)  # cette figure-là n'est faite que pour la vérification
    assert len(shown) >= 16, f"la figure montre {len(shown)} cartes au lieu de 16"
    for i, data in enumerate(shown[:16]):
        assert np.array_equal(data, z[1][0, i]), f"la case {i + 1} ne montre pas la carte {i} de z[1]"
    print("Bravo : show_maps montre bien les 16 premières cartes.")""",
        en="""\
fig = show_maps(z[1])
if fig is None:
    print("Not done yet: complete show_maps above (or show_maps does not return its figure: `return fig`).")
else:
    shown = [ax.images[0].get_array() for ax in fig.axes if ax.images]  # what each panel shows
    plt.close(fig)  # this figure is only made for the check
    assert len(shown) >= 16, f"the figure shows {len(shown)} maps instead of 16"
    for i, data in enumerate(shown[:16]):
        assert np.array_equal(data, z[1][0, i]), f"panel {i + 1} does not show map {i} of z[1]"
    print("Correct: show_maps shows the first 16 maps.")""",
    ),
    Markdown(
        name="gradcam-text",
        fr="""\
### Où le réseau regarde-t-il ? Grad-CAM

Les cartes de caractéristiques montrent à quoi répond chaque canal ; Grad-CAM (Selvaraju et al., 2017) montre ce qui
a compté pour la décision. On prend les cartes $A_k$ d'une couche tardive, on pondère chaque canal $k$ par la
dérivée moyenne du score de la classe prédite par rapport à cette carte (calculée par rétropropagation), on somme,
et on garde la partie positive. Agrandi à la taille de l'image, le résultat montre les régions qui ont fait monter le
score du chat. On l'applique à EfficientNet-Lite0 entraîné, quel que soit le réseau utilisé plus haut.""",
        en="""\
### Where does the network look? Grad-CAM

Feature maps show what each channel responds to; Grad-CAM (Selvaraju et al., 2017) shows what mattered for the
decision. Take the maps $A_k$ of a late layer, weigh each channel $k$ by the mean derivative of the predicted class's
score with respect to that map (computed by backpropagation), add them up and keep the positive part. Enlarged to
the image's size, the result shows the regions that raised the cat's score. It is applied to the trained
EfficientNet-Lite0, whichever network was used above.""",
    ),
    Code(
        name="gradcam",
        fr="""\
from minicnn.explain import grad_cam

effnet = models.efficientnet_lite0(weights="DEFAULT")  # entraîné sur ImageNet
x_effnet = models.EfficientNetLite0_Weights.DEFAULT.transforms()(Image.open(path).convert("RGB"))  # (3, 224, 224)
top = int(effnet.eval()(x_effnet[None]).argmax())  # la classe prédite
cam = grad_cam(effnet, x_effnet, class_index=top)  # (224, 224), dans [0, 1] ; la couche : le dernier bloc
seen = np.clip(x_effnet.transpose(1, 2, 0) * 128 / 255 + 127 / 255, 0, 1)  # l'image telle que le réseau la voit

plt.figure(figsize=(9, 4.5))
plt.subplot(1, 2, 1)
plt.imshow(seen)
plt.axis("off")
plt.subplot(1, 2, 2)
plt.imshow(seen)
plt.imshow(cam, cmap="jet", alpha=0.5)  # en rouge, les régions qui comptent le plus
plt.title(f"Grad-CAM : {categories[top]}")
plt.axis("off")
plt.show()""",
        en="""\
from minicnn.explain import grad_cam

effnet = models.efficientnet_lite0(weights="DEFAULT")  # trained on ImageNet
x_effnet = models.EfficientNetLite0_Weights.DEFAULT.transforms()(Image.open(path).convert("RGB"))  # (3, 224, 224)
top = int(effnet.eval()(x_effnet[None]).argmax())  # the predicted class
cam = grad_cam(effnet, x_effnet, class_index=top)  # (224, 224), in [0, 1]; the layer: the last block
seen = np.clip(x_effnet.transpose(1, 2, 0) * 128 / 255 + 127 / 255, 0, 1)  # the image as the network sees it

plt.figure(figsize=(9, 4.5))
plt.subplot(1, 2, 1)
plt.imshow(seen)
plt.axis("off")
plt.subplot(1, 2, 2)
plt.imshow(seen)
plt.imshow(cam, cmap="jet", alpha=0.5)  # in red, the regions that matter most
plt.title(f"Grad-CAM: {categories[top]}")
plt.axis("off")
plt.show()""",
    ),
    Markdown(
        name="further",
        fr="""\
### Pour aller plus loin

- [CNN Explainer](https://poloclub.github.io/cnn-explainer/) : survolez une fenêtre d'un petit réseau, et voyez la
  somme qu'elle calcule.
- [conv_arithmetic](https://github.com/vdumoulin/conv_arithmetic) : la formule (2) en animations, pour chaque pas,
  marge et dilatation.
- `minicnn demo --lang fr` écrit ce parcours sous forme de rapport illustré ; `minicnn summary vgg16 --input
  3x256x256` donne le tableau de toutes les couches du VGG16 (formes, paramètres, calculs) ; `minicnn train digits`
  entraîne le petit réseau de la partie B pendant 30 époques.""",
        en="""\
### Going further

- [CNN Explainer](https://poloclub.github.io/cnn-explainer/): hover over a window of a small network and see the sum
  it computes.
- [conv_arithmetic](https://github.com/vdumoulin/conv_arithmetic): formula (2) as animations, for every stride,
  padding and dilation.
- `minicnn demo` writes this walk as an illustrated report; `minicnn summary vgg16 --input 3x256x256` gives the table
  of all VGG16's layers (shapes, parameters, work); `minicnn train digits` trains part B's small network for 30
  epochs.""",
    ),
]
