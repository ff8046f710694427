"""The demo's report read as a student reads it: its code runs as shown, its tables are complete, its figures
honest, and the French report is French (words, numbers, figures)."""

import contextlib
import html
import io
import re
import tokenize

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from minicnn import demo, models  # noqa: E402
from minicnn.demo import figures  # noqa: E402
from minicnn.demo.report import Report  # noqa: E402
from minicnn.demo.text import NNBSP  # noqa: E402

# Words of English prose that French never uses; the French report's prose must have none of them.
ENGLISH = {"the", "and", "with", "which", "from", "this", "that", "before", "after", "trained", "random", "channel",
           "channels", "weights", "layer", "layers", "pass", "found", "expected", "each", "kernel's", "not", "its",
           "shape", "first", "training", "value", "class", "probability", "gradient's", "magnitude"}  # fmt: skip


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """The offline demo (empty torch hub cache: the trained EfficientNet-Lite0 stands in), once per language:
    {lang: (results, html, printed, figure texts)}; figure texts: every word and number drawn on each figure."""
    runs = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TORCH_HOME", str(tmp_path_factory.mktemp("torch")))
        mp.setenv("MINICNN_OFFLINE", "1")
        mp.setattr("minicnn.hub._hub_dir", None)
        drawn = {}
        original = Report.figure

        def figure(self, fig, name, *args, **kwargs):
            path = original(self, fig, name, *args, **kwargs)
            with matplotlib.rc_context({"svg.fonttype": "none"}):  # the figure drawn again, its words kept as text
                svg = io.StringIO()
                fig.savefig(svg, format="svg", bbox_inches="tight")
            drawn[name] = [html.unescape(t) for t in re.findall(r"<text[^>]*>(.*?)</text>", svg.getvalue(), re.S)]
            return path

        mp.setattr(Report, "figure", figure)
        for lang in ("en", "fr"):
            drawn = {}
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                results = demo.run(out_dir=tmp_path_factory.mktemp(lang), quick=True, lang=lang)
            runs[lang] = (results, results["report"].read_text(encoding="utf-8"), printed.getvalue(), drawn)
    return runs


def cells(page):
    """The report's code cells, in order: [(source, what it printed or None)]."""
    outs = {
        n: html.unescape(text) for n, text in re.findall(r"<pre class='out' data-cell='(\d+)'>(.*?)</pre>", page, re.S)
    }
    return [(html.unescape(src), outs.get(n)) for n, src in re.findall(r"<pre class='code' id='cell-(\d+)'>(.*?)</pre>",
                                                                      page, re.S)]  # fmt: skip


def prose(page):
    """The words of the page a reader reads as text: paragraphs, titles, captions, answers, fold summaries, and
    the demo's own result blocks (not the code, nor what the code printed)."""
    page = re.sub(r"<pre class='(code|out)'.*?</pre>", " ", page, flags=re.S)
    page = re.sub(
        r"<style>.*?</style>|<footer>.*?</footer>|src='[^']*'|href='[^']*'|alt='[^']*'", " ", page, flags=re.S
    )
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def english_words(text):
    words = re.findall(r"[A-Za-z][A-Za-z']*", re.sub(r"\S*[_.=(/\[]\S*", " ", text))  # code-like tokens dropped
    return sorted({w for w in words if w.lower() in ENGLISH})


def english_numbers(text):
    """Numbers written the English way (9,408 or 37.89), outside code-like tokens (Dropout(p=0.2), 1/(1 − p))."""
    text = re.sub(r"\S*[=(/\[]\S*", " ", text)
    return re.findall(r"(?<![\d,])[1-9]\d{0,2}(?:,\d{3})+(?![\d,])|\d\.\d", text)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_code_cells_run_as_shown_and_print_what_the_report_shows(reports, lang):
    """Every code block of the report, copied as shown, run in order in a fresh namespace (as in a new notebook)."""
    import matplotlib.pyplot as plt

    _, page, _, _ = reports[lang]
    namespace = {"__name__": "__main__"}
    found = cells(page)
    assert len(found) >= 15
    for i, (source, shown) in enumerate(found):
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(source, f"<cell {i + 1}>", "exec"), namespace)
        plt.close("all")
        assert printed.getvalue().rstrip("\n") == (shown or ""), f"cell {i + 1} printed something else:\n{source}"
    assert namespace["output"] is not None and namespace["z"][1].shape == (1, 24, 56, 56)


def test_the_code_is_the_same_in_both_languages_only_the_comments_differ(reports):
    def without_comments(source):
        tokens = tokenize.generate_tokens(io.StringIO(source).readline)
        return [(tok.type, tok.string) for tok in tokens if tok.type not in (tokenize.COMMENT, tokenize.NL)]

    en, fr = cells(reports["en"][1]), cells(reports["fr"][1])
    assert len(en) == len(fr)
    for (a, _), (b, _) in zip(en, fr):
        assert without_comments(a) == without_comments(b), a


def test_the_prewitt_cell_runs_as_shown(reports):
    """The report's Prewitt snippet once failed when copied (np.tile made float64 kernels for a float32 image)."""
    _, page, _, _ = reports["en"]
    source = next(src for src, _ in cells(page) if "kernel1" in src)
    namespace = {}
    exec(next(src for src, _ in cells(page) if "import minicnn" in src), namespace)
    exec(next(src for src, _ in cells(page) if "ToTensor" in src and "resize" in src), namespace)
    exec(source, namespace)
    assert namespace["output"].shape == (1, 1, 254, 254) and namespace["kernel1"].dtype == np.float32


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_layer_table_has_every_leaf_module_and_sizes_in_mib(reports, lang):
    results, page, _, _ = reports[lang]
    leaves = [name for name, m in models.vgg16(generator=0).named_modules() if not any(True for _ in m.children())]
    assert results["table_layers"] == leaves and "avgpool" in leaves
    table = html.unescape(next(t for t in re.findall(r"<pre class='result'>(.*?)</pre>", page, re.S) if "avgpool" in t))
    positions = [table.index(f"\n{name} (") for name in leaves]  # each leaf on its own row, in the order they run
    assert positions == sorted(positions)
    assert "MB" not in table and ("MiB" if lang == "en" else "Mio") in table
    assert "25,088" in prose(page) if lang == "en" else f"25{NNBSP}088" in prose(page)  # avgpool's 7x7 explained


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_long_printouts_are_folded_and_the_theory_is_there(reports, lang):
    _, page, _, _ = reports[lang]
    unfolded = re.sub(r"<details>.*?</details>", "", page, flags=re.S)
    for block in re.findall(r"<pre class='out'.*?</pre>", unfolded, re.S):
        assert block.count("\n") < 30, "a long printout is not folded"
    assert page.count("<details>") >= 2  # print(vgg) and print(resnet)
    assert page.index("<details>") < page.index("<figure>")
    text = prose(page)
    assert "input<sub>i+j</sub>" in page and "(1)" in text  # the notebook's formula (1)
    assert ("cross-correlation" if lang == "en" else "corrélation croisée") in text
    assert "stride" in text and "padding" in text and "⌊(H + 2p − K) / s⌋ + 1" in text
    assert "href='https://github.com/vdumoulin/conv_arithmetic'" in page
    assert ("9.4 over the three RGB channels" if lang == "en" else "9,4 sur les trois canaux RVB") in text


def test_dropout_runs_on_the_trained_network_with_only_dropout_in_training_mode(reports):
    for lang in ("en", "fr"):
        results, page, _, _ = reports[lang]
        assert results["dropout_model"] == "EfficientNet-Lite0"
        assert results["dropout_training"] == ["_dropout"]  # the batch norms stayed in eval mode
        train_gap, eval_gap = results["dropout"]
        assert train_gap > 0.01 and eval_gap == 0  # visibly different in training mode, identical in eval mode
        assert len(results["dropout_top1"]) >= 2  # the predicted class itself changes between passes
        assert set(results["dropout_top1"]) <= {"tabby", "tiger cat", "Egyptian cat"}  # a trained network's cats
    assert "with probability p" in prose(reports["en"][1]) and "1/(1 − p)" in prose(reports["en"][1])
    assert "avec la probabilité p" in prose(reports["fr"][1]) and "zeroes half" not in reports["en"][1]


def test_feature_maps_come_from_the_trained_network_and_are_explained(reports):
    results, page, _, _ = reports["en"]
    assert results["feature_maps_model"] == "EfficientNet-Lite0"
    assert results["feature_maps"] == [(1, 32, 112, 112), (1, 24, 56, 56), (1, 40, 28, 28), (1, 112, 14, 14)]
    text = prose(page)
    assert "zero everywhere" in text and "'dead'" in text and "With random weights" in text
    assert "random initialisation" not in text.split("C. Feature maps")[1]  # part C never shows random weights


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_a_first_line_says_why_the_first_run_is_slow(reports, lang):
    _, _, printed, _ = reports[lang]
    assert "Numba" in printed.splitlines()[0] and ("compiles" if lang == "en" else "compile") in printed.splitlines()[0]


def test_the_french_report_is_french(reports):
    _, page, printed, drawn = reports["fr"]
    text = prose(page)
    assert english_words(text) == []
    assert english_numbers(text) == []
    assert f"9{NNBSP}408" in text and f"37,89{NNBSP}%" in text and "RVB" in text
    for calque in ("sort 512", "travaillent en place", "contre float64", "1000 d'ImageNet", " RGB"):
        assert calque not in text, calque
    console = "\n".join(line for line in printed.splitlines() if not line.startswith("    "))  # not the printouts
    assert english_words(re.sub(r"\[[^\]]*\]|\(/[^)]*\)", " ", console)) == []
    for name, texts in drawn.items():  # titles, axis labels, tick labels, legends of every figure
        words = " ".join(texts)
        assert english_words(words) == [] and english_numbers(words) == [], name
    assert "probabilité" in drawn["probabilities.png"] and "indice de la classe" in drawn["probabilities.png"]


def test_kernel_figures_share_one_symmetric_scale_where_zero_is_white():
    weight = np.zeros((4, 3, 3, 3), np.float32)
    weight[1, 0] = [[1, 0, -1]] * 3
    weight[2, 0] = 0.25
    fig = figures.kernel_grid(weight, "title", "weight")
    images = [im for ax in fig.axes for im in ax.images]
    assert len(images) == 4 and len(fig.axes) == 8 + 1  # a row of 8 places and one colour bar
    for im in images:
        assert (im.norm.vmin, im.norm.vmax) == (-1.0, 1.0)
        np.testing.assert_allclose(im.cmap(im.norm(0.0))[:3], 1.0, atol=0.01)  # 0 is white
    matplotlib.pyplot.close(fig)


def test_the_top5_labels_do_not_overlap():
    probs = np.full(1000, 1e-4)
    top = np.array([282, 285, 281, 287, 904])
    probs[top] = [0.379, 0.375, 0.168, 0.016, 0.001]
    labels = [f"{i + 1}. a class name of some length (class {c}): {100 * probs[c]:.2f}%" for i, c in enumerate(top)]
    fig = figures.probabilities(probs, top, labels, "title", "class index", "probability")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [matplotlib.text.Text.get_window_extent(t, renderer) for t in fig.axes[0].texts]  # the words, no line
    assert len(boxes) == 5
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b)
    matplotlib.pyplot.close(fig)


def test_the_walkthrough_trains_learns_prewitt_explains_and_pictures_the_mechanics(reports):
    """Issue 11's steps (the same network before and after training, Prewitt learned, Grad-CAM) and issue 12's
    pictures of the mechanics, in both languages."""
    for lang in ("en", "fr"):
        results = reports[lang][0]
        assert results["digits_accuracy"] > 0.8  # 3 epochs in --quick: far above chance (10%)
        assert results["prewitt_learned_error"] < 0.1
        total, out = results["window_sum"]
        assert abs(total - out) < 1e-5 and results["im2col_shape"] == (9, 100)
        assert results["receptive_fields"]["features.30"] == 212 and results["grad_cam_layer"] == "_blocks.15"
        for name in (
            "digits_kernels_before_after.png",
            "prewitt_learned.png",
            "grad_cam.png",
            "one_output_pixel.png",
            "im2col_matrix.png",
            "conv_arithmetic.png",
            "receptive_field.png",
            "numbers_per_layer.png",
        ):
            assert name in results["figures"], name
