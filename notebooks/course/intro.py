"""The notebook's opening: what it is, the cell that installs minicnn where it is missing, the imports."""

from .kinds import Code, Markdown

# Where Colab (or any machine without minicnn) installs minicnn from: its repository, the folder above this notebook
# (notebooks/ in a clone) or a clone beside it. Not "pip install minicnn": that name on PyPI belongs to another
# project (a few PyTorch models, top-level package "MiniCNN").
INSTALL_LINE = """\
    source = next((p for p in (Path(".."), Path("minicnn")) if (p / "pyproject.toml").is_file()), None)
    if source is None:
        raise RuntimeError(NOT_FOUND)
    %pip install --quiet "{source.resolve()}[efficientnet]\""""

INTRO = [
    Markdown(
        name="title",
        fr="""\
# Partie II : les couches de convolution, avec minicnn

Dans cette partie, nous nous intéressons aux couches de convolution : ce sont les briques de base d'architectures
classiques comme le VGG et le ResNet. Pour comprendre leur effet, nous les manipulons un peu et nous introduisons
les opérations de maxpooling qui leur sont souvent associées (**A.**). Puis nous observons comment ont convergé
leurs paramètres après apprentissage sur la base de données ImageNet (**B.**). Nous visualisons aussi le signal en
sortie des couches de convolution (**C.**).

Ce notebook suit le TP cellule par cellule, mais chaque calcul y est fait par **minicnn**, une réécriture en NumPy
de ce que le TP utilise de PyTorch : mêmes noms, mêmes arguments, mêmes formes de tenseurs, mais ces tenseurs sont
des tableaux NumPy. Les correspondances à connaître :

| PyTorch | minicnn |
| --- | --- |
| `import torch.nn.functional as F` | `import minicnn.functional as F` |
| `from torchvision import models, transforms` | `from minicnn import models, transforms` |
| `img.unsqueeze(dim=0)` | `img[None]` |
| `kernel.repeat(1, 3, 1, 1)` | `np.tile(kernel, (1, 3, 1, 1))` |
| `x.relu()` | `F.relu(x)` |
| `output.detach()`, `weight.data` | `output`, `weight` (ce sont déjà des tableaux) |

**Les exercices.** Chaque exercice laisse une ou plusieurs valeurs à `None`, ou une ligne marquée `À COMPLÉTER`.
La cellule suivante vérifie votre réponse : tant que l'exercice n'est pas fait, elle le dit sans erreur ; une fois
qu'il l'est, elle dit si la réponse est juste, et sinon pourquoi. Le corrigé est dans
`solutions/partie2_convolutions_fr_corrige.ipynb`.""",
        en="""\
# Part II: convolution layers, with minicnn

In this part we look at convolution layers, the building blocks of classic architectures such as VGG and ResNet.
To understand what they do, we play with them a little and introduce the max pooling operations that often come
with them (**A.**). Then we look at what their parameters became after training on the ImageNet database (**B.**).
We also look at the signal coming out of the convolution layers (**C.**).

This notebook follows the course notebook cell by cell, but every computation in it is done by **minicnn**, a NumPy
rewrite of the part of PyTorch the course uses: the same names, arguments and tensor shapes, but the tensors are
NumPy arrays. What to know:

| PyTorch | minicnn |
| --- | --- |
| `import torch.nn.functional as F` | `import minicnn.functional as F` |
| `from torchvision import models, transforms` | `from minicnn import models, transforms` |
| `img.unsqueeze(dim=0)` | `img[None]` |
| `kernel.repeat(1, 3, 1, 1)` | `np.tile(kernel, (1, 3, 1, 1))` |
| `x.relu()` | `F.relu(x)` |
| `output.detach()`, `weight.data` | `output`, `weight` (they are arrays already) |

**Exercises.** Each exercise leaves one or more values at `None`, or a line marked `TO COMPLETE`. The next cell
checks your answer: while the exercise is not done it says so, without an error; once it is, it says whether the
answer is right, and if not, why. The solutions are in `solutions/part2_convolutions_en_solutions.ipynb`.""",
    ),
    Code(
        name="install",
        fr="""\
import importlib.util
from pathlib import Path

NOT_FOUND = "minicnn n'est pas installé : clonez son dépôt à côté de ce notebook (git clone ADRESSE minicnn)"
if importlib.util.find_spec("minicnn") is None:  # sous Colab, ou dans un environnement neuf : l'installer
    # depuis le dépôt de minicnn : le dossier au-dessus de ce notebook, ou un clone à côté (sous Colab :
    # !git clone ADRESSE_DU_DÉPÔT minicnn). Pas « pip install minicnn » : sur PyPI, ce nom est celui d'un autre projet
"""
        + INSTALL_LINE,
        en="""\
import importlib.util
from pathlib import Path

NOT_FOUND = "minicnn is not installed: clone its repository next to this notebook (git clone ADDRESS minicnn)"
if importlib.util.find_spec("minicnn") is None:  # on Colab, or in a fresh environment: install it
    # from minicnn's repository: the folder above this notebook, or a clone beside it (on Colab:
    # !git clone REPOSITORY_ADDRESS minicnn). Not "pip install minicnn": on PyPI, that name belongs to another project
"""
        + INSTALL_LINE,
    ),
    Markdown(
        fr="""\
Le TP lisait ses données sur un Google Drive partagé (`drive.mount`). Ici, la seule donnée est la photo du chat,
fournie avec minicnn : rien à monter. Pour travailler sur votre propre image, remplacez `path` par son chemin (sous
Colab, déposez-la d'abord dans le panneau « Fichiers »).""",
        en="""\
The course read its data from a shared Google Drive (`drive.mount`). Here the only data is the photo of the cat,
shipped with minicnn: nothing to mount. To work on your own image, set `path` to its path (on Colab, upload it
first in the "Files" panel).""",
    ),
    Code(
        name="imports",
        fr="""\
import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

import minicnn
import minicnn.functional as F  # torch.nn.functional
from minicnn import hub, models, nn, transforms  # torch.nn, torchvision.models, torchvision.transforms
from minicnn.data import imagenet_categories, sample_image_path

path = sample_image_path()  # le cat.jpg du TP : Chelsea le chat (domaine public), fourni avec minicnn
print(path.name)""",
        en="""\
import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

import minicnn
import minicnn.functional as F  # torch.nn.functional
from minicnn import hub, models, nn, transforms  # torch.nn, torchvision.models, torchvision.transforms
from minicnn.data import imagenet_categories, sample_image_path

path = sample_image_path()  # the course's cat.jpg: Chelsea the cat (public domain), shipped with minicnn
print(path.name)""",
    ),
]
